/**
 * Judging a datagram that arrived for a query (RFC 5452 §4.1, and what glibc's res_send checks):
 * it must come from the server's address and port, carry the query's ID, be a response, and ask
 * the same question (name without regard to case, type, class). Anything else is ignored and the
 * wait goes on, so a spoofed answer cannot end it. A matching answer is then read: TC asks for
 * TCP, NXDOMAIN ends the name, NOERROR yields the records found by following the CNAME chain
 * from the question's name, and every other code, or a body that does not parse, fails this
 * server (the resolver asks the next one).
 */
import type { SockAddr } from "../../kernel/bus/messages.ts";
import { parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import {
  CLASS_IN,
  DnsFlag,
  DnsType,
  parseDns,
  parseDnsQuestions,
  Rcode,
} from "../../netstack/wire/dns.ts";
import { sameName } from "../../netstack/wire/dns_name.ts";
import { WireError } from "../../netstack/wire/errors.ts";

/** What was asked: the query's ID, name and type (class IN). */
export interface Asked {
  id: number;
  name: string;
  type: number;
}

/** What a datagram (or TCP message) means for the query it arrived for. */
export type Verdict =
  | { kind: "ignore"; why: string }
  | { kind: "truncated" }
  | { kind: "nxdomain" }
  /** NOERROR: `values` holds the addresses (A/AAAA) or names (PTR), maybe none (NODATA). */
  | { kind: "answer"; values: string[]; canonical: string; ttl: number }
  | { kind: "fail"; why: string };

/** Longest CNAME chain followed (glibc stops at 16 hops too, as RES_MAXCNAMES-ish). */
const MAX_CNAME_HOPS = 16;

/** True when `a` is the same address and port as `b` (text forms compared as bytes). */
export function sameEndpoint(a: SockAddr | undefined, b: SockAddr): boolean {
  if (!a || a.family !== b.family || (a.family !== 2 && a.family !== 10)) return false;
  const bb = b as { addr: string; port: number };
  if (a.port !== bb.port) return false;
  if (a.family === 2) return parseIPv4(a.addr) === parseIPv4(bb.addr);
  const x = parseIPv6(a.addr), y = parseIPv6(bb.addr);
  return !!x && !!y && x.every((v, i) => v === y[i]);
}

/**
 * Judge `bytes` received from `from` for `asked` sent to `server`. `from` undefined means a TCP
 * stream already connected to the server.
 */
export function judge(
  asked: Asked,
  bytes: Uint8Array,
  server: SockAddr,
  from?: SockAddr,
  tcp = false,
): Verdict {
  if (!tcp && !sameEndpoint(from, server)) return { kind: "ignore", why: "wrong source" };
  let q;
  try {
    q = parseDnsQuestions(bytes);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return { kind: "ignore", why: `unreadable: ${err.message}` };
  }
  const h = q.header;
  if (h.id !== asked.id) return { kind: "ignore", why: "wrong ID" };
  if (!(h.flags & DnsFlag.QR)) return { kind: "ignore", why: "not a response" };
  const qq = q.questions[0];
  if (
    q.questions.length !== 1 || !sameName(qq.name, asked.name) || qq.type !== asked.type ||
    qq.class !== CLASS_IN
  ) {
    // A server that could not parse our query may answer FORMERR with no question (RFC 1035
    // §4.1.1); anything else that does not repeat it is not an answer to it.
    if (h.rcode === Rcode.FORMERR && q.questions.length === 0) {
      return { kind: "fail", why: "format error" };
    }
    return { kind: "ignore", why: "wrong question" };
  }
  if (h.flags & DnsFlag.TC && !tcp) return { kind: "truncated" };
  if (h.opcode !== 0) return { kind: "fail", why: `opcode ${h.opcode}` };
  switch (h.rcode) {
    case Rcode.NOERROR:
      break;
    case Rcode.NXDOMAIN:
      return { kind: "nxdomain" };
    case Rcode.SERVFAIL:
      return { kind: "fail", why: "server failure" };
    case Rcode.REFUSED:
      return { kind: "fail", why: "refused" };
    default:
      return { kind: "fail", why: `response code ${h.rcode}` };
  }
  let msg;
  try {
    msg = parseDns(bytes);
  } catch (err) {
    if (!(err instanceof WireError)) throw err;
    return { kind: "fail", why: `malformed answer: ${err.message}` };
  }
  let name = asked.name;
  let ttl = 0xffffffff;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const here = msg.answers.filter((r) => r.class === CLASS_IN && sameName(r.name, name));
    const found = here.filter((r) => r.type === asked.type);
    if (found.length > 0) {
      const values = found.map((r) => r.addr ?? r.target).filter((v) => v !== undefined);
      for (const r of found) ttl = Math.min(ttl, r.ttl);
      return { kind: "answer", values: [...new Set(values)], canonical: name, ttl };
    }
    const cname = here.find((r) => r.type === DnsType.CNAME);
    if (!cname?.target) break;
    ttl = Math.min(ttl, cname.ttl);
    name = cname.target;
  }
  return { kind: "answer", values: [], canonical: name, ttl: 0 };
}
