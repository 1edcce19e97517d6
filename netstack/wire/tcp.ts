/**
 * TCP header (RFC 9293 §3.1) with options from RFC 7323 (window scale, timestamps) and
 * RFC 2018 (SACK).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           [Options]                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                             Data                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * The checksum covers a pseudo-header: callers pass its unfolded sum (`pseudoHeaderSum4(src, dst,
 * 6, tcpLength)` or `pseudoHeaderSum6(src, dst, 6, tcpLength)` from checksum.ts).
 *
 * Options are emitted in the order Linux uses, so parse→emit of a Linux segment is
 * byte-identical: MSS, then SACK-permitted folded into the timestamp's NOP slots
 * (`04 02 08 0a …`, or `01 01 08 0a …` without SACK-permitted, or `01 01 04 02` without
 * timestamps), then `01 03 03 ws`, then `01 01 05 len` SACK blocks, then unknown options, then
 * zero padding to a multiple of 4 bytes.
 */

import { checksum, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";

/** Flag bits of the TCP header, tested bit by bit (`flags & TcpFlag.SYN`). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** TCP options Serin understands; anything else is carried in `unknown` unchanged. */
export interface TcpOptions {
  /** Maximum segment size (kind 2), SYN only. */
  mss?: number;
  /** Window scale shift count (kind 3), SYN only. */
  windowScale?: number;
  /** SACK permitted (kind 4), SYN only. */
  sackPermitted?: boolean;
  /** SACK blocks (kind 5): [left, right) sequence-number pairs. */
  sack?: Array<[number, number]>;
  /** Timestamps (kind 8): TSval and TSecr. */
  timestamp?: { value: number; echo: number };
  /** Options of other kinds, in the order they appeared. */
  unknown?: Array<{ kind: number; data: Uint8Array }>;
}

/** A TCP segment as a plain record: header fields, options and payload. */
export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  /** Sequence number, unsigned 32-bit. */
  seq: number;
  /** Acknowledgment number, unsigned 32-bit (meaningful when ACK is set). */
  ack: number;
  /** Flag bits, see {@link TcpFlag}. */
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  urgent: number;
  options: TcpOptions;
  payload: Uint8Array;
}

/** Length of the TCP header without options. */
export const TCP_HEADER_LEN = 20;
/** Largest TCP header (data offset 15). */
export const TCP_MAX_HEADER_LEN = 60;
/** Room for options: TCP_MAX_HEADER_LEN - TCP_HEADER_LEN. */
export const TCP_MAX_OPTIONS_LEN = 40;

/** Byte offsets of the TCP header fields. */
export const TcpField = {
  SRC_PORT: 0,
  DST_PORT: 2,
  SEQ: 4,
  ACK: 8,
  DATA_OFFSET: 12,
  FLAGS: 13,
  WINDOW: 14,
  CHECKSUM: 16,
  URGENT: 18,
  OPTIONS: 20,
} as const;

/** TCP option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMP: 8,
} as const;

/** Options to {@link parseTcp}. */
export interface TcpParseOptions {
  /** Unfolded pseudo-header sum; when given, the checksum is verified (default: not checked). */
  pseudoSum?: number;
}

/** Options to {@link emitTcp} and {@link encodeTcp}. */
export interface TcpEmitOptions {
  /** Unfolded pseudo-header sum; when given the checksum is filled in, else left 0 (offload). */
  pseudoSum?: number;
}

const F = TcpField;
const K = TcpOptionKind;

function fail(reason: "truncated" | "bad-length" | "bad-checksum" | "malformed", detail?: string) {
  return new WireError("tcp", reason, detail);
}

let _unchecked = false;

/**
 * Checked view of a TCP segment. The constructor validates the length and data offset once;
 * afterwards no accessor reads outside `bytes`.
 *
 * @example
 * ```ts
 * const seg = new TcpPacket(ipPayload);
 * if (seg.flags & TcpFlag.SYN) console.log(seg.srcPort, seg.payload.length);
 * ```
 */
