/**
 * Multicast Listener Discovery: MLDv1 (RFC 2710) and MLDv2 (RFC 3810), carried in ICMPv6.
 *
 * ```text
 * Query (130), MLDv1 Report (131), MLDv1 Done (132):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Maximum Response Code      |           Reserved            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Multicast Address (16 bytes)                 |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Resv  |S| QRV |     QQIC      |     Number of Sources (N)     |  ← MLDv2 query only
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Source Address [1..N] (16 bytes each)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * MLDv2 Listener Report (143):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Type = 143   |    Reserved   |           Checksum            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Reserved            |Nr of Mcast Address Records (M)|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Record Type  |  Aux Data Len |     Number of Sources (N)     |  ← each record
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Multicast Address (16), Source Address [1..N] (16 each), Aux Data (4 × Aux Data Len) |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * A query of 24 bytes is MLDv1, of 28 or more MLDv2; other lengths are malformed (RFC 3810 §8.1).
 */

import { checksum, pseudoHeaderSum6, verifies } from "./checksum.ts";
import { WireError } from "./errors.ts";
import type { Ipv6AddressPair } from "./ipv6.ts";
import { put16, u16 } from "./_bytes.ts";

/** MLD ICMPv6 message types. */
export const MldType = { QUERY: 130, REPORT_V1: 131, DONE: 132, REPORT_V2: 143 } as const;

/** MLDv2 multicast address record types (RFC 3810 §5.2.12). */
export const MldRecordType = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE: 3,
  CHANGE_TO_EXCLUDE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

/** Length of an MLDv1 message (and of an MLDv1 query). */
export const MLD_V1_LEN = 24;
/** Minimum length of an MLDv2 query (no sources). */
export const MLD_V2_QUERY_LEN = 28;
/** Length of the MLDv2 report header before the records. */
export const MLD_V2_REPORT_HEADER_LEN = 8;
/** Length of an address record before its sources. */
export const MLD_RECORD_HEADER_LEN = 20;

/** Byte offsets inside MLD messages. */
export const MldField = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  MAX_RESPONSE: 4,
  MULTICAST_ADDRESS: 8,
  QUERY_FLAGS: 24,
  QQIC: 25,
  QUERY_SOURCE_COUNT: 26,
  QUERY_SOURCES: 28,
  REPORT_RECORD_COUNT: 6,
  REPORT_RECORDS: 8,
} as const;

/** Byte offsets inside an MLDv2 address record. */
export const MldRecordField = {
  TYPE: 0,
  AUX_LEN: 1,
  SOURCE_COUNT: 2,
  MULTICAST_ADDRESS: 4,
  SOURCES: 20,
} as const;

/** One multicast address record of an MLDv2 report. */
export interface MldAddressRecord {
  /** Record type, see {@link MldRecordType}; unknown numbers are kept. */
  recordType: number;
  multicastAddress: Uint8Array;
  sources: Uint8Array[];
  /** Auxiliary data (a multiple of 4 bytes, normally empty). */
  auxData: Uint8Array;
}

/** MLDv2-only fields of a query. */
export interface MldV2QueryFields {
  /** S flag: suppress router-side processing. */
  suppressRouterSide: boolean;
  /** Querier's Robustness Variable (0..7). */
  qrv: number;
  /** Raw Querier's Query Interval Code; see {@link mldQqicSeconds}. */
  qqic: number;
  sources: Uint8Array[];
}

/** An MLD message as a plain record. */
export type MldRepr =
  | {
    kind: "query";
    /** Raw Maximum Response Code; see {@link mldMaxResponseDelay}. */
    maxResponseCode: number;
    /** Unspecified (::) for a general query. */
    multicastAddress: Uint8Array;
    /** Present for an MLDv2 query, absent for MLDv1. */
    v2?: MldV2QueryFields;
  }
  | { kind: "report-v1"; multicastAddress: Uint8Array }
  | { kind: "done"; multicastAddress: Uint8Array }
  | { kind: "report-v2"; records: MldAddressRecord[] };

const F = MldField;
const R = MldRecordField;

/**
 * The Maximum Response Delay in milliseconds for a query's Maximum Response Code: the code
 * itself for MLDv1 (`v2` false) and below 32768, else the RFC 3810 §5.1.3 floating-point form.
 */
export function mldMaxResponseDelay(code: number, v2: boolean): number {
  if (!v2 || code < 0x8000) return code;
  return ((code & 0x0fff) | 0x1000) * 2 ** (((code >>> 12) & 7) + 3);
}

/** The Querier's Query Interval in seconds for a QQIC value (RFC 3810 §5.1.9). */
export function mldQqicSeconds(qqic: number): number {
  if (qqic < 0x80) return qqic;
  return ((qqic & 0x0f) | 0x10) << (((qqic >>> 4) & 7) + 3);
}

function fail(reason: "truncated" | "malformed" | "unsupported" | "bad-checksum", d?: string) {
  return new WireError("mld", reason, d);
}

