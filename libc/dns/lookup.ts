/**
 * Asking DNS servers (RFC 1035 §4.2, §7.2; resolv.conf(5) semantics): each query goes to the
 * configured servers in turn, `attempts` rounds of them, waiting `timeout` seconds for each;
 * a truncated answer is asked again over TCP (RFC 7766 §5); SERVFAIL, REFUSED and malformed
 * answers move on to the next server. Every query gets a fresh random ID and goes out from a
 * fresh socket on a random port (RFC 5452 §9.2), and only an answer that passes answer.ts's
 * checks ends a wait. Search domains are applied as glibc's res_nsearch does with `ndots`.
 *
 * The sockets live behind {@link DnsIo}, so tests can play the network (lookup_test.ts).
 */
import type { ResolverConf, SockAddr } from "../../kernel/bus/messages.ts";
import { parseIPv4 } from "../../netstack/wire/addr.ts";
import { dnsQuery, emitDns } from "../../netstack/wire/dns.ts";
import { type Asked, judge, type Verdict } from "./answer.ts";

/** The DNS port. */
export const DNS_PORT = 53;

/** What a UDP exchange ended with: a verdict, silence until the timeout, or ICMP refusal. */
export type UdpOutcome = Verdict | "timeout" | "refused";

/** The network as the resolver sees it. */
export interface DnsIo {
  /** A random 16-bit query ID (from a CSPRNG). */
  randomId(): number;
  /**
   * Send `query` over UDP to `server` from a fresh socket on a random port, then hand each
   * datagram that arrives (with its source) to `take` until it returns something other than
   * "ignore", or until `timeoutMs` passes.
   */
  udp(
    server: SockAddr,
    query: Uint8Array,
    timeoutMs: number,
    take: (data: Uint8Array, from?: SockAddr) => Verdict,
  ): Promise<UdpOutcome>;
  /** Send `query` over TCP (2-byte length prefix) and return the one reply, or null on failure. */
  tcp(server: SockAddr, query: Uint8Array, timeoutMs: number): Promise<Uint8Array | null>;
}

/** How a whole lookup of one name and type ended. */
export type LookupResult =
  | { kind: "found"; values: string[]; canonical: string }
  | { kind: "nxdomain" }
  | { kind: "nodata" }
  /**
   * Every server failed or stayed silent: try again later (EAI_AGAIN). `servfail`: one
   * answered SERVFAIL (the search goes on past it, as glibc's).
   */
  | { kind: "again"; why: string; servfail?: boolean }
  /** No server could be reached at all (ICMP port unreachable from each): EAI_NONAME, as glibc. */
  | { kind: "unavailable" };

/** A server address as a socket address on port 53. */
export function serverAddr(addr: string): SockAddr {
  return parseIPv4(addr) !== undefined
    ? { family: 2, addr, port: DNS_PORT }
    : { family: 10, addr, port: DNS_PORT };
}

/**
 * The names to try for `name`, in order (glibc res_nsearch): a name ending in a dot as is; one
 * with at least `ndots` dots as is, then with each search domain; otherwise with each search
 * domain first, then as is.
 */
export function searchList(name: string, conf: Pick<ResolverConf, "search" | "ndots">): string[] {
  if (name.endsWith(".")) return [name.slice(0, -1)];
  const dots = name.split(".").length - 1;
  const withSearch = conf.search.map((d) => `${name}.${d}`);
  return dots >= conf.ndots ? [name, ...withSearch] : [...withSearch, name];
}

/** Ask the servers for one fully qualified `name` and `type`. */
export async function query(
  io: DnsIo,
  conf: ResolverConf,
  name: string,
  type: number,
): Promise<LookupResult> {
  let why = "no answer";
  let refused = 0;
  let servfail = false;
  const servers = conf.nameservers.map(serverAddr);
  for (let attempt = 0; attempt < conf.attempts; attempt++) {
    for (const server of servers) {
      const asked: Asked = { id: io.randomId(), name, type };
      const bytes = emitDns(dnsQuery(asked.id, name, type));
      const timeoutMs = conf.timeout * 1000;
      let v: UdpOutcome = await io.udp(
        server,
        bytes,
        timeoutMs,
        (d, from) => judge(asked, d, server, from),
      );
      if (typeof v === "object" && v.kind === "truncated") {
        const reply = await io.tcp(server, bytes, timeoutMs);
        v = reply ? judge(asked, reply, server, undefined, true) : { kind: "fail", why: "TCP" };
        if (v.kind === "ignore") v = { kind: "fail", why: `TCP answer: ${v.why}` };
      }
      if (v === "timeout") {
        why = "timed out";
        continue;
      }
      if (v === "refused") {
        refused++;
        why = "connection refused";
        continue;
      }
      switch (v.kind) {
        case "nxdomain":
          return { kind: "nxdomain" };
        case "answer":
          return v.values.length > 0
            ? { kind: "found", values: v.values, canonical: v.canonical }
            : { kind: "nodata" };
        case "fail":
        case "ignore":
        case "truncated":
          why = v.kind === "fail" ? v.why : v.kind;
          if (why === "server failure") servfail = true;
          continue;
        default: {
          const never: never = v;
          throw new Error(`Unexpected verdict ${never}`);
        }
      }
    }
  }
  if (servers.length > 0 && refused === servers.length * conf.attempts) {
    return { kind: "unavailable" };
  }
  return { kind: "again", why, servfail };
}

/**
 * What a lookup of several types for one name comes to when none found anything, as glibc's
 * res_queriesmatch/__res_context_query judge an A+AAAA pair: the first type's status, unless it
 * was NODATA, then the second's.
 */
function combine(results: LookupResult[]): LookupResult {
  return results[0].kind === "nodata" && results.length > 1 ? results[1] : results[0];
}

/**
 * Look `name` up for each of `types` (asked together, as glibc sends A and AAAA at once),
 * walking the search list as glibc's res_nsearch does: the first candidate with any data wins;
 * NXDOMAIN, NODATA and SERVFAIL move on to the next candidate, any other failure (a timeout, a
 * REFUSED from every server) ends the walk, except that a name not yet tried as is still is.
 * When nothing is found the error is the as-is query's when it went first, else NODATA if any
 * candidate had the name, else SERVFAIL's "try again" if any, else the last candidate's.
 */
export async function search(
  io: DnsIo,
  conf: ResolverConf,
  name: string,
  types: number[],
): Promise<{ results: LookupResult[]; name: string } | LookupResult> {
  const list = searchList(name, conf);
  const asIsFirst = list[0] === name.replace(/\.$/, "");
  let saved: LookupResult | undefined, last: LookupResult = { kind: "nxdomain" };
  let gotNodata = false, gotServfail = false;
  for (let i = 0; i < list.length; i++) {
    const results = await Promise.all(types.map((t) => query(io, conf, list[i], t)));
    if (results.some((r) => r.kind === "found")) return { results, name: list[i] };
    const r = last = combine(results);
    if (i === 0 && asIsFirst) saved = r;
    if (r.kind === "nodata") gotNodata = true;
    else if (r.kind === "again" && r.servfail) gotServfail = true;
    else if (r.kind !== "nxdomain" && !(i === 0 && asIsFirst)) {
      // Done with the search domains; the name as is, when it comes last, is still asked.
      if (!asIsFirst && i < list.length - 1) i = list.length - 2;
      else break;
    }
  }
  if (saved) return saved;
  if (gotNodata) return { kind: "nodata" };
  if (gotServfail) return { kind: "again", why: "server failure", servfail: true };
  return last;
}
