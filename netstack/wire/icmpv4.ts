/**
 * ICMP for IPv4 (RFC 792): echo, destination unreachable (with the RFC 1191 next-hop MTU),
 * source quench (RFC 6633 deprecates it; parsed so it can be counted and ignored), redirect,
 * time exceeded and parameter problem. The checksum covers the whole message, no pseudo-header.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Echo: Identifier            |   Echo: Sequence Number       |
 * |   Unreachable code 4: unused  |   Next-Hop MTU (RFC 1191)     |
 * |   Redirect: Gateway Internet Address                          |
 * |   Param. problem: Pointer     |            unused             |
 * |   Others: unused (zero)                                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Echo data, or for errors the invoking datagram:             |
 * |   its Internet header + at least 64 bits of its data …        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Error messages must quote a well-formed IPv4 header and at least the first 8 bytes of its data
 * (less only when the invoking datagram had less); emitters quote at most
 * {@link ICMPV4_MAX_QUOTE} bytes so the error fits the 576-byte datagram every host accepts.
 */

import { checksum, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import { IPV4_HEADER_LEN, IPV4_MIN_REASSEMBLY_SIZE } from "./ipv4.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";

/** ICMPv4 message types (IANA); unknown numbers are kept as numbers. */
export const Icmpv4Type = {
  ECHO_REPLY: 0,
  DST_UNREACHABLE: 3,
  SOURCE_QUENCH: 4,
  REDIRECT: 5,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
  PARAM_PROBLEM: 12,
  TIMESTAMP: 13,
  TIMESTAMP_REPLY: 14,
} as const;

/** Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const Icmpv4DstUnreachableCode = {
  NET: 0,
  HOST: 1,
  PROTOCOL: 2,
  PORT: 3,
  FRAGMENTATION_NEEDED: 4,
  SOURCE_ROUTE_FAILED: 5,
  NET_UNKNOWN: 6,
  HOST_UNKNOWN: 7,
  NET_PROHIBITED: 9,
  HOST_PROHIBITED: 10,
  ADMIN_PROHIBITED: 13,
} as const;

/** Time Exceeded codes. */
export const Icmpv4TimeExceededCode = { TTL: 0, REASSEMBLY: 1 } as const;

/** Redirect codes. */
export const Icmpv4RedirectCode = { NET: 0, HOST: 1, TOS_NET: 2, TOS_HOST: 3 } as const;

/** Length of the ICMPv4 header (type, code, checksum and the 4-byte type-specific field). */
export const ICMPV4_HEADER_LEN = 8;
/** Most bytes of the invoking datagram an error quotes: 576 − IPv4 header − ICMP header. */
export const ICMPV4_MAX_QUOTE = IPV4_MIN_REASSEMBLY_SIZE - IPV4_HEADER_LEN - ICMPV4_HEADER_LEN;

/** Byte offsets of the ICMPv4 header fields. */
export const Icmpv4Field = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  IDENT: 4,
  SEQ: 6,
  GATEWAY: 4,
  POINTER: 4,
  NEXT_HOP_MTU: 6,
  BODY: 8,
} as const;

/** An ICMPv4 message as a plain record. `data`, `invoking` and `rest` are zero-copy on parse. */
export type Icmpv4Repr =
  | { kind: "echo-request"; identifier: number; sequence: number; data: Uint8Array }
  | { kind: "echo-reply"; identifier: number; sequence: number; data: Uint8Array }
  /** `nextHopMtu` is meaningful for code 4 (fragmentation needed) and 0 otherwise. */
  | { kind: "dst-unreachable"; code: number; nextHopMtu: number; invoking: Uint8Array }
  | { kind: "source-quench"; invoking: Uint8Array }
  | { kind: "redirect"; code: number; gateway: number; invoking: Uint8Array }
  | { kind: "time-exceeded"; code: number; invoking: Uint8Array }
  | { kind: "param-problem"; code: number; pointer: number; invoking: Uint8Array }
  /** Any other type: `rest` is everything after the checksum. */
  | { kind: "other"; type: number; code: number; rest: Uint8Array };

const F = Icmpv4Field;
const T = Icmpv4Type;

/** True for the error types (destination unreachable, source quench, redirect, time exceeded,
 * parameter problem), about which no ICMP error may be sent (RFC 1122 §3.2.2). */
export function isIcmpv4Error(type: number): boolean {
  return type === T.DST_UNREACHABLE || type === T.SOURCE_QUENCH || type === T.REDIRECT ||
    type === T.TIME_EXCEEDED || type === T.PARAM_PROBLEM;
}

/** Print an ICMPv4 type ("echo-request", or the number). For printing only. */
export function icmpv4TypeName(type: number): string {
  switch (type) {
    case T.ECHO_REPLY:
      return "echo-reply";
    case T.DST_UNREACHABLE:
      return "dst-unreachable";
    case T.SOURCE_QUENCH:
      return "source-quench";
    case T.REDIRECT:
      return "redirect";
    case T.ECHO_REQUEST:
      return "echo-request";
    case T.TIME_EXCEEDED:
      return "time-exceeded";
    case T.PARAM_PROBLEM:
      return "param-problem";
    case T.TIMESTAMP:
      return "timestamp";
    case T.TIMESTAMP_REPLY:
      return "timestamp-reply";
    default:
      return `type ${type}`;
  }
}