export class TcpPacket {
  /** The whole segment: header, options and payload. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated"/"bad-length" when the header does not fit. */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkTcpHeader(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): TcpPacket {
    _unchecked = true;
    try {
      return new TcpPacket(bytes);
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
  /** Sequence number (unsigned 32-bit). */
  get seq(): number {
    return u32(this.bytes, F.SEQ);
  }
  set seq(v: number) {
    put32(this.bytes, F.SEQ, v);
  }
  /** Acknowledgment number (unsigned 32-bit). */
  get ack(): number {
    return u32(this.bytes, F.ACK);
  }
  set ack(v: number) {
    put32(this.bytes, F.ACK, v);
  }
  /** Header length in bytes (data offset × 4). */
  get headerLength(): number {
    return (this.bytes[F.DATA_OFFSET] >>> 4) << 2;
  }
  set headerLength(v: number) {
    this.bytes[F.DATA_OFFSET] = (v >>> 2) << 4;
  }
  /** Flag bits (CWR … FIN), see {@link TcpFlag}. */
  get flags(): number {
    return this.bytes[F.FLAGS];
  }
  set flags(v: number) {
    this.bytes[F.FLAGS] = v;
  }
  /** Raw window field. */
  get window(): number {
    return u16(this.bytes, F.WINDOW);
  }
  set window(v: number) {
    put16(this.bytes, F.WINDOW, v);
  }
  /** Checksum field. */
  get checksum(): number {
    return u16(this.bytes, F.CHECKSUM);
  }
  set checksum(v: number) {
    put16(this.bytes, F.CHECKSUM, v);
  }
  /** Urgent pointer. */
  get urgent(): number {
    return u16(this.bytes, F.URGENT);
  }
  set urgent(v: number) {
    put16(this.bytes, F.URGENT, v);
  }
  /** The raw options bytes (zero-copy). */
  get options(): Uint8Array {
    return this.bytes.subarray(TCP_HEADER_LEN, this.headerLength);
  }
  /** The data after the header (zero-copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
  /** True when the checksum verifies against the unfolded pseudo-header sum. */
  verifyChecksum(pseudoSum: number): boolean {
    return verifies(this.bytes, pseudoSum);
  }
  /** Compute and store the checksum over the whole segment. */
  fillChecksum(pseudoSum: number): void {
    put16(this.bytes, F.CHECKSUM, 0);
    put16(this.bytes, F.CHECKSUM, checksum(this.bytes, pseudoSum));
  }
}

function checkTcpHeader(bytes: Uint8Array): number {
  if (bytes.length < TCP_HEADER_LEN) throw fail("truncated", `${bytes.length} bytes`);
  const hl = (bytes[F.DATA_OFFSET] >>> 4) << 2;
  if (hl < TCP_HEADER_LEN) throw fail("bad-length", `data offset ${hl >>> 2}`);
  if (hl > bytes.length) throw fail("bad-length", `header ${hl} > segment ${bytes.length}`);
  return hl;
}

/**
 * Parse the options area (the bytes between the fixed header and the data).
 * A known option with the wrong length, a length below 2 or one running past the end → "malformed".
 */
export function parseTcpOptions(b: Uint8Array): TcpOptions {
  const n = b.length;
  const out: TcpOptions = {};
  let i = 0;
  // Fast path: the NOP NOP TS layout of nearly every data segment.
  if (n >= 12 && b[0] === K.NOP && b[1] === K.NOP && b[2] === K.TIMESTAMP && b[3] === 10) {
    out.timestamp = { value: u32(b, 4), echo: u32(b, 8) };
    i = 12;
  }
  while (i < n) {
    const kind = b[i];
    if (kind === K.EOL) break;
    if (kind === K.NOP) {
      i++;
      continue;
    }
    if (i + 1 >= n) throw fail("malformed", `option ${kind} has no length`);
    const len = b[i + 1];
    if (len < 2 || i + len > n) throw fail("malformed", `option ${kind} length ${len}`);
    switch (kind) {
      case K.MSS:
        if (len !== 4) throw fail("malformed", `MSS length ${len}`);
        out.mss = u16(b, i + 2);
        break;
      case K.WINDOW_SCALE:
        if (len !== 3) throw fail("malformed", `window scale length ${len}`);
        out.windowScale = b[i + 2];
        break;
      case K.SACK_PERMITTED:
        if (len !== 2) throw fail("malformed", `SACK-permitted length ${len}`);
        out.sackPermitted = true;
        break;
      case K.SACK: {
        const blocks = (len - 2) >>> 3;
        if (len < 10 || ((len - 2) & 7) !== 0 || blocks > 4) {
          throw fail("malformed", `SACK length ${len}`);
        }
        const sack: Array<[number, number]> = [];
        for (let j = i + 2; j < i + len; j += 8) sack.push([u32(b, j), u32(b, j + 4)]);
        out.sack = sack;
        break;
      }
      case K.TIMESTAMP:
        if (len !== 10) throw fail("malformed", `timestamp length ${len}`);
        out.timestamp = { value: u32(b, i + 2), echo: u32(b, i + 6) };
        break;
      default:
        (out.unknown ??= []).push({ kind, data: b.subarray(i + 2, i + len) });
    }
    i += len;
  }
  return out;
}

/**
 * Parse a TCP segment (the whole IP payload) into a record; the payload is a zero-copy subarray.
 * Throws WireError "truncated", "bad-length", "malformed" (options) or "bad-checksum".
 */
export function parseTcp(bytes: Uint8Array, opts?: TcpParseOptions): TcpRepr {
  const hl = checkTcpHeader(bytes);
  const pseudoSum = opts?.pseudoSum;
  if (pseudoSum !== undefined && !verifies(bytes, pseudoSum)) throw fail("bad-checksum");
  return {
    srcPort: u16(bytes, F.SRC_PORT),
    dstPort: u16(bytes, F.DST_PORT),
    seq: u32(bytes, F.SEQ),
    ack: u32(bytes, F.ACK),
    flags: bytes[F.FLAGS],
    window: u16(bytes, F.WINDOW),
    urgent: u16(bytes, F.URGENT),
    options: hl === TCP_HEADER_LEN ? {} : parseTcpOptions(bytes.subarray(TCP_HEADER_LEN, hl)),
    payload: bytes.subarray(hl),
  };
}

/** Bytes the options take when emitted, padded to a multiple of 4 (may exceed 40: invalid). */
export function tcpOptionsLength(o: TcpOptions): number {
  let n = 0;
  if (o.mss !== undefined) n += 4;
  if (o.timestamp !== undefined) n += 12;
  else if (o.sackPermitted) n += 4;
  if (o.windowScale !== undefined) n += 4;
  if (o.sack !== undefined && o.sack.length > 0) n += 4 + 8 * o.sack.length;
  if (o.unknown !== undefined) { for (const u of o.unknown) n += 2 + u.data.length; }
  return (n + 3) & ~3;
}

/** Header length (fixed part plus padded options) for `repr`. */
export function tcpHeaderLength(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLength(repr.options);
}

/** Total segment length (header, options, payload) for `repr`. */
export function tcpLength(repr: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLength(repr.options) + repr.payload.length;
}

/** Write the options at `b[i..]` in Linux order; returns the offset after the padding. */
function emitOptions(o: TcpOptions, b: Uint8Array, i: number, end: number): number {
  if (o.mss !== undefined) {
    b[i] = K.MSS;
    b[i + 1] = 4;
    put16(b, i + 2, o.mss);
    i += 4;
  }
  if (o.timestamp !== undefined) {
    if (o.sackPermitted) {
      b[i] = K.SACK_PERMITTED;
      b[i + 1] = 2;
    } else {
      b[i] = K.NOP;
      b[i + 1] = K.NOP;
    }
    b[i + 2] = K.TIMESTAMP;
    b[i + 3] = 10;
    put32(b, i + 4, o.timestamp.value);
    put32(b, i + 8, o.timestamp.echo);
    i += 12;
  } else if (o.sackPermitted) {
    b[i] = K.NOP;
    b[i + 1] = K.NOP;
    b[i + 2] = K.SACK_PERMITTED;
    b[i + 3] = 2;
    i += 4;
  }
  if (o.windowScale !== undefined) {
    b[i] = K.NOP;
    b[i + 1] = K.WINDOW_SCALE;
    b[i + 2] = 3;
    b[i + 3] = o.windowScale;
    i += 4;
  }
  if (o.sack !== undefined && o.sack.length > 0) {
    b[i] = K.NOP;
    b[i + 1] = K.NOP;
    b[i + 2] = K.SACK;
    b[i + 3] = 2 + 8 * o.sack.length;
    i += 4;
    for (const [left, right] of o.sack) {
      put32(b, i, left);
      put32(b, i + 4, right);
      i += 8;
    }
  }
  if (o.unknown !== undefined) {
    for (const u of o.unknown) {
      b[i] = u.kind;
      b[i + 1] = 2 + u.data.length;
      b.set(u.data, i + 2);
      i += 2 + u.data.length;
    }
  }
  while (i < end) b[i++] = K.EOL;
  return i;
}

/**
 * Write `repr` into `buf` at offset 0 and return the bytes written (`tcpLength(repr)`).
 * Throws RangeError when `buf` is too small or the options exceed 40 bytes (caller bugs).
 */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, opts?: TcpEmitOptions): number {
  const o = repr.options;
  const optLen = (o.mss === undefined && o.timestamp === undefined && !o.sackPermitted &&
      o.windowScale === undefined && o.sack === undefined && o.unknown === undefined)
    ? 0
    : tcpOptionsLength(o);
  if (optLen > TCP_MAX_OPTIONS_LEN) throw new RangeError(`TCP options take ${optLen} bytes`);
  const hl = TCP_HEADER_LEN + optLen;
  const total = hl + repr.payload.length;
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  put16(buf, F.SRC_PORT, repr.srcPort);
  put16(buf, F.DST_PORT, repr.dstPort);
  put32(buf, F.SEQ, repr.seq);
  put32(buf, F.ACK, repr.ack);
  buf[F.DATA_OFFSET] = (hl >>> 2) << 4;
  buf[F.FLAGS] = repr.flags;
  put16(buf, F.WINDOW, repr.window);
  put16(buf, F.CHECKSUM, 0);
  put16(buf, F.URGENT, repr.urgent);
  if (optLen > 0) emitOptions(o, buf, TCP_HEADER_LEN, hl);
  const p = repr.payload;
  // Skip the copy when the payload was built in place.
  if (p.buffer !== buf.buffer || p.byteOffset !== buf.byteOffset + hl) buf.set(p, hl);
  const pseudoSum = opts?.pseudoSum;
  if (pseudoSum !== undefined) {
    put16(buf, F.CHECKSUM, checksum(buf.subarray(0, total), pseudoSum));
  }
  return total;
}

/** Encode `repr` into a new buffer of exactly `tcpLength(repr)` bytes. */
export function encodeTcp(repr: TcpRepr, opts?: TcpEmitOptions): Uint8Array {
  const buf = new Uint8Array(tcpLength(repr));
  emitTcp(repr, buf, opts);
  return buf;
}
