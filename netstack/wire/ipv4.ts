/**
 * IPv4 header (RFC 791), with DSCP/ECN (RFC 2474, RFC 3168) in the old TOS byte.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |   DSCP    |ECN|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |0|D|M|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Addresses are unsigned 32-bit numbers (see addr.ts). Options are carried through as raw bytes.
 * The fragment offset is in bytes in {@link Ipv4Repr} (the header stores 8-byte units).
 * Bytes past Total Length (Ethernet padding) are ignored. The reserved flag bit is ignored on
 * parse and emitted as 0.
 */

import { checksum, updateChecksum, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";

/** Length of the IPv4 header without options. */
export const IPV4_HEADER_LEN = 20;
/** Largest IPv4 header (IHL 15). */
export const IPV4_MAX_HEADER_LEN = 60;
/** Room for options: IPV4_MAX_HEADER_LEN - IPV4_HEADER_LEN. */
export const IPV4_MAX_OPTIONS_LEN = 40;
/** Datagram size every host must accept (RFC 791, RFC 1122 §3.3.3). */
export const IPV4_MIN_REASSEMBLY_SIZE = 576;
/** Largest Total Length. */
export const IPV4_MAX_LEN = 0xffff;

/** Byte offsets of the IPv4 header fields. */
export const Ipv4Field = {
  VERSION_IHL: 0,
  DSCP_ECN: 1,
  TOTAL_LENGTH: 2,
  IDENT: 4,
  FLAGS_FRAGMENT: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

/** Bits of the 16-bit flags/fragment-offset word. */
export const Ipv4Flag = { RESERVED: 0x8000, DF: 0x4000, MF: 0x2000, OFFSET_MASK: 0x1fff } as const;

/** IP protocol numbers (IANA) this stack names; other numbers pass through unchanged. */
export const IpProtocol = {
  ICMP: 1,
  IGMP: 2,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ICMPV6: 58,
} as const;

/** The Router Alert option (RFC 2113), which IGMP messages carry (RFC 2236 §2). */
export const IPV4_OPTION_ROUTER_ALERT: Uint8Array = new Uint8Array([0x94, 0x04, 0x00, 0x00]);

/** An IPv4 datagram as a plain record; `options` and `payload` are zero-copy views on parse. */
export interface Ipv4Repr {
  /** Differentiated services code point, 0..63. */
  dscp: number;
  /** Explicit congestion notification, 0..3. */
  ecn: number;
  /** Identification. */
  ident: number;
  /** Don't Fragment flag. */
  dontFragment: boolean;
  /** More Fragments flag. */
  moreFragments: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset: number;
  /** Time to live. */
  ttl: number;
  /** Protocol number, see {@link IpProtocol}. */
  protocol: number;
  /** Source address. */
  src: number;
  /** Destination address. */
  dst: number;
  /** Raw option bytes (a multiple of 4 on parse; padded with zeros on emit). */
  options: Uint8Array;
  /** Bytes after the header up to Total Length. */
  payload: Uint8Array;
}

/** Options to {@link parseIpv4}. */
export interface Ipv4ParseOptions {
  /** Verify the header checksum (default true; false when the NIC already did). */
  verifyChecksum?: boolean;
}

const F = Ipv4Field;
const EMPTY = new Uint8Array(0);

/** Print an IP protocol number ("TCP", or the number). For printing only. */
export function ipProtocolName(protocol: number): string {
  switch (protocol) {
    case IpProtocol.ICMP:
      return "ICMP";
    case IpProtocol.IGMP:
      return "IGMP";
    case IpProtocol.TCP:
      return "TCP";
    case IpProtocol.UDP:
      return "UDP";
    case IpProtocol.IPV6:
      return "IPv6";
    case IpProtocol.ICMPV6:
      return "ICMPv6";
    default:
      return `proto ${protocol}`;
  }
}

/** Validate the header against the buffer; returns the header length. */
function checkIpv4Header(bytes: Uint8Array): number {
  if (bytes.length < IPV4_HEADER_LEN) {
    throw new WireError("ipv4", "truncated", `${bytes.length} bytes`);
  }
  const version = bytes[F.VERSION_IHL] >>> 4;
  if (version !== 4) throw new WireError("ipv4", "bad-version", `version ${version}`);
  const hl = (bytes[F.VERSION_IHL] & 0x0f) << 2;
  if (hl < IPV4_HEADER_LEN) throw new WireError("ipv4", "bad-length", `IHL ${hl >>> 2}`);
  const total = u16(bytes, F.TOTAL_LENGTH);
  if (total < hl) throw new WireError("ipv4", "bad-length", `total length ${total} < header ${hl}`);
  if (total > bytes.length) {
    throw new WireError("ipv4", "truncated", `total length ${total} > ${bytes.length} bytes`);
  }
  return hl;
}

let _unchecked = false;

/**
 * Checked view of an IPv4 datagram. The constructor validates version, IHL and Total Length
 * against the buffer once (not the checksum: see {@link Ipv4Packet.verifyChecksum}); afterwards
 * no accessor reads outside `bytes`.
 *
 * @example
 * ```ts
 * const ip = new Ipv4Packet(frame.payload);
 * if (ip.verifyChecksum() && ip.protocol === IpProtocol.UDP) handleUdp(ip.payload);
 * ```
 */
export class Ipv4Packet {
  /** The buffer as given (may hold trailing padding past Total Length). */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated", "bad-version" or "bad-length". */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkIpv4Header(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): Ipv4Packet {
    _unchecked = true;
    try {
      return new Ipv4Packet(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Version field (4 once validated). */
  get version(): number {
    return this.bytes[F.VERSION_IHL] >>> 4;
  }
  /** Header length in bytes (IHL × 4); setting it also writes version 4. */
  get headerLength(): number {
    return (this.bytes[F.VERSION_IHL] & 0x0f) << 2;
  }
  set headerLength(v: number) {
    this.bytes[F.VERSION_IHL] = 0x40 | (v >>> 2);
  }
  /** DSCP, 0..63. */
  get dscp(): number {
    return this.bytes[F.DSCP_ECN] >>> 2;
  }
  /** ECN, 0..3. */
  get ecn(): number {
    return this.bytes[F.DSCP_ECN] & 3;
  }
  /** Total Length field. */
  get totalLength(): number {
    return u16(this.bytes, F.TOTAL_LENGTH);
  }
  set totalLength(v: number) {
    put16(this.bytes, F.TOTAL_LENGTH, v);
  }
  /** Identification. */
  get ident(): number {
    return u16(this.bytes, F.IDENT);
  }
  set ident(v: number) {
    put16(this.bytes, F.IDENT, v);
  }
  /** Don't Fragment flag. */
  get dontFragment(): boolean {
    return (this.bytes[F.FLAGS_FRAGMENT] & (Ipv4Flag.DF >>> 8)) !== 0;
  }
  /** More Fragments flag. */
  get moreFragments(): boolean {
    return (this.bytes[F.FLAGS_FRAGMENT] & (Ipv4Flag.MF >>> 8)) !== 0;
  }
  /** Fragment offset in bytes. */
  get fragmentOffset(): number {
    return (u16(this.bytes, F.FLAGS_FRAGMENT) & Ipv4Flag.OFFSET_MASK) << 3;
  }
  /** Time to live. */
  get ttl(): number {
    return this.bytes[F.TTL];
  }
  set ttl(v: number) {
    this.bytes[F.TTL] = v;
  }
  /** Protocol number. */
  get protocol(): number {
    return this.bytes[F.PROTOCOL];
  }
  set protocol(v: number) {
    this.bytes[F.PROTOCOL] = v;
  }
  /** Header checksum field. */
  get checksum(): number {
    return u16(this.bytes, F.CHECKSUM);
  }
  /** Source address. */
  get src(): number {
    return u32(this.bytes, F.SRC);
  }
  set src(v: number) {
    put32(this.bytes, F.SRC, v);
  }
  /** Destination address. */
  get dst(): number {
    return u32(this.bytes, F.DST);
  }
  set dst(v: number) {
    put32(this.bytes, F.DST, v);
  }
  /** Raw options (zero-copy). */
  get options(): Uint8Array {
    return this.bytes.subarray(IPV4_HEADER_LEN, this.headerLength);
  }
  /** The bytes after the header up to Total Length (zero-copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength, this.totalLength);
  }
  /** True when the header checksum verifies. */
  verifyChecksum(): boolean {
    return verifies(this.bytes.subarray(0, this.headerLength));
  }
  /** Compute and store the header checksum. */
  fillChecksum(): void {
    put16(this.bytes, F.CHECKSUM, 0);
    put16(this.bytes, F.CHECKSUM, checksum(this.bytes.subarray(0, this.headerLength)));
  }
}

/**
 * Parse an IPv4 datagram; trailing bytes past Total Length are ignored.
 * Throws WireError "truncated", "bad-version", "bad-length" or "bad-checksum".
 */
export function parseIpv4(bytes: Uint8Array, opts?: Ipv4ParseOptions): Ipv4Repr {
  const hl = checkIpv4Header(bytes);
  if (opts?.verifyChecksum !== false && !verifies(bytes.subarray(0, hl))) {
    throw new WireError("ipv4", "bad-checksum");
  }
  const flagsFrag = u16(bytes, F.FLAGS_FRAGMENT);
  return {
    dscp: bytes[F.DSCP_ECN] >>> 2,
    ecn: bytes[F.DSCP_ECN] & 3,
    ident: u16(bytes, F.IDENT),
    dontFragment: (flagsFrag & Ipv4Flag.DF) !== 0,
    moreFragments: (flagsFrag & Ipv4Flag.MF) !== 0,
    fragmentOffset: (flagsFrag & Ipv4Flag.OFFSET_MASK) << 3,
    ttl: bytes[F.TTL],
    protocol: bytes[F.PROTOCOL],
    src: u32(bytes, F.SRC),
    dst: u32(bytes, F.DST),
    options: hl === IPV4_HEADER_LEN ? EMPTY : bytes.subarray(IPV4_HEADER_LEN, hl),
    payload: bytes.subarray(hl, u16(bytes, F.TOTAL_LENGTH)),
  };
}

/** Header length for `repr`: 20 plus the options padded to a multiple of 4. */
export function ipv4HeaderLength(repr: Ipv4Repr): number {
  return IPV4_HEADER_LEN + ((repr.options.length + 3) & ~3);
}

/** Total Length for `repr` (header, options and payload). */
export function ipv4Length(repr: Ipv4Repr): number {
  return ipv4HeaderLength(repr) + repr.payload.length;
}

/**
 * Write `repr` into `buf` at offset 0 with its header checksum; returns the bytes written
 * (`ipv4Length(repr)`). A payload already in place in `buf` is not copied. Throws RangeError for
 * caller bugs: `buf` too small, options over 40 bytes, a datagram over 65535 bytes or a fragment
 * offset that is not a multiple of 8.
 */
export function emitIpv4(repr: Ipv4Repr, buf: Uint8Array): number {
  const hl = ipv4HeaderLength(repr);
  const total = hl + repr.payload.length;
  if (hl > IPV4_MAX_HEADER_LEN) throw new RangeError(`IPv4 options take ${hl - 20} bytes`);
  if (total > IPV4_MAX_LEN) throw new RangeError(`IPv4 datagram of ${total} bytes`);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  const off = repr.fragmentOffset;
  if ((off & 7) !== 0 || off < 0 || off > 0xfff8) {
    throw new RangeError(`Fragment offset ${off} is not a multiple of 8 below 65536`);
  }
  buf[F.VERSION_IHL] = 0x40 | (hl >>> 2);
  buf[F.DSCP_ECN] = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 3);
  put16(buf, F.TOTAL_LENGTH, total);
  put16(buf, F.IDENT, repr.ident);
  put16(
    buf,
    F.FLAGS_FRAGMENT,
    (repr.dontFragment ? Ipv4Flag.DF : 0) | (repr.moreFragments ? Ipv4Flag.MF : 0) | (off >>> 3),
  );
  buf[F.TTL] = repr.ttl;
  buf[F.PROTOCOL] = repr.protocol;
  put16(buf, F.CHECKSUM, 0);
  put32(buf, F.SRC, repr.src);
  put32(buf, F.DST, repr.dst);
  if (hl > IPV4_HEADER_LEN) {
    buf.set(repr.options, IPV4_HEADER_LEN);
    buf.fill(0, IPV4_HEADER_LEN + repr.options.length, hl);
  }
  put16(buf, F.CHECKSUM, checksum(buf.subarray(0, hl)));
  const p = repr.payload;
  if (p.buffer !== buf.buffer || p.byteOffset !== buf.byteOffset + hl) buf.set(p, hl);
  return total;
}

/** Encode `repr` into a new buffer of exactly `ipv4Length(repr)` bytes. */
export function encodeIpv4(repr: Ipv4Repr): Uint8Array {
  const buf = new Uint8Array(ipv4Length(repr));
  emitIpv4(repr, buf);
  return buf;
}

/**
 * Option types (RFC 791 §3.1): End of Option List, No Operation, Loose and Strict Source and
 * Record Route.
 */
export const Ipv4OptionType = { END: 0, NOOP: 1, LSRR: 0x83, SSRR: 0x89 } as const;

/**
 * Where `options` is malformed: the offset of the first option whose length is below 2 or runs
 * past the end, or undefined when the list is well formed up to End of Option List. Linux's
 * `ip_options_compile()` (net/ipv4/ip_options.c) refuses such a datagram and answers Parameter
 * Problem pointing at that option.
 */
export function ipv4OptionsError(options: Uint8Array): number | undefined {
  let i = 0;
  while (i < options.length) {
    const type = options[i];
    if (type === Ipv4OptionType.END) return undefined;
    if (type === Ipv4OptionType.NOOP) {
      i++;
      continue;
    }
    const len = options[i + 1];
    if (i + 1 >= options.length || len < 2 || i + len > options.length) return i;
    i += len;
  }
  return undefined;
}

/**
 * True when `options` carries an option of one of `types`. The walk stops at End of Option List
 * or at an option whose length is impossible.
 */
export function hasIpv4Option(options: Uint8Array, types: readonly number[]): boolean {
  let i = 0;
  while (i < options.length) {
    const type = options[i];
    if (type === Ipv4OptionType.END) return false;
    if (type === Ipv4OptionType.NOOP) {
      i++;
      continue;
    }
    if (types.includes(type)) return true;
    const len = options[i + 1];
    if (i + 1 >= options.length || len < 2) return false;
    i += len;
  }
  return false;
}

/**
 * The options a fragment after the first carries (RFC 791 §3.2: only options whose copied flag,
 * the type's top bit, is set): a copy of `options` in which every other option is overwritten
 * with No Operation bytes, so the header keeps its length. Walking stops, leaving the rest as it
 * is, at End of Option List or at an option whose length is impossible, as Linux's
 * `ip_options_fragment()` (net/ipv4/ip_options.c) does.
 */
export function ipv4FragmentOptions(options: Uint8Array): Uint8Array {
  const out = options.slice();
  let i = 0;
  while (i < out.length) {
    const type = out[i];
    if (type === Ipv4OptionType.END) break;
    if (type === Ipv4OptionType.NOOP) {
      i++;
      continue;
    }
    const len = out[i + 1];
    if (i + 1 >= out.length || len < 2 || i + len > out.length) break;
    if ((type & 0x80) === 0) out.fill(Ipv4OptionType.NOOP, i, i + len);
    i += len;
  }
  return out;
}

/**
 * Decrement the TTL of the IPv4 header at the start of `buf` in place, patching the checksum with
 * the RFC 1624 incremental update; returns the new TTL. A TTL of 0 is left alone (returns 0):
 * a forwarder drops and answers "time exceeded" when this returns 0.
 * Throws WireError "truncated" when `buf` is shorter than a header.
 */
export function decrementTtl(buf: Uint8Array): number {
  if (buf.length < IPV4_HEADER_LEN) {
    throw new WireError("ipv4", "truncated", `${buf.length} bytes`);
  }
  const ttl = buf[F.TTL];
  if (ttl === 0) return 0;
  const oldWord = u16(buf, F.TTL);
  buf[F.TTL] = ttl - 1;
  put16(buf, F.CHECKSUM, updateChecksum(u16(buf, F.CHECKSUM), oldWord, u16(buf, F.TTL)));
  return ttl - 1;
}
