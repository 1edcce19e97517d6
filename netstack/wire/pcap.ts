/**
 * Classic libpcap capture files (the format tcpdump -w writes; not pcapng).
 *
 * ```text
 * Global header (24 bytes)               Record header (16 bytes), then incl_len bytes
 * +--------------------------------+     +--------------------------------+
 * | magic          (u32)           |     | ts_sec         (u32)           |
 * | version_major  (u16) = 2       |     | ts_frac        (u32) us or ns  |
 * | version_minor  (u16) = 4       |     | incl_len       (u32) captured  |
 * | thiszone       (i32) = 0       |     | orig_len       (u32) on wire   |
 * | sigfigs        (u32) = 0       |     +--------------------------------+
 * | snaplen        (u32)           |
 * | linktype       (u32)           |
 * +--------------------------------+
 * ```
 *
 * The magic 0xa1b2c3d4 means microsecond timestamps, 0xa1b23c4d nanosecond ones; read in the
 * writer's byte order, which the reader detects from the magic. Pure: works on `Uint8Array`s,
 * never touches files.
 */
import { WireError } from "./errors.ts";

/** LINKTYPE_ETHERNET: records are Ethernet II frames without FCS. */
export const LINKTYPE_ETHERNET = 1;
/** Magic number of a microsecond-resolution file. */
export const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
/** Magic number of a nanosecond-resolution file. */
export const PCAP_MAGIC_NANO = 0xa1b23c4d;
/** Length of the global file header. */
export const PCAP_HEADER_LEN = 24;
/** Length of each record header. */
export const PCAP_RECORD_HEADER_LEN = 16;
/** Snapshot length used when none is given (tcpdump's default). */
export const PCAP_DEFAULT_SNAPLEN = 262144;

const HEADER = {
  magic: 0,
  versionMajor: 4,
  versionMinor: 6,
  thiszone: 8,
  sigfigs: 12,
  snaplen: 16,
  linktype: 20,
} as const;

const RECORD = { tsSec: 0, tsFrac: 4, inclLen: 8, origLen: 12 } as const;

/** Timestamp resolution of a capture file. */
export type PcapPrecision = "micro" | "nano";

/** The global header of a capture file, as read. */
export interface PcapHeader {
  /** Timestamp resolution, from the magic number. */
  precision: PcapPrecision;
  /** True when the file was written little-endian. */
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  /** Largest number of bytes kept per packet. */
  snaplen: number;
  /** Link-layer header type, e.g. {@link LINKTYPE_ETHERNET}. */
  linktype: number;
}

/** One captured packet. */
export interface PcapRecord {
  /** Whole seconds since the Unix epoch. */
  seconds: number;
  /** Nanoseconds within the second (0..999,999,999); multiples of 1000 in microsecond files. */
  nanoseconds: number;
  /** The captured bytes (possibly fewer than were on the wire). */
  data: Uint8Array;
  /** Length of the packet on the wire; at least `data.length`. */
  originalLength: number;
}

/** A whole capture file. */
export interface PcapFile {
  header: PcapHeader;
  records: PcapRecord[];
}

/** Options for {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** Timestamp resolution. Default "micro". */
  precision?: PcapPrecision;
  /** Bytes kept per packet; longer packets are cut. Default {@link PCAP_DEFAULT_SNAPLEN}. */
  snaplen?: number;
  /** Link-layer header type. Default {@link LINKTYPE_ETHERNET}. */
  linktype?: number;
  /** Byte order of the file. Default true (little-endian, what x86 tcpdump writes). */
  littleEndian?: boolean;
  /** When given, every chunk (header, then each record) goes here and nothing is kept. */
  sink?: (chunk: Uint8Array) => void;
}

/** A timestamp given to {@link PcapWriter.write}: milliseconds, or exact seconds + nanoseconds. */
export type PcapTime = number | { seconds: number; nanoseconds: number };

/**
 * Writes a capture file record by record, either accumulating it (read with `bytes()`) or
 * streaming each chunk to a sink.
 *
 * @example
 * ```ts
 * const w = new PcapWriter();
 * w.write(frame, 1000.5); // 1.0005 s after the epoch
 * await Deno.writeFile("out.pcap", w.bytes());
 * ```
 */