function checkMld(bytes: Uint8Array): void {
  if (bytes.length < 4) throw fail("truncated", `${bytes.length} bytes`);
  const type = bytes[0];
  switch (type) {
    case MldType.QUERY: {
      const n = bytes.length;
      if (n < MLD_V1_LEN) throw fail("truncated", `query of ${n} bytes`);
      if (n === MLD_V1_LEN) return;
      if (n < MLD_V2_QUERY_LEN) throw fail("malformed", `query of ${n} bytes`);
      const need = MLD_V2_QUERY_LEN + 16 * u16(bytes, F.QUERY_SOURCE_COUNT);
      if (n < need) throw fail("truncated", `query needs ${need} bytes, has ${n}`);
      return;
    }
    case MldType.REPORT_V1:
    case MldType.DONE:
      if (bytes.length < MLD_V1_LEN) throw fail("truncated", `${bytes.length} bytes`);
      return;
    case MldType.REPORT_V2: {
      if (bytes.length < MLD_V2_REPORT_HEADER_LEN) throw fail("truncated", `${bytes.length}`);
      let i = MLD_V2_REPORT_HEADER_LEN;
      const m = u16(bytes, F.REPORT_RECORD_COUNT);
      for (let r = 0; r < m; r++) {
        if (i + MLD_RECORD_HEADER_LEN > bytes.length) throw fail("truncated", `record ${r}`);
        i += MLD_RECORD_HEADER_LEN + 16 * u16(bytes, i + R.SOURCE_COUNT) + 4 * bytes[i + R.AUX_LEN];
        if (i > bytes.length) throw fail("truncated", `record ${r}`);
      }
      return;
    }
    default:
      throw fail("unsupported", `type ${type}`);
  }
}

let _unchecked = false;

/**
 * Checked view of an MLD message: the constructor checks the type and that every length field
 * (sources, records) fits; afterwards no accessor reads out of bounds.
 */
