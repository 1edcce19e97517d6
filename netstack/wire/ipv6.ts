/**
 * IPv6 fixed header (RFC 8200), with the extension-header layouts for reference; the extension
 * headers themselves are parsed and emitted in ipv6_ext.ts.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                         Source Address                        +
 * |                          (16 bytes)                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                      Destination Address                      +
 * |                          (16 bytes)                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Hop-by-Hop / Destination Options (§4.3, §4.6), Routing (§4.4):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |  Hdr Ext Len  | Options… / Routing Type, Segs Left, data…
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   (length = 8 + 8 × Hdr Ext Len)
 *
 * Fragment (§4.5):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Identification                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Authentication Header (RFC 4302): Next Header, Payload Len (4-byte units − 2), Reserved,
 * SPI, Sequence Number, ICV…
 * ```
 *
 * Addresses are 16-byte Uint8Arrays (see addr.ts).
 */

import { WireError } from "./errors.ts";
import { put16, u16 } from "./_bytes.ts";

/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LEN = 40;
/** Length of the fragment extension header. */
export const IPV6_FRAGMENT_HEADER_LEN = 8;
/** The IPv6 minimum link MTU (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;

/** Byte offsets of the fixed IPv6 header fields. */
export const Ipv6Field = {
  VERSION_TC_FLOW: 0,
  PAYLOAD_LENGTH: 4,
  NEXT_HEADER: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
  PAYLOAD: 40,
} as const;

/** Byte offsets inside the fragment header. */
export const Ipv6FragmentField = { NEXT_HEADER: 0, OFFSET_FLAGS: 2, IDENT: 4 } as const;

/** Byte offsets inside the other extension headers (options, routing, AH). */
export const Ipv6ExtField = {
  NEXT_HEADER: 0,
  LENGTH: 1,
  OPTIONS: 2,
  ROUTING_TYPE: 2,
  SEGMENTS_LEFT: 3,
  ROUTING_DATA: 4,
  AH_SPI: 4,
  AH_SEQUENCE: 8,
  AH_ICV: 12,
} as const;

/** Next Header values this module knows; other numbers pass through unchanged. */
export const Ipv6NextHeader = {
  HOP_BY_HOP: 0,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NO_NEXT_HEADER: 59,
  DESTINATION: 60,
} as const;

/** Option types of the Hop-by-Hop and Destination Options headers this module names. */
export const Ipv6OptionType = { PAD1: 0, PADN: 1, ROUTER_ALERT: 5, JUMBO: 0xc2 } as const;

/**
 * A parsed fixed header with its payload (trimmed to Payload Length, zero-copy). `src` and `dst`
 * are copies, safe to keep.
 */
export interface Ipv6Repr extends Ipv6AddressPair {
  trafficClass: number;
  flowLabel: number;
  nextHeader: number;
  hopLimit: number;
  /** Everything after the fixed header up to Payload Length, extension headers included. */
  payload: Uint8Array;
}

/** Source and destination of an IPv6 packet, as needed for upper-layer pseudo-header checksums. */
export interface Ipv6AddressPair {
  /** Source address, 16 bytes. */
  src: Uint8Array;
  /** Destination address, 16 bytes. */
  dst: Uint8Array;
}

const F = Ipv6Field;

function checkIpv6Header(bytes: Uint8Array): number {
  if (bytes.length < IPV6_HEADER_LEN) {
    throw new WireError("ipv6", "truncated", `${bytes.length} bytes`);
  }
  if (bytes[0] >>> 4 !== 6) throw new WireError("ipv6", "bad-version", `version ${bytes[0] >>> 4}`);
  const len = u16(bytes, F.PAYLOAD_LENGTH);
  if (IPV6_HEADER_LEN + len > bytes.length) {
    throw new WireError("ipv6", "bad-length", `payload length ${len} > ${bytes.length - 40}`);
  }
  return len;
}

let _unchecked = false;

/**
 * Checked view of an IPv6 packet. The constructor checks the version and that Payload Length fits
 * in `bytes`; afterwards no accessor reads out of bounds.
 */
