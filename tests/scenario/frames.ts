/**
 * The peer's link layer: wrap the TCP segments and ICMP errors a script injects in IPv4 or IPv6
 * and Ethernet towards the endpoint under test, unwrap what the endpoint sends, and answer its
 * ARP requests and IPv6 neighbour solicitations for the peer's address. Pure functions.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import { ArpOp, encodeArp, parseArp } from "../../netstack/wire/arp.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../../netstack/wire/checksum.ts";
import {
  encodeEthernet,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  parseEthernet,
} from "../../netstack/wire/ethernet.ts";
import { encodeIcmpv4 } from "../../netstack/wire/icmpv4.ts";
import { encodeIcmpv6, parseIcmpv6 } from "../../netstack/wire/icmpv6.ts";
import { encodeIpv4, parseIpv4 } from "../../netstack/wire/ipv4.ts";
import { encodeIpv6, parseIpv6 } from "../../netstack/wire/ipv6.ts";
import { decodeSegment, encodeSegment, type Segment } from "./segment.ts";

const TCP = 6;
const ICMPV6 = 58;

/** The two ends of the link, as the peer sees them. */
export interface LinkAddrs {
  family: "ipv4" | "ipv6";
  /** The endpoint under test's address (dotted quad or IPv6 text). */
  endpoint: string;
  /** The peer's (the script's) address. */
  peer: string;
  /** The peer's MAC. */
  peerMac: Uint8Array;
}

/** What a frame from the endpoint is to the peer. */
export type Outbound =
  | { kind: "tcp"; seg: Segment; ipBytes: number; df: boolean }
  /** An ARP request or neighbour solicitation for the peer: send `reply`. */
  | { kind: "resolve"; reply: Uint8Array }
  /** Anything else (other ARP, MLD, router solicitations, foreign addresses). */
  | { kind: "other"; what: string };

/** Wrap a TCP segment from the peer in IP and Ethernet towards `dstMac`. */
export function tcpFrame(a: LinkAddrs, dstMac: Uint8Array, seg: Segment): Uint8Array {
  if (a.family === "ipv4") {
    const src = parseIPv4(a.peer)!;
    const dst = parseIPv4(a.endpoint)!;
    const tcp = encodeSegment(seg, (len) => pseudoHeaderSum4(src, dst, TCP, len));
    return ether(a, dstMac, ETHERTYPE_IPV4, ipv4(src, dst, TCP, tcp));
  }
  const src = parseIPv6(a.peer)!;
  const dst = parseIPv6(a.endpoint)!;
  const tcp = encodeSegment(seg, (len) => pseudoHeaderSum6(src, dst, TCP, len));
  return ether(a, dstMac, ETHERTYPE_IPV6, ipv6(src, dst, TCP, tcp, 64));
}

/**
 * An ICMP error from the peer quoting `quoted` (a segment the endpoint sent, absolute numbers):
 * `unreachable` (IPv4 type 3 / IPv6 type 1), `ptb` (IPv4 frag-needed / IPv6 packet too big) or
 * `time_exceeded`.
 */
export function icmpFrame(
  a: LinkAddrs,
  dstMac: Uint8Array,
  type: "unreachable" | "ptb" | "time_exceeded",
  code: number,
  mtu: number,
  quoted: Segment,
): Uint8Array {
  if (a.family === "ipv4") {
    const src = parseIPv4(a.peer)!;
    const dst = parseIPv4(a.endpoint)!;
    const tcp = encodeSegment(quoted, (len) => pseudoHeaderSum4(dst, src, TCP, len));
    const invoking = ipv4(dst, src, TCP, tcp.subarray(0, Math.min(tcp.length, 548)));
    const icmp = type === "time_exceeded"
      ? encodeIcmpv4({ kind: "time-exceeded", code, invoking })
      : encodeIcmpv4({
        kind: "dst-unreachable",
        code: type === "ptb" ? 4 : code,
        nextHopMtu: mtu,
        invoking,
      });
    return ether(a, dstMac, ETHERTYPE_IPV4, ipv4(src, dst, 1, icmp));
  }
  const src = parseIPv6(a.peer)!;
  const dst = parseIPv6(a.endpoint)!;
  const tcp = encodeSegment(quoted, (len) => pseudoHeaderSum6(dst, src, TCP, len));
  const invoking = ipv6(dst, src, TCP, tcp, 64).subarray(0, 1232);
  const addrs = { src, dst };
  const icmp = type === "ptb"
    ? encodeIcmpv6({ kind: "packet-too-big", mtu, invoking }, addrs)
    : type === "time_exceeded"
    ? encodeIcmpv6({ kind: "time-exceeded", code, invoking }, addrs)
    : encodeIcmpv6({ kind: "dst-unreachable", code, invoking }, addrs);
  return ether(a, dstMac, ETHERTYPE_IPV6, ipv6(src, dst, ICMPV6, icmp, 64));
}