export class MldPacket {
  /** The whole ICMPv6 message. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated", "malformed" or "unsupported". */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkMld(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): MldPacket {
    _unchecked = true;
    try {
      return new MldPacket(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** ICMPv6 type (130, 131, 132 or 143). */
  get type(): number {
    return this.bytes[F.TYPE];
  }
  set type(v: number) {
    this.bytes[F.TYPE] = v;
  }
  /** True for an MLDv2 query (28 bytes or more). */
  get isV2Query(): boolean {
    return this.type === MldType.QUERY && this.bytes.length >= MLD_V2_QUERY_LEN;
  }
  /** Query/v1 Maximum Response Code. */
  get maxResponseCode(): number {
    return u16(this.bytes, F.MAX_RESPONSE);
  }
  set maxResponseCode(v: number) {
    put16(this.bytes, F.MAX_RESPONSE, v);
  }
  /** Query/v1 Multicast Address (zero-copy; empty for a v2 report). */
  get multicastAddress(): Uint8Array {
    return this.type === MldType.REPORT_V2
      ? new Uint8Array(0)
      : this.bytes.subarray(F.MULTICAST_ADDRESS, F.MULTICAST_ADDRESS + 16);
  }
  /** MLDv2 report: number of address records. */
  get recordCount(): number {
    return this.type === MldType.REPORT_V2 ? u16(this.bytes, F.REPORT_RECORD_COUNT) : 0;
  }
}

function readSources(b: Uint8Array, at: number, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let s = 0; s < n; s++) out.push(b.slice(at + 16 * s, at + 16 * s + 16));
  return out;
}

/**
 * Parse an MLD message (a whole ICMPv6 message). When `addrs` is given the ICMPv6 checksum is
 * verified too; parseIcmpv6 always verifies it. Throws WireError "truncated", "malformed"
 * (query of 25..27 bytes), "unsupported" (not an MLD type) or "bad-checksum".
 */
export function parseMld(bytes: Uint8Array, addrs?: Ipv6AddressPair): MldRepr {
  checkMld(bytes);
  if (addrs && !verifies(bytes, pseudoHeaderSum6(addrs.src, addrs.dst, 58, bytes.length))) {
    throw fail("bad-checksum");
  }
  const maddr = () => bytes.slice(F.MULTICAST_ADDRESS, F.MULTICAST_ADDRESS + 16);
  switch (bytes[0]) {
    case MldType.QUERY: {
      const q: MldRepr = {
        kind: "query",
        maxResponseCode: u16(bytes, F.MAX_RESPONSE),
        multicastAddress: maddr(),
      };
      if (bytes.length >= MLD_V2_QUERY_LEN) {
        q.v2 = {
          suppressRouterSide: (bytes[F.QUERY_FLAGS] & 0x08) !== 0,
          qrv: bytes[F.QUERY_FLAGS] & 0x07,
          qqic: bytes[F.QQIC],
          sources: readSources(bytes, F.QUERY_SOURCES, u16(bytes, F.QUERY_SOURCE_COUNT)),
        };
      }
      return q;
    }
    case MldType.REPORT_V1:
      return { kind: "report-v1", multicastAddress: maddr() };
    case MldType.DONE:
      return { kind: "done", multicastAddress: maddr() };
    case MldType.REPORT_V2: {
      const records: MldAddressRecord[] = [];
      let i = MLD_V2_REPORT_HEADER_LEN;
      const m = u16(bytes, F.REPORT_RECORD_COUNT);
      for (let r = 0; r < m; r++) {
        const n = u16(bytes, i + R.SOURCE_COUNT);
        const aux = 4 * bytes[i + R.AUX_LEN];
        const srcAt = i + R.SOURCES;
        records.push({
          recordType: bytes[i + R.TYPE],
          multicastAddress: bytes.slice(i + R.MULTICAST_ADDRESS, i + R.MULTICAST_ADDRESS + 16),
          sources: readSources(bytes, srcAt, n),
          auxData: bytes.subarray(srcAt + 16 * n, srcAt + 16 * n + aux),
        });
        i = srcAt + 16 * n + aux;
      }
      return { kind: "report-v2", records };
    }
    default:
      // Unreachable: checkMld admits only the four MLD types.
      throw fail("unsupported", `type ${bytes[0]}`);
  }
}

/** Total ICMPv6 message length for `repr`. */
export function mldLength(repr: MldRepr): number {
  switch (repr.kind) {
    case "query":
      return repr.v2 ? MLD_V2_QUERY_LEN + 16 * repr.v2.sources.length : MLD_V1_LEN;
    case "report-v1":
    case "done":
      return MLD_V1_LEN;
    case "report-v2": {
      let n = MLD_V2_REPORT_HEADER_LEN;
      for (const r of repr.records) {
        n += MLD_RECORD_HEADER_LEN + 16 * r.sources.length + ((r.auxData.length + 3) & ~3);
      }
      return n;
    }
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown MLD message ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Write `repr` as a complete ICMPv6 message (checksum over the pseudo-header of `addrs`) into
 * `buf` at offset 0; returns bytes written. Throws RangeError when `buf` is too small.
 */
export function emitMld(repr: MldRepr, buf: Uint8Array, addrs: Ipv6AddressPair): number {
  const total = mldLength(repr);
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  buf.fill(0, 0, total);
  switch (repr.kind) {
    case "query":
      buf[F.TYPE] = MldType.QUERY;
      put16(buf, F.MAX_RESPONSE, repr.maxResponseCode);
      buf.set(repr.multicastAddress.subarray(0, 16), F.MULTICAST_ADDRESS);
      if (repr.v2) {
        buf[F.QUERY_FLAGS] = (repr.v2.suppressRouterSide ? 0x08 : 0) | (repr.v2.qrv & 7);
        buf[F.QQIC] = repr.v2.qqic;
        put16(buf, F.QUERY_SOURCE_COUNT, repr.v2.sources.length);
        repr.v2.sources.forEach((s, k) => buf.set(s.subarray(0, 16), F.QUERY_SOURCES + 16 * k));
      }
      break;
    case "report-v1":
    case "done":
      buf[F.TYPE] = repr.kind === "done" ? MldType.DONE : MldType.REPORT_V1;
      buf.set(repr.multicastAddress.subarray(0, 16), F.MULTICAST_ADDRESS);
      break;
    case "report-v2": {
      buf[F.TYPE] = MldType.REPORT_V2;
      put16(buf, F.REPORT_RECORD_COUNT, repr.records.length);
      let i = MLD_V2_REPORT_HEADER_LEN;
      for (const r of repr.records) {
        buf[i + R.TYPE] = r.recordType;
        buf[i + R.AUX_LEN] = (r.auxData.length + 3) >>> 2;
        put16(buf, i + R.SOURCE_COUNT, r.sources.length);
        buf.set(r.multicastAddress.subarray(0, 16), i + R.MULTICAST_ADDRESS);
        i += R.SOURCES;
        for (const s of r.sources) {
          buf.set(s.subarray(0, 16), i);
          i += 16;
        }
        buf.set(r.auxData, i);
        i += (r.auxData.length + 3) & ~3;
      }
      break;
    }
    default: {
      const never: never = repr;
      throw new TypeError(`Unknown MLD message ${JSON.stringify(never)}`);
    }
  }
  const sum = pseudoHeaderSum6(addrs.src, addrs.dst, 58, total);
  put16(buf, F.CHECKSUM, checksum(buf.subarray(0, total), sum));
  return total;
}

/** Encode `repr` into a new buffer of exactly `mldLength(repr)` bytes, checksum filled in. */
export function encodeMld(repr: MldRepr, addrs: Ipv6AddressPair): Uint8Array {
  const buf = new Uint8Array(mldLength(repr));
  emitMld(repr, buf, addrs);
  return buf;
}
