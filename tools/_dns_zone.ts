/**
 * dnsd's answers, as a pure function from a query to a reply: an authoritative server for one
 * zone (RFC 1034 §4.3.2, RFC 1035 §4.1), with negative answers carrying the zone's SOA
 * (RFC 2308 §3), and no recursion (RA clear; names outside the zone are REFUSED). Reverse
 * names (in-addr.arpa, ip6.arpa) of the zone's own addresses get PTR answers.
 */
import {
  CLASS_IN,
  DNS_HEADER_LEN,
  DNS_UDP_MAX,
  DnsFlag,
  type DnsMessage,
  type DnsRecord,
  DnsType,
  emitDns,
  parseDns,
  parseDnsHeader,
  Rcode,
} from "../netstack/wire/dns.ts";
import { sameName } from "../netstack/wire/dns_name.ts";
import { WireError } from "../netstack/wire/errors.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../netstack/wire/addr.ts";

/** The TTL of every record served. */
export const ZONE_TTL = 60;

/** A zone: its origin and each host (relative name, lower case) with its addresses. */
export interface Zone {
  origin: string;
  hosts: Map<string, string[]>;
  /** The name of the server itself, for the SOA's MNAME. */
  server: string;
}

/** What dnsd logs for one query. */
export interface Served {
  reply: Uint8Array | null;
  /** "A beta.lab NOERROR", or why nothing was sent. */
  summary: string;
}

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
const TYPE_NAMES = new Map<number, string>(Object.entries(DnsType).map(([k, v]) => [v, k]));

function soa(z: Zone): DnsRecord {
  return {
    name: z.origin,
    type: DnsType.SOA,
    class: CLASS_IN,
    ttl: ZONE_TTL,
    soa: {
      mname: `${z.server}.${z.origin}`,
      rname: `hostmaster.${z.origin}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: ZONE_TTL,
    },
  };
}

/** The address a reverse name stands for, or undefined. */
function reverseAddr(name: string): string | undefined {
  const lower = name.toLowerCase();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(lower);
  if (v4) {
    const a = parseIPv4(`${v4[4]}.${v4[3]}.${v4[2]}.${v4[1]}`);
    return a === undefined ? undefined : formatIPv4(a);
  }
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(lower);
  if (!v6) return undefined;
  const hex = v6[1].split(".").slice(0, 32).reverse().join("");
  const a = parseIPv6(hex.match(/.{4}/g)!.join(":"));
  return a ? formatIPv6(a) : undefined;
}

/** The relative host name of `name` in the zone ("" for the apex), or undefined outside it. */
function inZone(name: string, origin: string): string | undefined {
  if (sameName(name, origin)) return "";
  const suffix = `.${origin}`;
  if (name.length > suffix.length && sameName(name.slice(-suffix.length), suffix)) {
    return name.slice(0, -suffix.length).toLowerCase();
  }
  return undefined;
}

/** The reply to one query `bytes` (null: send nothing), for UDP (`maxLen` 512) or TCP. */
export function serveQuery(z: Zone, bytes: Uint8Array, maxLen = DNS_UDP_MAX): Served {
  let h;
  try {
    h = parseDnsHeader(bytes);
  } catch {
    return { reply: null, summary: "dropped: shorter than a header" };
  }
  if (h.flags & DnsFlag.QR) return { reply: null, summary: "dropped: a response" };
  const reply = (rcode: number, q: DnsMessage["questions"], rest: Partial<DnsMessage> = {}) => ({
    id: h.id,
    flags: DnsFlag.QR | (h.flags & DnsFlag.RD) | (rest.flags ?? 0),
    opcode: h.opcode,
    rcode,
    questions: q,
    answers: rest.answers ?? [],
    authority: rest.authority ?? [],
    additional: [],
  });
  let q: DnsMessage;
  try {
    q = parseDns(bytes);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return { reply: emitDns(reply(Rcode.FORMERR, [])), summary: `FORMERR (${err.message})` };
  }
  if (h.opcode !== 0) {
    return {
      reply: emitDns(reply(Rcode.NOTIMP, q.questions)),
      summary: `NOTIMP opcode ${h.opcode}`,
    };
  }
  if (q.questions.length !== 1) {
    return {
      reply: emitDns(reply(Rcode.FORMERR, [])),
      summary: `FORMERR ${q.questions.length} questions`,
    };
  }
  const question = q.questions[0];
  const what = `${TYPE_NAMES.get(question.type) ?? question.type} ${question.name}`;
  const done = (m: DnsMessage): Served => {
    let out = emitDns(m);
    if (out.length > maxLen) {
      // RFC 2181 §9: set TC and send what fits; a header and the question always do.
      out = emitDns({ ...m, flags: m.flags | DnsFlag.TC, answers: [], authority: [] });
    }
    const tc = out.length > DNS_HEADER_LEN && (out[2] & 0x02) ? " TC" : "";
    return { reply: out, summary: `${what} ${RCODE_NAMES[m.rcode] ?? m.rcode}${tc}` };
  };
  if (question.class !== CLASS_IN) return done(reply(Rcode.REFUSED, q.questions));
  const aa = DnsFlag.AA;
  const rev = reverseAddr(question.name);
  if (rev !== undefined) {
    const owner = [...z.hosts].find(([, addrs]) => addrs.includes(rev))?.[0];
    if (owner === undefined) return done(reply(Rcode.REFUSED, q.questions));
    const ptr: DnsRecord = {
      name: question.name,
      type: DnsType.PTR,
      class: CLASS_IN,
      ttl: ZONE_TTL,
      target: `${owner}.${z.origin}`,
    };
    const ok = question.type === DnsType.PTR || question.type === DnsType.ANY;
    return done(reply(Rcode.NOERROR, q.questions, { flags: aa, answers: ok ? [ptr] : [] }));
  }
  const rel = inZone(question.name, z.origin);
  // Not ours, and we do not recurse.
  if (rel === undefined) return done(reply(Rcode.REFUSED, q.questions));
  const negative = { flags: aa, authority: [soa(z)] };
  if (rel === "") {
    const want = question.type === DnsType.SOA || question.type === DnsType.ANY;
    return done(
      reply(Rcode.NOERROR, q.questions, want ? { flags: aa, answers: [soa(z)] } : negative),
    );
  }
  const addrs = z.hosts.get(rel);
  if (!addrs) return done(reply(Rcode.NXDOMAIN, q.questions, negative));
  const answers: DnsRecord[] = addrs
    .filter((a) => {
      const v4 = parseIPv4(a) !== undefined;
      return question.type === DnsType.ANY || question.type === (v4 ? DnsType.A : DnsType.AAAA);
    })
    .map((addr) => ({
      name: question.name,
      type: parseIPv4(addr) !== undefined ? DnsType.A : DnsType.AAAA,
      class: CLASS_IN,
      ttl: ZONE_TTL,
      addr,
    }));
  return done(
    reply(Rcode.NOERROR, q.questions, answers.length ? { flags: aa, answers } : negative),
  );
}
