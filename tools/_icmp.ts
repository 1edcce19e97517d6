/**
 * ICMP as ping and traceroute see it through raw sockets (Linux semantics): building echo
 * requests, and classifying what a raw socket returns — for IPv4 the whole datagram (IP header
 * included), for IPv6 the ICMPv6 message alone — into echo replies and errors that quote one of
 * our probes.
 *
 * ```text
 *  ICMP echo (RFC 792, RFC 4443 §4)       ICMP error (RFC 792, RFC 4443 §3)
 *  0       8      16              31       0       8      16              31
 * +-------+-------+---------------+       +-------+-------+---------------+
 * | type  | code  |   checksum    |       | type  | code  |   checksum    |
 * +-------+-------+---------------+       +-------+-------+---------------+
 * |  identifier   |   sequence    |       | unused / MTU / pointer        |
 * +---------------+---------------+       +-------------------------------+
 * |  data ...                             | invoking IP header + 8 bytes  |
 * ```
 */
import { checksum } from "../netstack/wire/checksum.ts";
import {
  AF_INET,
  AF_INET6,
  inet_ntop,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_UDP,
  type SockAddr,
} from "../libc/mod.ts";

/** ICMP header length (both versions). */
export const ICMP_HEADER_LEN = 8;
/** IPv6 fixed header length. */
export const IPV6_HEADER_LEN = 40;

/** ICMPv4 types used here. */
export const ICMP4 = {
  ECHO_REPLY: 0,
  DEST_UNREACH: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO: 8,
  TIME_EXCEEDED: 11,
  PARAM_PROB: 12,
} as const;
/** ICMPv6 types used here. */
export const ICMP6 = {
  DEST_UNREACH: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAM_PROB: 4,
  ECHO: 128,
  ECHO_REPLY: 129,
} as const;

/**
 * An ICMP echo request: type 8 (IPv4, checksum filled in) or 128 (IPv6, checksum left 0 for
 * the kernel, which must cover the pseudo-header).
 */
export function buildEcho(
  family: number,
  id: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const msg = new Uint8Array(ICMP_HEADER_LEN + payload.length);
  msg[0] = family === AF_INET6 ? ICMP6.ECHO : ICMP4.ECHO;
  msg[4] = (id >>> 8) & 255;
  msg[5] = id & 255;
  msg[6] = (seq >>> 8) & 255;
  msg[7] = seq & 255;
  msg.set(payload, ICMP_HEADER_LEN);
  if (family !== AF_INET6) {
    const c = checksum(msg);
    msg[2] = c >>> 8;
    msg[3] = c & 255;
  }
  return msg;
}

/** The ping payload iputils sends: bytes counting up from 0 (timestamps are kept locally). */
export function echoPayload(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => i & 255);
}

/** The probe an ICMP error quotes: its destination and transport identifiers. */
export interface Quote {
  /** Destination address of the quoted datagram. */
  dst: string;
  protocol: number;
  /** Quoted ICMP echo identifier/sequence. */
  id?: number;
  seq?: number;
  /** Quoted UDP ports. */
  srcPort?: number;
  dstPort?: number;
}

/** What a raw ICMP socket delivered, classified. */
export type IcmpEvent =
  | { kind: "reply"; id: number; seq: number; ttl?: number; icmpLen: number; data: Uint8Array }
  | { kind: "error"; type: number; code: number; ttl?: number; info: number; quote: Quote }
  | { kind: "other"; type: number };

/**
 * Classify what a raw ICMP socket returned. For AF_INET `bytes` is an IPv4 datagram, for
 * AF_INET6 an ICMPv6 message. Returns undefined for anything truncated or malformed.
 */
export function parseIcmp(family: number, bytes: Uint8Array): IcmpEvent | undefined {
  let icmp = bytes;
  let ttl: number | undefined;
  if (family === AF_INET) {
    const ip = parseIpv4Header(bytes);
    if (!ip || ip.protocol !== IPPROTO_ICMP) return undefined;
    ttl = ip.ttl;
    icmp = bytes.subarray(ip.headerLen, Math.min(bytes.length, ip.totalLen));
  }
  if (icmp.length < ICMP_HEADER_LEN) return undefined;
  const type = icmp[0];
  const code = icmp[1];
  const info = ((icmp[4] << 24) | (icmp[5] << 16) | (icmp[6] << 8) | icmp[7]) >>> 0;
  const v6 = family === AF_INET6;
  if (type === (v6 ? ICMP6.ECHO_REPLY : ICMP4.ECHO_REPLY)) {
    return {
      kind: "reply",
      id: (icmp[4] << 8) | icmp[5],
      seq: (icmp[6] << 8) | icmp[7],
      ttl,
      icmpLen: icmp.length,
      data: icmp.subarray(ICMP_HEADER_LEN),
    };
  }
  const errors: readonly number[] = v6
    ? [ICMP6.DEST_UNREACH, ICMP6.PACKET_TOO_BIG, ICMP6.TIME_EXCEEDED, ICMP6.PARAM_PROB]
    : [
      ICMP4.DEST_UNREACH,
      ICMP4.SOURCE_QUENCH,
      ICMP4.REDIRECT,
      ICMP4.TIME_EXCEEDED,
      ICMP4.PARAM_PROB,
    ];
  if (!errors.includes(type)) return { kind: "other", type };
  const quoted = icmp.subarray(ICMP_HEADER_LEN);
  const quote = v6 ? parseQuote6(quoted) : parseQuote4(quoted);
  if (!quote) return undefined;
  return { kind: "error", type, code, ttl, info, quote };
}