export class Ipv6Packet {
  /** The packet bytes (may extend past the payload, e.g. Ethernet padding). */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated", "bad-version" or "bad-length". */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkIpv6Header(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): Ipv6Packet {
    _unchecked = true;
    try {
      return new Ipv6Packet(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** IP version (6 for a checked view). */
  get version(): number {
    return this.bytes[0] >>> 4;
  }
  set version(v: number) {
    this.bytes[0] = (this.bytes[0] & 0x0f) | (v << 4);
  }
  /** Traffic class (DSCP and ECN), 8 bits. */
  get trafficClass(): number {
    return ((this.bytes[0] & 0x0f) << 4) | (this.bytes[1] >>> 4);
  }
  set trafficClass(v: number) {
    this.bytes[0] = (this.bytes[0] & 0xf0) | ((v >>> 4) & 0x0f);
    this.bytes[1] = (this.bytes[1] & 0x0f) | ((v & 0x0f) << 4);
  }
  /** Flow label, 20 bits. */
  get flowLabel(): number {
    return ((this.bytes[1] & 0x0f) << 16) | u16(this.bytes, 2);
  }
  set flowLabel(v: number) {
    this.bytes[1] = (this.bytes[1] & 0xf0) | ((v >>> 16) & 0x0f);
    put16(this.bytes, 2, v & 0xffff);
  }
  /** Payload Length field. */
  get payloadLength(): number {
    return u16(this.bytes, F.PAYLOAD_LENGTH);
  }
  set payloadLength(v: number) {
    put16(this.bytes, F.PAYLOAD_LENGTH, v);
  }
  /** Next Header field. */
  get nextHeader(): number {
    return this.bytes[F.NEXT_HEADER];
  }
  set nextHeader(v: number) {
    this.bytes[F.NEXT_HEADER] = v;
  }
  /** Hop Limit field. */
  get hopLimit(): number {
    return this.bytes[F.HOP_LIMIT];
  }
  set hopLimit(v: number) {
    this.bytes[F.HOP_LIMIT] = v;
  }
  /** Source address (zero-copy, writable). */
  get src(): Uint8Array {
    return this.bytes.subarray(F.SRC, F.SRC + 16);
  }
  /** Destination address (zero-copy, writable). */
  get dst(): Uint8Array {
    return this.bytes.subarray(F.DST, F.DST + 16);
  }
  /** The bytes after the fixed header, up to Payload Length (zero-copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + this.payloadLength);
  }
}

/** Parse the fixed header; throws WireError "truncated", "bad-version" or "bad-length". */
export function parseIpv6(bytes: Uint8Array): Ipv6Repr {
  const len = checkIpv6Header(bytes);
  return {
    trafficClass: ((bytes[0] & 0x0f) << 4) | (bytes[1] >>> 4),
    flowLabel: ((bytes[1] & 0x0f) << 16) | u16(bytes, 2),
    nextHeader: bytes[F.NEXT_HEADER],
    hopLimit: bytes[F.HOP_LIMIT],
    src: bytes.slice(F.SRC, F.SRC + 16),
    dst: bytes.slice(F.DST, F.DST + 16),
    payload: bytes.subarray(IPV6_HEADER_LEN, IPV6_HEADER_LEN + len),
  };
}

/** Total packet length for `repr`. */
export function ipv6Length(repr: Ipv6Repr): number {
  return IPV6_HEADER_LEN + repr.payload.length;
}

/**
 * Write the fixed header and payload of `repr` into `buf` at offset 0; returns bytes written.
 * The payload may already sit at `buf[40..]` (the copy is then a no-op move).
 * Throws RangeError when `buf` is too small or the payload exceeds 65535 bytes.
 */
export function emitIpv6(repr: Ipv6Repr, buf: Uint8Array): number {
  const len = repr.payload.length;
  if (len > 0xffff) throw new RangeError(`IPv6 payload of ${len} bytes needs a jumbogram`);
  if (buf.length < IPV6_HEADER_LEN + len) {
    throw new RangeError(`Buffer of ${buf.length} bytes < ${IPV6_HEADER_LEN + len}`);
  }
  buf[0] = 0x60 | ((repr.trafficClass >>> 4) & 0x0f);
  buf[1] = ((repr.trafficClass & 0x0f) << 4) | ((repr.flowLabel >>> 16) & 0x0f);
  put16(buf, 2, repr.flowLabel & 0xffff);
  put16(buf, F.PAYLOAD_LENGTH, len);
  buf[F.NEXT_HEADER] = repr.nextHeader;
  buf[F.HOP_LIMIT] = repr.hopLimit;
  buf.set(repr.src.subarray(0, 16), F.SRC);
  buf.set(repr.dst.subarray(0, 16), F.DST);
  buf.set(repr.payload, IPV6_HEADER_LEN);
  return IPV6_HEADER_LEN + len;
}

/** Encode `repr` into a new buffer of exactly `ipv6Length(repr)` bytes. */
export function encodeIpv6(repr: Ipv6Repr): Uint8Array {
  const buf = new Uint8Array(ipv6Length(repr));
  emitIpv6(repr, buf);
  return buf;
}