export class PcapWriter {
  /** Timestamp resolution of this file. */
  readonly precision: PcapPrecision;
  /** Bytes kept per packet. */
  readonly snaplen: number;
  readonly #littleEndian: boolean;
  readonly #sink: (chunk: Uint8Array) => void;
  readonly #chunks: Uint8Array[] = [];
  readonly #streaming: boolean;

  constructor(options: PcapWriterOptions = {}) {
    this.precision = options.precision ?? "micro";
    this.snaplen = options.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    const linktype = options.linktype ?? LINKTYPE_ETHERNET;
    this.#littleEndian = options.littleEndian ?? true;
    this.#streaming = options.sink !== undefined;
    this.#sink = options.sink ?? ((chunk) => this.#chunks.push(chunk));
    if (!Number.isInteger(this.snaplen) || this.snaplen <= 0 || this.snaplen > 0xffffffff) {
      throw new RangeError(`Cannot write pcap: bad snaplen ${this.snaplen}`);
    }
    const head = new Uint8Array(PCAP_HEADER_LEN);
    const v = new DataView(head.buffer);
    const le = this.#littleEndian;
    v.setUint32(
      HEADER.magic,
      this.precision === "nano" ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO,
      le,
    );
    v.setUint16(HEADER.versionMajor, 2, le);
    v.setUint16(HEADER.versionMinor, 4, le);
    v.setInt32(HEADER.thiszone, 0, le);
    v.setUint32(HEADER.sigfigs, 0, le);
    v.setUint32(HEADER.snaplen, this.snaplen, le);
    v.setUint32(HEADER.linktype, linktype, le);
    this.#sink(head);
  }

  /**
   * Append one packet captured at `time`; bytes past the snaplen are cut and
   * `originalLength` (default `data.length`) records how long it really was.
   */
  write(data: Uint8Array, time: PcapTime, originalLength = data.length): void {
    if (originalLength < data.length || originalLength > 0xffffffff) {
      throw new RangeError(`Cannot write pcap record: bad original length ${originalLength}`);
    }
    const { seconds, nanoseconds } = splitTime(time);
    const kept = Math.min(data.length, this.snaplen);
    const rec = new Uint8Array(PCAP_RECORD_HEADER_LEN + kept);
    const v = new DataView(rec.buffer);
    const le = this.#littleEndian;
    const frac = this.precision === "nano" ? nanoseconds : Math.floor(nanoseconds / 1000);
    v.setUint32(RECORD.tsSec, seconds, le);
    v.setUint32(RECORD.tsFrac, frac, le);
    v.setUint32(RECORD.inclLen, kept, le);
    v.setUint32(RECORD.origLen, originalLength, le);
    rec.set(data.subarray(0, kept), PCAP_RECORD_HEADER_LEN);
    this.#sink(rec);
  }