/**
 * Who sent what a raw ICMP socket returned: the IPv4 header's source address, or for IPv6 the
 * address recvmsg reported.
 */
export function icmpSource(family: number, bytes: Uint8Array, addr: SockAddr | undefined): string {
  const ip = family === AF_INET ? parseIpv4Header(bytes) : undefined;
  if (ip) return ip.src;
  return addr && addr.family !== 0 && addr.family !== 1 ? addr.addr : "?";
}

/** The fields of an IPv4 header the tools need, or undefined when it does not fit. */
export function parseIpv4Header(b: Uint8Array) {
  if (b.length < 20 || b[0] >> 4 !== 4) return undefined;
  const headerLen = (b[0] & 15) * 4;
  if (headerLen < 20 || b.length < headerLen) return undefined;
  return {
    headerLen,
    totalLen: (b[2] << 8) | b[3],
    ttl: b[8],
    protocol: b[9],
    src: inet_ntop(AF_INET, b.subarray(12, 16))!,
    dst: inet_ntop(AF_INET, b.subarray(16, 20))!,
  };
}

function transport(q: Quote, p: Uint8Array): Quote {
  if (p.length < 8) return q;
  const w0 = (p[0] << 8) | p[1];
  const w1 = (p[2] << 8) | p[3];
  if (q.protocol === IPPROTO_UDP) return { ...q, srcPort: w0, dstPort: w1 };
  if (q.protocol === IPPROTO_ICMP || q.protocol === IPPROTO_ICMPV6) {
    return { ...q, id: (p[4] << 8) | p[5], seq: (p[6] << 8) | p[7] };
  }
  return q;
}

function parseQuote4(b: Uint8Array): Quote | undefined {
  const ip = parseIpv4Header(b);
  if (!ip) return undefined;
  return transport({ dst: ip.dst, protocol: ip.protocol }, b.subarray(ip.headerLen));
}

function parseQuote6(b: Uint8Array): Quote | undefined {
  if (b.length < IPV6_HEADER_LEN || b[0] >> 4 !== 6) return undefined;
  const dst = inet_ntop(AF_INET6, b.subarray(24, 40))!;
  return transport({ dst, protocol: b[6] }, b.subarray(IPV6_HEADER_LEN));
}

const UNREACH4 = [
  "Destination Net Unreachable",
  "Destination Host Unreachable",
  "Destination Protocol Unreachable",
  "Destination Port Unreachable",
  "Frag needed and DF set",
  "Source Route Failed",
  "Destination Net Unknown",
  "Destination Host Unknown",
  "Source Host Isolated",
  "Destination Net Prohibited",
  "Destination Host Prohibited",
  "Destination Net Unreachable for Type of Service",
  "Destination Host Unreachable for Type of Service",
  "Packet filtered",
  "Precedence Violation",
  "Precedence Cutoff",
];

const UNREACH6 = [
  "No route",
  "Administratively prohibited",
  "Beyond scope of source address",
  "Address unreachable",
  "Port unreachable",
  "Source address failed ingress/egress policy",
  "Reject route to destination",
];

/** The text iputils' ping prints for an ICMP error, e.g. "Time to live exceeded". */
export function describeIcmpError(
  family: number,
  type: number,
  code: number,
  info: number,
): string {
  if (family === AF_INET6) {
    switch (type) {
      case ICMP6.DEST_UNREACH:
        return `Destination unreachable: ${UNREACH6[code] ?? `Unknown code ${code}`}`;
      case ICMP6.PACKET_TOO_BIG:
        return `Packet too big: mtu=${info}`;
      case ICMP6.TIME_EXCEEDED:
        return code === 0 ? "Time exceeded: Hop limit" : "Time exceeded: Defragmentation failure";
      case ICMP6.PARAM_PROB:
        return `Parameter problem: pointer = ${info}`;
    }
    return `Unknown ICMPv6 type ${type} code ${code}`;
  }
  switch (type) {
    case ICMP4.DEST_UNREACH:
      if (code === 4) return `Frag needed and DF set (mtu = ${info & 0xffff})`;
      return UNREACH4[code] ?? `Dest Unreachable, Bad Code: ${code}`;
    case ICMP4.TIME_EXCEEDED:
      return code === 0 ? "Time to live exceeded" : "Frag reassembly time exceeded";
    case ICMP4.SOURCE_QUENCH:
      return "Source Quench";
    case ICMP4.REDIRECT:
      return [
        "Redirect Network",
        "Redirect Host",
        "Redirect Type of Service and Network",
        "Redirect Type of Service and Host",
      ][code] ??
        `Redirect, Bad Code: ${code}`;
    case ICMP4.PARAM_PROB:
      return `Parameter problem: pointer = ${info >>> 24}`;
  }
  return `Bad ICMP type: ${type}`;
}