/**
 * The part of `datagram` (an IPv4 datagram as received, perhaps with link padding) an error
 * message should quote: up to its Total Length and at most {@link ICMPV4_MAX_QUOTE} bytes.
 * Zero-copy.
 */
export function icmpv4Quote(datagram: Uint8Array): Uint8Array {
  let end = Math.min(datagram.length, ICMPV4_MAX_QUOTE);
  if (datagram.length >= 4) {
    const total = u16(datagram, 2);
    if (total >= IPV4_HEADER_LEN && total < end) end = total;
  }
  return datagram.subarray(0, end);
}

/** Check an error's quote holds an IPv4 header and min(8, its data length) bytes of data. */
function checkQuote(q: Uint8Array): void {
  if (q.length < IPV4_HEADER_LEN) {
    throw new WireError("icmpv4", "truncated", `quote of ${q.length} bytes`);
  }
  const hl = (q[0] & 0x0f) << 2;
  const total = u16(q, 2);
  if (q[0] >>> 4 !== 4 || hl < IPV4_HEADER_LEN || total < hl) {
    throw new WireError("icmpv4", "malformed", "quote is not an IPv4 header");
  }
  if (q.length < hl + Math.min(8, total - hl)) {
    throw new WireError("icmpv4", "truncated", `quote of ${q.length} bytes, header ${hl}`);
  }
}

let _unchecked = false;

/**
 * Checked view of an ICMPv4 message: the constructor checks the 8-byte header is present (not the
 * checksum or the quote; {@link parseIcmpv4} does). The 4-byte field at offset 4 reads as
 * identifier/sequence, gateway, pointer or MTU by type.
 */