  /** The whole file so far (header and records). Empty when writing to a sink. */
  bytes(): Uint8Array {
    if (this.#streaming) return new Uint8Array(0);
    let len = 0;
    for (const c of this.#chunks) len += c.length;
    const out = new Uint8Array(len);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }
}

function splitTime(time: PcapTime): { seconds: number; nanoseconds: number } {
  let seconds: number;
  let nanoseconds: number;
  if (typeof time === "number") {
    seconds = Math.floor(time / 1000);
    nanoseconds = Math.round((time - seconds * 1000) * 1e6);
    if (nanoseconds >= 1e9) {
      seconds += 1;
      nanoseconds -= 1e9;
    }
  } else {
    ({ seconds, nanoseconds } = time);
  }
  if (
    !Number.isInteger(seconds) || seconds < 0 || seconds > 0xffffffff ||
    !Number.isInteger(nanoseconds) || nanoseconds < 0 || nanoseconds >= 1e9
  ) {
    throw new RangeError(`Cannot write pcap record: bad timestamp ${JSON.stringify(time)}`);
  }
  return { seconds, nanoseconds };
}

/** Milliseconds since the epoch of a record's timestamp (as a float; ns precision may round). */
export function recordTimeMs(record: PcapRecord): number {
  return record.seconds * 1000 + record.nanoseconds / 1e6;
}

/** Parse a capture file's global header; throws {@link WireError} on a short or unknown one. */
export function parsePcapHeader(bytes: Uint8Array): PcapHeader {
  if (bytes.length < PCAP_HEADER_LEN) {
    throw new WireError("pcap", "truncated", `file header needs ${PCAP_HEADER_LEN} bytes`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, PCAP_HEADER_LEN);
  let littleEndian: boolean;
  let precision: PcapPrecision;
  const le = v.getUint32(HEADER.magic, true);
  const be = v.getUint32(HEADER.magic, false);
  if (le === PCAP_MAGIC_MICRO || le === PCAP_MAGIC_NANO) {
    littleEndian = true;
    precision = le === PCAP_MAGIC_NANO ? "nano" : "micro";
  } else if (be === PCAP_MAGIC_MICRO || be === PCAP_MAGIC_NANO) {
    littleEndian = false;
    precision = be === PCAP_MAGIC_NANO ? "nano" : "micro";
  } else {
    throw new WireError("pcap", "unsupported", `magic 0x${be.toString(16)} (pcapng?)`);
  }
  const versionMajor = v.getUint16(HEADER.versionMajor, littleEndian);
  const versionMinor = v.getUint16(HEADER.versionMinor, littleEndian);
  if (versionMajor !== 2) {
    throw new WireError("pcap", "bad-version", `version ${versionMajor}.${versionMinor}`);
  }
  return {
    precision,
    littleEndian,
    versionMajor,
    versionMinor,
    snaplen: v.getUint32(HEADER.snaplen, littleEndian),
    linktype: v.getUint32(HEADER.linktype, littleEndian),
  };
}

/**
 * Iterate over the records of a capture file. Throws {@link WireError} on a truncated record,
 * a captured length above the original length, or one above the file's snaplen. The records'
 * `data` are views into `bytes`, not copies.
 */
export function* pcapRecords(bytes: Uint8Array): Generator<PcapRecord> {
  const header = parsePcapHeader(bytes);
  const le = header.littleEndian;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = PCAP_HEADER_LEN;
  let index = 0;
  while (off < bytes.length) {
    if (bytes.length - off < PCAP_RECORD_HEADER_LEN) {
      throw new WireError("pcap", "truncated", `record ${index} header at offset ${off}`);
    }
    const seconds = v.getUint32(off + RECORD.tsSec, le);
    const frac = v.getUint32(off + RECORD.tsFrac, le);
    const inclLen = v.getUint32(off + RECORD.inclLen, le);
    const originalLength = v.getUint32(off + RECORD.origLen, le);
    const limit = header.precision === "nano" ? 1e9 : 1e6;
    if (frac >= limit) {
      throw new WireError("pcap", "malformed", `record ${index} fraction ${frac}`);
    }
    if (inclLen > originalLength) {
      throw new WireError(
        "pcap",
        "bad-length",
        `record ${index} captured ${inclLen} > original ${originalLength}`,
      );
    }
    if (header.snaplen !== 0 && inclLen > header.snaplen) {
      throw new WireError(
        "pcap",
        "bad-length",
        `record ${index} captured ${inclLen} > snaplen ${header.snaplen}`,
      );
    }
    const start = off + PCAP_RECORD_HEADER_LEN;
    if (bytes.length - start < inclLen) {
      throw new WireError("pcap", "truncated", `record ${index} data needs ${inclLen} bytes`);
    }
    yield {
      seconds,
      nanoseconds: header.precision === "nano" ? frac : frac * 1000,
      data: bytes.subarray(start, start + inclLen),
      originalLength,
    };
    off = start + inclLen;
    index++;
  }
}

/** Parse a whole capture file; see {@link pcapRecords} for what is refused. */
export function readPcap(bytes: Uint8Array): PcapFile {
  return { header: parsePcapHeader(bytes), records: [...pcapRecords(bytes)] };
}