/** Classify a frame the endpoint sent. */
export function classify(a: LinkAddrs, frame: Uint8Array): Outbound {
  let e;
  try {
    e = parseEthernet(frame);
  } catch {
    return { kind: "other", what: "runt frame" };
  }
  try {
    if (e.ethertype === ETHERTYPE_ARP && a.family === "ipv4") {
      const arp = parseArp(e.payload);
      if (arp.op !== ArpOp.REQUEST || formatIPv4(arp.targetIp) !== a.peer) {
        return { kind: "other", what: "arp" };
      }
      const reply = encodeArp({
        op: ArpOp.REPLY,
        senderMac: a.peerMac,
        senderIp: arp.targetIp,
        targetMac: arp.senderMac,
        targetIp: arp.senderIp,
      });
      return { kind: "resolve", reply: ether(a, arp.senderMac, ETHERTYPE_ARP, reply) };
    }
    if (e.ethertype === ETHERTYPE_IPV4 && a.family === "ipv4") {
      const ip = parseIpv4(e.payload, { verifyChecksum: false });
      if (ip.protocol !== TCP || formatIPv4(ip.dst) !== a.peer) {
        return { kind: "other", what: `ipv4 proto ${ip.protocol}` };
      }
      const seg = decodeSegment(ip.payload);
      if (!seg) return { kind: "other", what: "short tcp" };
      return { kind: "tcp", seg, ipBytes: e.payload.length, df: ip.dontFragment };
    }
    if (e.ethertype === ETHERTYPE_IPV6 && a.family === "ipv6") {
      const ip = parseIpv6(e.payload);
      if (ip.nextHeader === ICMPV6) return ndp(a, e.src, ip);
      if (ip.nextHeader !== TCP || formatIPv6(ip.dst) !== formatIPv6(parseIPv6(a.peer)!)) {
        return { kind: "other", what: `ipv6 next header ${ip.nextHeader}` };
      }
      const seg = decodeSegment(ip.payload);
      if (!seg) return { kind: "other", what: "short tcp" };
      return { kind: "tcp", seg, ipBytes: e.payload.length, df: true };
    }
  } catch (err) {
    return { kind: "other", what: `malformed: ${(err as Error).message}` };
  }
  return { kind: "other", what: `ethertype ${e.ethertype.toString(16)}` };
}

/** A neighbour solicitation for the peer's address draws an advertisement. */
function ndp(a: LinkAddrs, srcMac: Uint8Array, ip: ReturnType<typeof parseIpv6>): Outbound {
  const m = parseIcmpv6(ip.payload, ip);
  const peer = parseIPv6(a.peer)!;
  if (
    m.kind !== "ndp" || m.message.kind !== "neighbor-solicit" ||
    formatIPv6(m.message.target) !== formatIPv6(peer)
  ) return { kind: "other", what: "icmpv6" };
  const dst = ip.src.every((x) => x === 0) ? parseIPv6("ff02::1")! : ip.src;
  const addrs = { src: peer, dst };
  const na = encodeIcmpv6({
    kind: "ndp",
    message: {
      kind: "neighbor-advert",
      router: false,
      solicited: !ip.src.every((x) => x === 0),
      override: true,
      target: peer,
      options: [{ kind: "target-lladdr", addr: a.peerMac }],
    },
  }, addrs);
  return {
    kind: "resolve",
    reply: ether(a, srcMac, ETHERTYPE_IPV6, ipv6(peer, dst, ICMPV6, na, 255)),
  };
}

function ether(a: LinkAddrs, dst: Uint8Array, ethertype: number, payload: Uint8Array) {
  return encodeEthernet({ dst, src: a.peerMac, ethertype, payload });
}

function ipv4(src: number, dst: number, protocol: number, payload: Uint8Array): Uint8Array {
  return encodeIpv4({
    dscp: 0,
    ecn: 0,
    ident: 0,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol,
    src,
    dst,
    options: new Uint8Array(0),
    payload,
  });
}

function ipv6(src: Uint8Array, dst: Uint8Array, nh: number, payload: Uint8Array, hops: number) {
  return encodeIpv6({
    src,
    dst,
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: nh,
    hopLimit: hops,
    payload,
  });
}
