/**
 * DNS messages (RFC 1035 §4.1; AAAA from RFC 3596): header, questions and resource records.
 *
 * ```text
 *  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |          QDCOUNT / ANCOUNT / NSCOUNT / ARCOUNT |   four 16-bit counts
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * | Question: QNAME, QTYPE, QCLASS                 |
 * | Answer, Authority, Additional: resource records|
 * |   NAME, TYPE, CLASS, TTL (32), RDLENGTH, RDATA |
 * ```
 *
 * A, AAAA, CNAME, NS, PTR and SOA data are decoded; any other type keeps its raw RDATA. Counts
 * that promise more records than the bytes hold, RDATA that overruns its record, an A record
 * whose RDATA is not 4 octets, and every name fault of dns_name.ts are {@link WireError}s.
 * Bytes after the last counted record are ignored, as glibc's resolver ignores them.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./addr.ts";
import { WireError } from "./errors.ts";
import { put32, u16, u32 } from "./_bytes.ts";
import { NameWriter, parseName } from "./dns_name.ts";

/** Length of the DNS header. */
export const DNS_HEADER_LEN = 12;
/** Largest DNS message over UDP without EDNS (RFC 1035 §4.2.1). */
export const DNS_UDP_MAX = 512;

/** Byte offsets of the header fields. */
export const DnsField = {
  ID: 0,
  FLAGS: 2,
  QDCOUNT: 4,
  ANCOUNT: 6,
  NSCOUNT: 8,
  ARCOUNT: 10,
} as const;

/** Record types this code decodes (others stay numbers). */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  ANY: 255,
} as const;

/** The Internet class. */
export const CLASS_IN = 1;

/** Response codes (RFC 1035 §4.1.1). */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

/** Flag bits of the second header word. */
export const DnsFlag = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080 } as const;

/** One question. */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** The start-of-authority data (RFC 1035 §3.3.13). */
export interface DnsSoa {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/**
 * One resource record. Exactly one data field is set, by type: `addr` (A, AAAA), `target`
 * (CNAME, NS, PTR), `soa` (SOA), `raw` (anything else, RDATA as is).
 */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  addr?: string;
  target?: string;
  soa?: DnsSoa;
  raw?: Uint8Array;
}

/** A whole message as a plain record. */
export interface DnsMessage {
  id: number;
  /** Header flag word without the opcode and rcode: test with {@link DnsFlag}. */
  flags: number;
  opcode: number;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
}

/** The header alone: enough to see a truncated (TC) answer whose body is cut short. */
export interface DnsHeader {
  id: number;
  flags: number;
  opcode: number;
  rcode: number;
  counts: [number, number, number, number];
}

/** Read the 12-byte header. */
export function parseDnsHeader(bytes: Uint8Array): DnsHeader {
  if (bytes.length < DNS_HEADER_LEN) {
    throw new WireError("dns", "truncated", `${bytes.length} bytes`);
  }
  const word = u16(bytes, DnsField.FLAGS);
  return {
    id: u16(bytes, DnsField.ID),
    flags: word & 0x87f0,
    opcode: (word >> 11) & 0xf,
    rcode: word & 0xf,
    counts: [
      u16(bytes, DnsField.QDCOUNT),
      u16(bytes, DnsField.ANCOUNT),
      u16(bytes, DnsField.NSCOUNT),
      u16(bytes, DnsField.ARCOUNT),
    ],
  };
}

/**
 * The header and the question section alone, and where the answers start: enough to match a
 * truncated (TC) answer, whose records may be cut short, to its query.
 */
export function parseDnsQuestions(
  bytes: Uint8Array,
): { header: DnsHeader; questions: DnsQuestion[]; end: number } {
  const header = parseDnsHeader(bytes);
  let pos = DNS_HEADER_LEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < header.counts[0]; i++) {
    const n = parseName(bytes, pos);
    if (n.end + 4 > bytes.length) throw new WireError("dns", "truncated", `question ${i}`);
    questions.push({ name: n.name, type: u16(bytes, n.end), class: u16(bytes, n.end + 2) });
    pos = n.end + 4;
  }
  return { header, questions, end: pos };
}

/** Parse a whole message; any fault is a {@link WireError}. */
export function parseDns(bytes: Uint8Array): DnsMessage {
  const { header: h, questions, end } = parseDnsQuestions(bytes);
  let pos = end;
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < h.counts[s + 1]; i++) {
      const r = parseRecord(bytes, pos);
      sections[s].push(r.record);
      pos = r.end;
    }
  }
  return {
    id: h.id,
    flags: h.flags,
    opcode: h.opcode,
    rcode: h.rcode,
    questions,
    answers: sections[0],
    authority: sections[1],
    additional: sections[2],
  };
}

