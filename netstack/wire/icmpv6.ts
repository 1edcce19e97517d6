/**
 * ICMPv6 (RFC 4443): echo, the four error messages, and dispatch to NDP (ndp.ts) and MLD
 * (mld.ts). The checksum is mandatory and covers the IPv6 pseudo-header (RFC 8200 §8.1).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Echo: Identifier | Sequence Number;  Packet Too Big: MTU;    |
 * |  Parameter Problem: Pointer;  Unreachable/Time Exceeded: 0    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Echo: data;  errors: as much of the invoking packet as fits  |
 * |  without the error packet exceeding 1280 bytes                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 */

import { checksum, pseudoHeaderSum6, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, type Ipv6AddressPair } from "./ipv6.ts";
import { emitMld, mldLength, type MldRepr, MldType, parseMld } from "./mld.ts";
import { emitNdp, ndpLength, type NdpRepr, NdpType, parseNdp } from "./ndp.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";

/** ICMPv6 message types (IANA); unknown numbers are kept as numbers. */
export const Icmpv6Type = {
  DST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  PARAM_PROBLEM: 4,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
  MLD_QUERY: MldType.QUERY,
  MLD_REPORT_V1: MldType.REPORT_V1,
  MLD_DONE: MldType.DONE,
  ROUTER_SOLICIT: NdpType.ROUTER_SOLICIT,
  ROUTER_ADVERT: NdpType.ROUTER_ADVERT,
  NEIGHBOR_SOLICIT: NdpType.NEIGHBOR_SOLICIT,
  NEIGHBOR_ADVERT: NdpType.NEIGHBOR_ADVERT,
  REDIRECT: NdpType.REDIRECT,
  MLD_REPORT_V2: MldType.REPORT_V2,
} as const;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const Icmpv6DstUnreachableCode = {
  NO_ROUTE: 0,
  ADMIN_PROHIBITED: 1,
  BEYOND_SCOPE: 2,
  ADDRESS_UNREACHABLE: 3,
  PORT_UNREACHABLE: 4,
  SOURCE_POLICY_FAILED: 5,
  REJECT_ROUTE: 6,
} as const;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const Icmpv6TimeExceededCode = { HOP_LIMIT: 0, REASSEMBLY: 1 } as const;

/** Parameter Problem codes (RFC 4443 §3.4, RFC 7112). */
export const Icmpv6ParamProblemCode = {
  ERRONEOUS_HEADER: 0,
  UNRECOGNIZED_NEXT_HEADER: 1,
  UNRECOGNIZED_OPTION: 2,
  INCOMPLETE_HEADER_CHAIN: 3,
} as const;

/** Length of the ICMPv6 header (type, code, checksum and the 4-byte type-specific field). */
export const ICMPV6_HEADER_LEN = 8;
/** Most bytes of the invoking packet an error quotes: 1280 − IPv6 header − ICMPv6 header. */
export const ICMPV6_MAX_QUOTE = IPV6_MIN_MTU - IPV6_HEADER_LEN - ICMPV6_HEADER_LEN;

/** Byte offsets of the ICMPv6 header fields. */
export const Icmpv6Field = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  /** Start of the 4-byte type-specific field (unused in unreachable/time exceeded). */
  REST: 4,
  IDENT: 4,
  SEQ: 6,
  MTU: 4,
  POINTER: 4,
  BODY: 8,
} as const;

/** An ICMPv6 message as a plain record. Error `invoking` bytes are zero-copy on parse. */
export type Icmpv6Repr =
  | { kind: "echo-request"; identifier: number; sequence: number; data: Uint8Array }
  | { kind: "echo-reply"; identifier: number; sequence: number; data: Uint8Array }
  | { kind: "dst-unreachable"; code: number; invoking: Uint8Array }
  | { kind: "packet-too-big"; mtu: number; invoking: Uint8Array }
  | { kind: "time-exceeded"; code: number; invoking: Uint8Array }
  | { kind: "param-problem"; code: number; pointer: number; invoking: Uint8Array }
  | { kind: "ndp"; message: NdpRepr }
  | { kind: "mld"; message: MldRepr }
  /** Any other type: `rest` is everything after the checksum (zero-copy). */
  | { kind: "other"; type: number; code: number; rest: Uint8Array };

