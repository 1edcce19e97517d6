/**
 * UDP header (RFC 768), over IPv4 or IPv6 (RFC 8200 §8.1).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            Length             |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             Data …                            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * The checksum covers a pseudo-header: callers pass its unfolded sum computed for the length of
 * the bytes they hand over (`pseudoHeaderSum4(src, dst, 17, ipPayload.length)` or
 * `pseudoHeaderSum6(…)` from checksum.ts), the same convention as tcp.ts. When the UDP Length is
 * shorter than those bytes the datagram is trimmed to it and the sum adjusted.
 *
 * A checksum field of 0 means "no checksum" over IPv4 and is invalid over IPv6. A computed
 * checksum of 0 is sent as 0xffff.
 */

import { checksum, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import { put16, u16 } from "./_bytes.ts";

/** Length of the UDP header. */
export const UDP_HEADER_LEN = 8;

/** Byte offsets of the UDP header fields. */
export const UdpField = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6, PAYLOAD: 8 } as const;

/** A UDP datagram as a plain record; `payload` is zero-copy on parse. */
export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** The data, trimmed to the UDP Length. */
  payload: Uint8Array;
}

/** Options to {@link parseUdp}. */
export interface UdpParseOptions {
  /**
   * Unfolded pseudo-header sum for `bytes.length` bytes; when given, the checksum is verified
   * (default: not checked, e.g. when the NIC did it).
   */
  pseudoSum?: number;
  /** IP version underneath (default 4). Over IPv6 a zero checksum is always refused. */
  ipVersion?: 4 | 6;
}

/** Options to {@link emitUdp} and {@link encodeUdp}. */
export interface UdpEmitOptions {
  /** Unfolded pseudo-header sum for `udpLength(repr)` bytes; when given the checksum is filled in,
   * else left 0 ("none" over IPv4, left to offload over IPv6). */
  pseudoSum?: number;
}

const F = UdpField;

function checkUdpHeader(bytes: Uint8Array): number {
  if (bytes.length < UDP_HEADER_LEN) {
    throw new WireError("udp", "truncated", `${bytes.length} bytes`);
  }
  const len = u16(bytes, F.LENGTH);
  if (len < UDP_HEADER_LEN) throw new WireError("udp", "bad-length", `length field ${len}`);
  if (len > bytes.length) {
    throw new WireError("udp", "truncated", `length field ${len} > ${bytes.length} bytes`);
  }
  return len;
}

let _unchecked = false;

/**
 * Checked view of a UDP datagram: the constructor checks the header and the Length field against
 * the buffer once (not the checksum).
 *
 * @example
 * ```ts
 * const udp = new UdpPacket(ip.payload);
 * if (udp.verifyChecksum(pseudoHeaderSum4(ip.src, ip.dst, 17, ip.payload.length))) {
 *   deliver(udp.dstPort, udp.payload);
 * }
 * ```
 */