function parseRecord(bytes: Uint8Array, at: number): { record: DnsRecord; end: number } {
  const n = parseName(bytes, at);
  const p = n.end;
  if (p + 10 > bytes.length) throw new WireError("dns", "truncated", `record at ${at}`);
  const type = u16(bytes, p);
  const rdlen = u16(bytes, p + 8);
  const start = p + 10;
  const end = start + rdlen;
  if (end > bytes.length) throw new WireError("dns", "truncated", `RDATA of record at ${at}`);
  const record: DnsRecord = {
    name: n.name,
    type,
    class: u16(bytes, p + 2),
    ttl: u32(bytes, p + 4),
  };
  const rdata = bytes.subarray(start, end);
  const exact = (len: number) => {
    if (rdlen !== len) throw new WireError("dns", "bad-length", `type ${type} RDATA of ${rdlen}`);
  };
  // A name inside RDATA must end exactly where the RDATA does.
  const nameIn = (from: number): { name: string; end: number } => {
    const r = parseName(bytes, from);
    if (r.end > end) throw new WireError("dns", "bad-length", `name overruns RDATA at ${at}`);
    return r;
  };
  switch (type) {
    case DnsType.A:
      exact(4);
      record.addr = formatIPv4(u32(rdata, 0));
      break;
    case DnsType.AAAA:
      exact(16);
      record.addr = formatIPv6(rdata);
      break;
    case DnsType.CNAME:
    case DnsType.NS:
    case DnsType.PTR: {
      const t = nameIn(start);
      if (t.end !== end) throw new WireError("dns", "bad-length", `RDATA of record at ${at}`);
      record.target = t.name;
      break;
    }
    case DnsType.SOA: {
      const m = nameIn(start);
      const r = nameIn(m.end);
      if (r.end + 20 !== end) throw new WireError("dns", "bad-length", `SOA at ${at}`);
      const q = r.end;
      record.soa = {
        mname: m.name,
        rname: r.name,
        serial: u32(bytes, q),
        refresh: u32(bytes, q + 4),
        retry: u32(bytes, q + 8),
        expire: u32(bytes, q + 12),
        minimum: u32(bytes, q + 16),
      };
      break;
    }
    default:
      record.raw = rdata.slice();
  }
  return { record, end };
}

/** Options of {@link emitDns}. */
export interface DnsEmitOptions {
  /** Compress names (default true). */
  compress?: boolean;
}

/** Encode a message, compressing names against earlier ones. */
export function emitDns(msg: DnsMessage, opts: DnsEmitOptions = {}): Uint8Array {
  const names = new NameWriter(opts.compress ?? true);
  const out: number[] = [];
  const w16 = (v: number) => out.push((v >>> 8) & 0xff, v & 0xff);
  const w32 = (v: number) => (w16((v >>> 16) & 0xffff), w16(v & 0xffff));
  const name = (n: string, compress?: boolean) =>
    out.push(...names.encode(n, out.length, compress));
  w16(msg.id);
  w16((msg.flags & 0x87f0) | ((msg.opcode & 0xf) << 11) | (msg.rcode & 0xf));
  w16(msg.questions.length);
  w16(msg.answers.length);
  w16(msg.authority.length);
  w16(msg.additional.length);
  for (const q of msg.questions) {
    name(q.name);
    w16(q.type);
    w16(q.class);
  }
  for (const r of [...msg.answers, ...msg.authority, ...msg.additional]) {
    name(r.name);
    w16(r.type);
    w16(r.class);
    w32(r.ttl >>> 0);
    const lenAt = out.length;
    w16(0);
    if (r.addr !== undefined) out.push(...addrBytes(r.addr));
    else if (r.target !== undefined) name(r.target);
    else if (r.soa) {
      name(r.soa.mname);
      name(r.soa.rname);
      for (const v of [r.soa.serial, r.soa.refresh, r.soa.retry, r.soa.expire, r.soa.minimum]) {
        w32(v >>> 0);
      }
    } else if (r.raw) out.push(...r.raw);
    const rdlen = out.length - lenAt - 2;
    if (rdlen > 0xffff) throw new WireError("dns", "bad-length", `RDATA of ${rdlen}`);
    out[lenAt] = rdlen >>> 8;
    out[lenAt + 1] = rdlen & 0xff;
  }
  return Uint8Array.from(out);
}

function addrBytes(text: string): Uint8Array {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) {
    const b = new Uint8Array(4);
    put32(b, 0, v4);
    return b;
  }
  const v6 = parseIPv6(text);
  if (!v6) throw new WireError("dns", "malformed", `not an address: ${text}`);
  return v6;
}

/** A query for `name` of `type` (class IN), recursion desired as stub resolvers ask. */
export function dnsQuery(id: number, name: string, type: number): DnsMessage {
  return {
    id,
    flags: DnsFlag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name, type, class: CLASS_IN }],
    answers: [],
    authority: [],
    additional: [],
  };
}