const F = Icmpv6Field;
const T = Icmpv6Type;

/** Unfolded ICMPv6 pseudo-header sum for a message of `length` bytes between `addrs`. */
export function icmpv6PseudoSum(addrs: Ipv6AddressPair, length: number): number {
  return pseudoHeaderSum6(addrs.src, addrs.dst, 58, length);
}

/** True for the error types (0..127, RFC 4443 §2.1). */
export function isIcmpv6Error(type: number): boolean {
  return type < 128;
}

let _unchecked = false;

/**
 * Checked view of an ICMPv6 message: the constructor checks the 8-byte header is present.
 * The 4-byte field at offset 4 reads as identifier/sequence, MTU or pointer by type.
 */
export class Icmpv6Packet {
  /** The whole ICMPv6 message. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated" below 8 bytes. */
  constructor(bytes: Uint8Array) {
    if (!_unchecked && bytes.length < ICMPV6_HEADER_LEN) {
      throw new WireError("icmpv6", "truncated", `${bytes.length} bytes`);
    }
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): Icmpv6Packet {
    _unchecked = true;
    try {
      return new Icmpv6Packet(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Message type. */
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
  set checksum(v: number) {
    put16(this.bytes, F.CHECKSUM, v);
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
  /** Packet Too Big MTU / Parameter Problem pointer (the 32-bit field at offset 4). */
  get field32(): number {
    return u32(this.bytes, F.MTU);
  }
  set field32(v: number) {
    put32(this.bytes, F.MTU, v);
  }
  /** Everything after the 8-byte header (echo data or invoking packet; zero-copy). */
  get body(): Uint8Array {
    return this.bytes.subarray(ICMPV6_HEADER_LEN);
  }
  /** True when the checksum verifies for a message sent between `addrs`. */
  verifyChecksum(addrs: Ipv6AddressPair): boolean {
    return verifies(this.bytes, icmpv6PseudoSum(addrs, this.bytes.length));
  }
  /** Compute and store the checksum for a message sent between `addrs`. */
  fillChecksum(addrs: Ipv6AddressPair): void {
    put16(this.bytes, F.CHECKSUM, 0);
    put16(this.bytes, F.CHECKSUM, checksum(this.bytes, icmpv6PseudoSum(addrs, this.bytes.length)));
  }
}

/**
 * Parse an ICMPv6 message sent between `addrs` (the IPv6 source and destination; an Ipv6Repr
 * will do). The checksum is always verified. NDP and MLD types are parsed by ndp.ts/mld.ts and
 * their WireErrors (protocol "ndp"/"mld") pass through.
 * Throws WireError "truncated", "bad-checksum" and, from NDP/MLD, "malformed"/"unsupported".
 */
export function parseIcmpv6(bytes: Uint8Array, addrs: Ipv6AddressPair): Icmpv6Repr {
  if (bytes.length < ICMPV6_HEADER_LEN) {
    throw new WireError("icmpv6", "truncated", `${bytes.length} bytes`);
  }
  if (!verifies(bytes, icmpv6PseudoSum(addrs, bytes.length))) {
    throw new WireError("icmpv6", "bad-checksum");
  }
  const type = bytes[F.TYPE];
  const code = bytes[F.CODE];
  const body = bytes.subarray(ICMPV6_HEADER_LEN);
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
      return { kind: "dst-unreachable", code, invoking: body };
    case T.PACKET_TOO_BIG:
      return { kind: "packet-too-big", mtu: u32(bytes, F.MTU), invoking: body };
    case T.TIME_EXCEEDED:
      return { kind: "time-exceeded", code, invoking: body };
    case T.PARAM_PROBLEM:
      return { kind: "param-problem", code, pointer: u32(bytes, F.POINTER), invoking: body };
    case T.ROUTER_SOLICIT:
    case T.ROUTER_ADVERT:
    case T.NEIGHBOR_SOLICIT:
    case T.NEIGHBOR_ADVERT:
    case T.REDIRECT:
      return { kind: "ndp", message: parseNdp(bytes) };
    case T.MLD_QUERY:
    case T.MLD_REPORT_V1:
    case T.MLD_DONE:
    case T.MLD_REPORT_V2:
      return { kind: "mld", message: parseMld(bytes) };
    default:
      return { kind: "other", type, code, rest: bytes.subarray(F.REST) };
  }
}

function quoteLength(invoking: Uint8Array): number {
  return Math.min(invoking.length, ICMPV6_MAX_QUOTE);
}

/** Total message length for `repr` (errors quote at most ICMPV6_MAX_QUOTE bytes). */
export function icmpv6Length(repr: Icmpv6Repr): number {
  switch (repr.kind) {
    case "echo-request":
    case "echo-reply":
      return ICMPV6_HEADER_LEN + repr.data.length;
    case "dst-unreachable":
    case "packet-too-big":
    case "time-exceeded":
    case "param-problem":
      return ICMPV6_HEADER_LEN + quoteLength(repr.invoking);
    case "ndp":
      return ndpLength(repr.message);
    case "mld":
      return mldLength(repr.message);
    case "other":
      return F.REST + repr.rest.length;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown ICMPv6 message ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Write `repr` into `buf` at offset 0 with its checksum for `addrs`; returns bytes written.
 * Error messages quote the first ICMPV6_MAX_QUOTE bytes of `invoking` at most, so the IPv6 packet
 * stays within 1280 bytes. Throws RangeError when `buf` is too small.
 */
export function emitIcmpv6(repr: Icmpv6Repr, buf: Uint8Array, addrs: Ipv6AddressPair): number {
  if (repr.kind === "ndp") return emitNdp(repr.message, buf, addrs);
  if (repr.kind === "mld") return emitMld(repr.message, buf, addrs);
  const total = icmpv6Length(repr);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  put16(buf, F.CHECKSUM, 0);
  switch (repr.kind) {
    case "echo-request":
    case "echo-reply":
      buf[F.TYPE] = repr.kind === "echo-request" ? T.ECHO_REQUEST : T.ECHO_REPLY;
      buf[F.CODE] = 0;
      put16(buf, F.IDENT, repr.identifier);
      put16(buf, F.SEQ, repr.sequence);
      buf.set(repr.data, ICMPV6_HEADER_LEN);
      break;
    case "dst-unreachable":
    case "time-exceeded":
      buf[F.TYPE] = repr.kind === "dst-unreachable" ? T.DST_UNREACHABLE : T.TIME_EXCEEDED;
      buf[F.CODE] = repr.code;
      put32(buf, F.REST, 0);
      buf.set(repr.invoking.subarray(0, ICMPV6_MAX_QUOTE), ICMPV6_HEADER_LEN);
      break;
    case "packet-too-big":
      buf[F.TYPE] = T.PACKET_TOO_BIG;
      buf[F.CODE] = 0;
      put32(buf, F.MTU, repr.mtu);
      buf.set(repr.invoking.subarray(0, ICMPV6_MAX_QUOTE), ICMPV6_HEADER_LEN);
      break;
    case "param-problem":
      buf[F.TYPE] = T.PARAM_PROBLEM;
      buf[F.CODE] = repr.code;
      put32(buf, F.POINTER, repr.pointer);
      buf.set(repr.invoking.subarray(0, ICMPV6_MAX_QUOTE), ICMPV6_HEADER_LEN);
      break;
    case "other":
      buf[F.TYPE] = repr.type;
      buf[F.CODE] = repr.code;
      buf.set(repr.rest, F.REST);
      break;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown ICMPv6 message ${JSON.stringify(never)}`);
    }
  }
  put16(buf, F.CHECKSUM, checksum(buf.subarray(0, total), icmpv6PseudoSum(addrs, total)));
  return total;
}

/** Encode `repr` into a new buffer of exactly `icmpv6Length(repr)` bytes, checksum filled in. */
export function encodeIcmpv6(repr: Icmpv6Repr, addrs: Ipv6AddressPair): Uint8Array {
  const buf = new Uint8Array(icmpv6Length(repr));
  emitIcmpv6(repr, buf, addrs);
  return buf;
}