export class UdpPacket {
  /** The buffer as given (may be longer than the Length field). */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated" or "bad-length". */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkUdpHeader(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): UdpPacket {
    _unchecked = true;
    try {
      return new UdpPacket(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Source port. */
  get srcPort(): number {
    return u16(this.bytes, F.SRC_PORT);
  }
  set srcPort(v: number) {
    put16(this.bytes, F.SRC_PORT, v);
  }
  /** Destination port. */
  get dstPort(): number {
    return u16(this.bytes, F.DST_PORT);
  }
  set dstPort(v: number) {
    put16(this.bytes, F.DST_PORT, v);
  }
  /** Length field (header and data). */
  get length(): number {
    return u16(this.bytes, F.LENGTH);
  }
  set length(v: number) {
    put16(this.bytes, F.LENGTH, v);
  }
  /** Checksum field (0: none, over IPv4). */
  get checksum(): number {
    return u16(this.bytes, F.CHECKSUM);
  }
  /** The data, up to the Length field (zero-copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(UDP_HEADER_LEN, this.length);
  }
  /**
   * True when the checksum verifies against the pseudo-header sum for `bytes.length` bytes, or is
   * 0 over IPv4; a 0 over IPv6 is false.
   */
  verifyChecksum(pseudoSum: number, ipVersion: 4 | 6 = 4): boolean {
    return udpChecksumOk(this.bytes, this.length, pseudoSum, ipVersion);
  }
  /** Compute and store the checksum over `length` bytes (0 is stored as 0xffff). */
  fillChecksum(pseudoSum: number): void {
    const len = this.length;
    put16(this.bytes, F.CHECKSUM, 0);
    put16(this.bytes, F.CHECKSUM, checksum(this.bytes.subarray(0, len), pseudoSum) || 0xffff);
  }
}

function udpChecksumOk(bytes: Uint8Array, len: number, pseudoSum: number, v: 4 | 6): boolean {
  if (u16(bytes, F.CHECKSUM) === 0) return v === 4;
  // The caller's sum counted bytes.length; the pseudo-header carries the UDP Length.
  return verifies(bytes.subarray(0, len), pseudoSum - bytes.length + len);
}

/**
 * Parse a UDP datagram (the whole IP payload); the payload is trimmed to the Length field.
 * Throws WireError "truncated", "bad-length" or "bad-checksum" (including a zero checksum over
 * IPv6, whether or not `pseudoSum` is given).
 */
export function parseUdp(bytes: Uint8Array, opts?: UdpParseOptions): UdpRepr {
  const len = checkUdpHeader(bytes);
  const v = opts?.ipVersion ?? 4;
  const pseudoSum = opts?.pseudoSum;
  if (v === 6 && u16(bytes, F.CHECKSUM) === 0) {
    throw new WireError("udp", "bad-checksum", "zero checksum over IPv6");
  }
  if (pseudoSum !== undefined && !udpChecksumOk(bytes, len, pseudoSum, v)) {
    throw new WireError("udp", "bad-checksum");
  }
  return {
    srcPort: u16(bytes, F.SRC_PORT),
    dstPort: u16(bytes, F.DST_PORT),
    payload: bytes.subarray(UDP_HEADER_LEN, len),
  };
}

/** Datagram length (header and payload) for `repr`. */
export function udpLength(repr: UdpRepr): number {
  return UDP_HEADER_LEN + repr.payload.length;
}

/**
 * Write `repr` into `buf` at offset 0 and return the bytes written (`udpLength(repr)`). A payload
 * already in place in `buf` is not copied. Throws RangeError when `buf` is too small or the
 * datagram exceeds 65535 bytes.
 */
export function emitUdp(repr: UdpRepr, buf: Uint8Array, opts?: UdpEmitOptions): number {
  const total = UDP_HEADER_LEN + repr.payload.length;
  if (total > 0xffff) throw new RangeError(`UDP datagram of ${total} bytes`);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  put16(buf, F.SRC_PORT, repr.srcPort);
  put16(buf, F.DST_PORT, repr.dstPort);
  put16(buf, F.LENGTH, total);
  put16(buf, F.CHECKSUM, 0);
  const p = repr.payload;
  if (p.buffer !== buf.buffer || p.byteOffset !== buf.byteOffset + UDP_HEADER_LEN) {
    buf.set(p, UDP_HEADER_LEN);
  }
  const pseudoSum = opts?.pseudoSum;
  if (pseudoSum !== undefined) {
    put16(buf, F.CHECKSUM, checksum(buf.subarray(0, total), pseudoSum) || 0xffff);
  }
  return total;
}

/** Encode `repr` into a new buffer of exactly `udpLength(repr)` bytes. */
export function encodeUdp(repr: UdpRepr, opts?: UdpEmitOptions): Uint8Array {
  const buf = new Uint8Array(udpLength(repr));
  emitUdp(repr, buf, opts);
  return buf;
}
