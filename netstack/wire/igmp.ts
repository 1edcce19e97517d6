/**
 * IGMPv2 (RFC 2236), with IGMPv1 reports (RFC 1112) and IGMPv3 queries (RFC 3376 §4.1) accepted
 * as queries, which is how a version 2 host treats them (RFC 3376 §7.2.1).
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Type     | Max Resp Time |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Group Address                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  IGMPv3 query only: Resv|S|QRV|  QQIC  |  Number of Sources … |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * The checksum covers the whole IGMP message. Max Resp Time is in tenths of a second; a v1 query
 * carries 0 (meaning 10 s). Messages are sent with TTL 1 and the Router Alert option
 * (`IPV4_OPTION_ROUTER_ALERT` in ipv4.ts).
 */

import { checksum, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";

/** Length of an IGMPv1/v2 message. */
export const IGMP_LEN = 8;
/** Smallest IGMPv3 query (RFC 3376 §4.1): 8 bytes plus Resv/S/QRV, QQIC and source count. */
export const IGMPV3_QUERY_MIN_LEN = 12;
/** The all-systems group 224.0.0.1, where general queries go. */
export const IGMP_ALL_SYSTEMS = 0xe0000001;
/** The all-routers group 224.0.0.2, where leaves go. */
export const IGMP_ALL_ROUTERS = 0xe0000002;

/** IGMP message types (IANA); unknown numbers are kept as numbers. */
export const IgmpType = {
  MEMBERSHIP_QUERY: 0x11,
  REPORT_V1: 0x12,
  REPORT_V2: 0x16,
  LEAVE_GROUP: 0x17,
  REPORT_V3: 0x22,
} as const;

/** Byte offsets of the IGMP fields. */
export const IgmpField = { TYPE: 0, MAX_RESP: 1, CHECKSUM: 2, GROUP: 4, V3_EXTRA: 8 } as const;

/** An IGMP message as a plain record; byte fields are zero-copy on parse. */
export type IgmpRepr =
  /**
   * A membership query; `group` 0 is a general query. `maxResp` is the raw Max Resp Code
   * (see {@link igmpMaxResponseMs}); `v3` holds the IGMPv3 bytes after the group (empty for v1/v2).
   */
  | { kind: "query"; maxResp: number; group: number; v3: Uint8Array }
  | { kind: "report-v1"; group: number }
  | { kind: "report-v2"; group: number }
  | { kind: "leave"; group: number }
  /** Any other type (an IGMPv3 report among them): `rest` is everything after the checksum. */
  | { kind: "other"; type: number; code: number; rest: Uint8Array };

const F = IgmpField;
const T = IgmpType;
const EMPTY = new Uint8Array(0);

/**
 * The maximum response delay of a query in milliseconds: 10 s for a v1 query (code 0), code ×
 * 100 ms for v2, and the RFC 3376 §4.1.1 floating-point form for v3 codes of 128 and above.
 */
export function igmpMaxResponseMs(query: { maxResp: number; v3: Uint8Array }): number {
  const code = query.maxResp;
  if (code === 0) return 10_000;
  if (query.v3.length === 0 || code < 128) return code * 100;
  const mant = code & 0x0f;
  const exp = (code >>> 4) & 0x07;
  return ((mant | 0x10) << (exp + 3)) * 100;
}

let _unchecked = false;

/** Checked view of an IGMP message: the constructor checks the 8 bytes are present. */
export class IgmpPacket {
  /** The whole message. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated" when shorter than 8 bytes. */
  constructor(bytes: Uint8Array) {
    if (!_unchecked && bytes.length < IGMP_LEN) {
      throw new WireError("igmp", "truncated", `${bytes.length} bytes`);
    }
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): IgmpPacket {
    _unchecked = true;
    try {
      return new IgmpPacket(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Message type, see {@link IgmpType}. */
  get type(): number {
    return this.bytes[F.TYPE];
  }
  set type(v: number) {
    this.bytes[F.TYPE] = v;
  }
  /** Max Resp Code (tenths of a second for v2). */
  get maxResp(): number {
    return this.bytes[F.MAX_RESP];
  }
  set maxResp(v: number) {
    this.bytes[F.MAX_RESP] = v;
  }
  /** Checksum field. */
  get checksum(): number {
    return u16(this.bytes, F.CHECKSUM);
  }
  /** Group address. */
  get group(): number {
    return u32(this.bytes, F.GROUP);
  }
  set group(v: number) {
    put32(this.bytes, F.GROUP, v);
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
 * Parse an IGMP message (the whole IPv4 payload); the checksum is always verified. A query of 9
 * to 11 bytes is neither v2 nor v3 and is refused (RFC 3376 §7.1).
 * Throws WireError "truncated", "bad-checksum" or "bad-length".
 */
export function parseIgmp(bytes: Uint8Array): IgmpRepr {
  if (bytes.length < IGMP_LEN) throw new WireError("igmp", "truncated", `${bytes.length} bytes`);
  if (!verifies(bytes)) throw new WireError("igmp", "bad-checksum");
  const type = bytes[F.TYPE];
  const group = u32(bytes, F.GROUP);
  switch (type) {
    case T.MEMBERSHIP_QUERY:
      if (bytes.length > IGMP_LEN && bytes.length < IGMPV3_QUERY_MIN_LEN) {
        throw new WireError("igmp", "bad-length", `query of ${bytes.length} bytes`);
      }
      return {
        kind: "query",
        maxResp: bytes[F.MAX_RESP],
        group,
        v3: bytes.length === IGMP_LEN ? EMPTY : bytes.subarray(F.V3_EXTRA),
      };
    case T.REPORT_V1:
      return { kind: "report-v1", group };
    case T.REPORT_V2:
      return { kind: "report-v2", group };
    case T.LEAVE_GROUP:
      return { kind: "leave", group };
    default:
      return { kind: "other", type, code: bytes[F.MAX_RESP], rest: bytes.subarray(F.GROUP) };
  }
}

/** Message length for `repr`. */
export function igmpLength(repr: IgmpRepr): number {
  switch (repr.kind) {
    case "query":
      return IGMP_LEN + repr.v3.length;
    case "report-v1":
    case "report-v2":
    case "leave":
      return IGMP_LEN;
    case "other":
      return 4 + repr.rest.length;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown IGMP message ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Write `repr` into `buf` at offset 0 with its checksum; returns the bytes written.
 * Throws RangeError when `buf` is too small.
 */
export function emitIgmp(repr: IgmpRepr, buf: Uint8Array): number {
  const total = igmpLength(repr);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  put16(buf, F.CHECKSUM, 0);
  switch (repr.kind) {
    case "query":
      buf[F.TYPE] = T.MEMBERSHIP_QUERY;
      buf[F.MAX_RESP] = repr.maxResp;
      put32(buf, F.GROUP, repr.group);
      buf.set(repr.v3, F.V3_EXTRA);
      break;
    case "report-v1":
    case "report-v2":
    case "leave":
      buf[F.TYPE] = repr.kind === "report-v1"
        ? T.REPORT_V1
        : repr.kind === "report-v2"
        ? T.REPORT_V2
        : T.LEAVE_GROUP;
      buf[F.MAX_RESP] = 0;
      put32(buf, F.GROUP, repr.group);
      break;
    case "other":
      buf[F.TYPE] = repr.type;
      buf[F.MAX_RESP] = repr.code;
      buf.set(repr.rest, F.GROUP);
      break;
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown IGMP message ${JSON.stringify(never)}`);
    }
  }
  put16(buf, F.CHECKSUM, checksum(buf.subarray(0, total)));
  return total;
}

/** Encode `repr` into a new buffer of exactly `igmpLength(repr)` bytes, checksum filled in. */
export function encodeIgmp(repr: IgmpRepr): Uint8Array {
  const buf = new Uint8Array(igmpLength(repr));
  emitIgmp(repr, buf);
  return buf;
}