export class Icmpv4Packet {
  /** The whole message. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated" when shorter than 8 bytes. */
  constructor(bytes: Uint8Array) {
    if (!_unchecked && bytes.length < ICMPV4_HEADER_LEN) {
      throw new WireError("icmpv4", "truncated", `${bytes.length} bytes`);
    }
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): Icmpv4Packet {
    _unchecked = true;
    try {
      return new Icmpv4Packet(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Message type, see {@link Icmpv4Type}. */
  get type(): number {
    return this.bytes[F.TYPE];
  }
  set type(v: number) {
    this.bytes[F.TYPE] = v;
  }
  /** Message code. */
  get code(): number {
    return this.bytes[F.CODE];
  }
  set code(v: number) {
    this.bytes[F.CODE] = v;
  }
  /** Checksum field. */
  get checksum(): number {
    return u16(this.bytes, F.CHECKSUM);
  }
  /** Echo identifier. */
  get identifier(): number {
    return u16(this.bytes, F.IDENT);
  }
  set identifier(v: number) {
    put16(this.bytes, F.IDENT, v);
  }
  /** Echo sequence number. */
  get sequence(): number {
    return u16(this.bytes, F.SEQ);
  }
  set sequence(v: number) {
    put16(this.bytes, F.SEQ, v);
  }
  /** Redirect gateway address. */
  get gateway(): number {
    return u32(this.bytes, F.GATEWAY);
  }
  /** Parameter problem pointer. */
  get pointer(): number {
    return this.bytes[F.POINTER];
  }
  /** Next-hop MTU of a "fragmentation needed" message. */
  get nextHopMtu(): number {
    return u16(this.bytes, F.NEXT_HOP_MTU);
  }
  /** Everything after the 8-byte header (zero-copy). */
  get body(): Uint8Array {
    return this.bytes.subarray(ICMPV4_HEADER_LEN);
  }
  /** True when the checksum verifies. */
  verifyChecksum(): boolean {
    return verifies(this.bytes);
  }
  /** Compute and store the checksum. */
  fillChecksum(): void {
    put16(this.bytes, F.CHECKSUM, 0);
    put16(this.bytes, F.CHECKSUM, checksum(this.bytes));
  }
}

/**
 * Parse an ICMPv4 message (the whole IPv4 payload). The checksum is always verified; errors must
 * quote an IPv4 header and at least min(8, its data length) bytes of data.
 * Throws WireError "truncated", "bad-checksum" or "malformed" (a quote that is not IPv4).
 */
export function parseIcmpv4(bytes: Uint8Array): Icmpv4Repr {
  if (bytes.length < ICMPV4_HEADER_LEN) {
    throw new WireError("icmpv4", "truncated", `${bytes.length} bytes`);
  }
  if (!verifies(bytes)) throw new WireError("icmpv4", "bad-checksum");
  const type = bytes[F.TYPE];
  const code = bytes[F.CODE];
  const body = bytes.subarray(ICMPV4_HEADER_LEN);
  switch (type) {
    case T.ECHO_REQUEST:
    case T.ECHO_REPLY:
      return {
        kind: type === T.ECHO_REQUEST ? "echo-request" : "echo-reply",
        identifier: u16(bytes, F.IDENT),
        sequence: u16(bytes, F.SEQ),
        data: body,
      };
    case T.DST_UNREACHABLE:
      checkQuote(body);
      return {
        kind: "dst-unreachable",
        code,
        nextHopMtu: code === Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED
          ? u16(bytes, F.NEXT_HOP_MTU)
          : 0,
        invoking: body,
      };
    case T.SOURCE_QUENCH:
      checkQuote(body);
      return { kind: "source-quench", invoking: body };
    case T.REDIRECT:
      checkQuote(body);
      return { kind: "redirect", code, gateway: u32(bytes, F.GATEWAY), invoking: body };
    case T.TIME_EXCEEDED:
      checkQuote(body);
      return { kind: "time-exceeded", code, invoking: body };
    case T.PARAM_PROBLEM:
      checkQuote(body);
      return { kind: "param-problem", code, pointer: bytes[F.POINTER], invoking: body };
    default:
      return { kind: "other", type, code, rest: bytes.subarray(F.IDENT) };
  }
}

/** Total message length for `repr` (errors quote at most ICMPV4_MAX_QUOTE bytes). */
export function icmpv4Length(repr: Icmpv4Repr): number {
  switch (repr.kind) {
    case "echo-request":
    case "echo-reply":
      return ICMPV4_HEADER_LEN + repr.data.length;
    case "dst-unreachable":
    case "source-quench":
    case "redirect":
    case "time-exceeded":
    case "param-problem":
      return ICMPV4_HEADER_LEN + Math.min(repr.invoking.length, ICMPV4_MAX_QUOTE);
    case "other":
      return 4 + repr.rest.length;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown ICMPv4 message ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Write `repr` into `buf` at offset 0 with its checksum; returns the bytes written. Errors quote
 * the first ICMPV4_MAX_QUOTE bytes of `invoking` at most (pass {@link icmpv4Quote} of the
 * datagram). Throws RangeError when `buf` is too small.
 */
export function emitIcmpv4(repr: Icmpv4Repr, buf: Uint8Array): number {
  const total = icmpv4Length(repr);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  put16(buf, F.CHECKSUM, 0);
  switch (repr.kind) {
    case "echo-request":
    case "echo-reply":
      buf[F.TYPE] = repr.kind === "echo-request" ? T.ECHO_REQUEST : T.ECHO_REPLY;
      buf[F.CODE] = 0;
      put16(buf, F.IDENT, repr.identifier);
      put16(buf, F.SEQ, repr.sequence);
      buf.set(repr.data, ICMPV4_HEADER_LEN);
      break;
    case "dst-unreachable":
      buf[F.TYPE] = T.DST_UNREACHABLE;
      buf[F.CODE] = repr.code;
      put16(buf, F.IDENT, 0);
      put16(buf, F.NEXT_HOP_MTU, repr.nextHopMtu);
      buf.set(repr.invoking.subarray(0, ICMPV4_MAX_QUOTE), ICMPV4_HEADER_LEN);
      break;
    case "source-quench":
    case "time-exceeded": {
      const isQuench = repr.kind === "source-quench";
      buf[F.TYPE] = isQuench ? T.SOURCE_QUENCH : T.TIME_EXCEEDED;
      buf[F.CODE] = isQuench ? 0 : repr.code;
      put32(buf, F.IDENT, 0);
      buf.set(repr.invoking.subarray(0, ICMPV4_MAX_QUOTE), ICMPV4_HEADER_LEN);
      break;
    }
    case "redirect":
      buf[F.TYPE] = T.REDIRECT;
      buf[F.CODE] = repr.code;
      put32(buf, F.GATEWAY, repr.gateway);
      buf.set(repr.invoking.subarray(0, ICMPV4_MAX_QUOTE), ICMPV4_HEADER_LEN);
      break;
    case "param-problem":
      buf[F.TYPE] = T.PARAM_PROBLEM;
      buf[F.CODE] = repr.code;
      put32(buf, F.POINTER, (repr.pointer & 0xff) << 24);
      buf.set(repr.invoking.subarray(0, ICMPV4_MAX_QUOTE), ICMPV4_HEADER_LEN);
      break;
    case "other":
      buf[F.TYPE] = repr.type;
      buf[F.CODE] = repr.code;
      buf.set(repr.rest, 4);
      break;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown ICMPv4 message ${JSON.stringify(never)}`);
    }
  }
  put16(buf, F.CHECKSUM, checksum(buf.subarray(0, total)));
  return total;
}

/** Encode `repr` into a new buffer of exactly `icmpv4Length(repr)` bytes, checksum filled in. */
export function encodeIcmpv4(repr: Icmpv4Repr): Uint8Array {
  const buf = new Uint8Array(icmpv4Length(repr));
  emitIcmpv4(repr, buf);
  return buf;
}
