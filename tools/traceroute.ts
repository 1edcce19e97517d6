/**
 * traceroute: UDP probes to ports 33434 and up with a rising TTL (hop limit); the ICMP time
 * exceeded / destination unreachable errors they provoke arrive on a raw ICMP socket and name
 * each hop. Output like Linux traceroute.
 */
import {
  AF_INET6,
  bind,
  ErrnoError,
  getnameinfo,
  getsockname,
  IP_TTL,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_UDP,
  IPV6_UNICAST_HOPS,
  recvmsg,
  sendto,
  setsockopt,
  SOCK_DGRAM,
  SOCK_RAW,
  socket,
} from "../libc/mod.ts";
import {
  familyFlag,
  hostTitle,
  intArg,
  numArg,
  parseCommand,
  resolveHost,
  str,
  tool,
  UsageError,
} from "./_args.ts";
import { ICMP4, ICMP6, type IcmpEvent, icmpSource, parseIcmp } from "./_icmp.ts";
import { anyAddr, closeQuietly, now, portOf, readable, scopeIdOf, sockaddr } from "./_net.ts";

const USAGE =
  `Usage: traceroute [-4|-6] [-n] [-f first_ttl] [-m max_ttl] [-q nqueries] [-w wait] [-p port] HOST
  -m max_ttl   maximum number of hops (default 30)
  -f first_ttl start from this hop (default 1)
  -q nqueries  probes per hop (default 3)
  -w wait      seconds to wait for each probe's answer (default 5)
  -p port      base destination port (default 33434)
  -n           print addresses only`;

/** Probe data bytes (Linux traceroute sends 60-byte IPv4 / 80-byte IPv6 packets). */
const PROBE_DATA = 32;

/** What one probe came back with. */
export interface ProbeResult {
  /** Who answered; undefined for a timeout. */
  from?: string;
  rttMs?: number;
  /** Annotation after the time ("!H", "!N", …), "" when none. */
  note: string;
  /** True when the destination itself answered (port unreachable): stop after this hop. */
  reached: boolean;
}

/** The annotation traceroute prints for an unreachable code, and whether it ends the trace. */
export function classifyError(
  family: number,
  type: number,
  code: number,
): { note: string; final: boolean } | undefined {
  if (family === AF_INET6) {
    if (type === ICMP6.TIME_EXCEEDED) return { note: "", final: false };
    if (type !== ICMP6.DEST_UNREACH) return undefined;
    return code === 4
      ? { note: "", final: true }
      : { note: ["!N", "!X", "!S", "!H"][code] ?? `!<${code}>`, final: true };
  }
  if (type === ICMP4.TIME_EXCEEDED) return { note: "", final: false };
  if (type !== ICMP4.DEST_UNREACH) return undefined;
  if (code === 3) return { note: "", final: true };
  const notes: Record<number, string> = {
    0: "!N",
    1: "!H",
    2: "!P",
    4: "!F",
    5: "!S",
    9: "!X",
    10: "!X",
    13: "!X",
  };
  return { note: notes[code] ?? `!<${code}>`, final: true };
}

/** One hop line: " 1  10.0.0.1 (10.0.0.1)  0.123 ms  *  0.101 ms !H". */
export function formatHop(
  ttl: number,
  probes: ProbeResult[],
  numeric: boolean,
  names: ReadonlyMap<string, string> = new Map(),
): string {
  let line = `${String(ttl).padStart(2)} `;
  let last: string | undefined;
  for (const p of probes) {
    if (p.from === undefined) {
      line += " *";
      continue;
    }
    if (p.from !== last) {
      line += numeric ? ` ${p.from}` : ` ${names.get(p.from) ?? p.from} (${p.from})`;
    }
    last = p.from;
    line += `  ${(p.rttMs ?? 0).toFixed(3)} ms${p.note ? ` ${p.note}` : ""}`;
  }
  return line;
}

interface TraceOptions {
  firstTtl: number;
  maxTtl: number;
  queries: number;
  waitMs: number;
  port: number;
  numeric: boolean;
}

function options(args: string[]) {
  const { values, positionals } = parseCommand(args, {
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    n: { type: "boolean", short: "n" },
    f: { type: "string", short: "f" },
    m: { type: "string", short: "m" },
    q: { type: "string", short: "q" },
    w: { type: "string", short: "w" },
    p: { type: "string", short: "p" },
  });
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? "too many arguments" : "missing host");
  }
  const v = (k: string) => str(values, k);
  const o: TraceOptions = {
    firstTtl: v("f") ? intArg(v("f")!, "first ttl", 1, 255) : 1,
    maxTtl: v("m") ? intArg(v("m")!, "max ttl", 1, 255) : 30,
    queries: v("q") ? intArg(v("q")!, "nqueries", 1, 10) : 3,
    waitMs: v("w") ? numArg(v("w")!, "wait", 0, 60) * 1000 : 5000,
    port: v("p") ? intArg(v("p")!, "port", 1, 65535) : 33434,
    numeric: values.n === true,
  };
  if (o.firstTtl > o.maxTtl) throw new UsageError("first ttl is larger than max ttl");
  return { host: positionals[0], family: familyFlag(values), o };
}

/** Look up the name of each hop address not named yet (getnameinfo: hosts table, then PTR). */
async function nameHops(probes: ProbeResult[], family: number, names: Map<string, string>) {
  for (const p of probes) {
    if (p.from === undefined || names.has(p.from)) continue;
    const addr = p.from.replace(/%.*$/, "");
    const sa = sockaddr(family, addr, 0);
    names.set(p.from, (await getnameinfo(sa).catch(() => ({ host: p.from! }))).host);
  }
}

async function traceroute(args: string[]): Promise<number> {
  const { host, family: want, o } = options(args);
  const target = await resolveHost(host, want);
  const v6 = target.family === AF_INET6;
  const scopeId = await scopeIdOf(target);
  const icmp = await socket(target.family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
  let udp = -1;
  try {
    udp = await socket(target.family, SOCK_DGRAM, IPPROTO_UDP);
    await bind(udp, anyAddr(target.family, 0));
    const ctx: Prober = {
      icmp,
      udp,
      family: target.family,
      dst: target.addr,
      scopeId,
      srcPort: portOf(await getsockname(udp)),
      waitMs: o.waitMs,
    };
    const size = PROBE_DATA + 8 + (v6 ? 40 : 20);
    console.log(`traceroute to ${hostTitle(target)}, ${o.maxTtl} hops max, ${size} byte packets`);
    let seq = 0;
    const names = new Map<string, string>();
    for (let ttl = o.firstTtl; ttl <= o.maxTtl; ttl++) {
      await setsockopt(udp, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, ttl);
      const probes: ProbeResult[] = [];
      for (let q = 0; q < o.queries; q++) probes.push(await probe(ctx, (o.port + seq++) & 0xffff));
      if (!o.numeric) await nameHops(probes, target.family, names);
      console.log(formatHop(ttl, probes, o.numeric, names));
      if (probes.some((p) => p.reached)) return 0;
    }
    return 0;
  } finally {
    if (udp >= 0) await closeQuietly(udp);
    await closeQuietly(icmp);
  }
}

/** What every probe of one trace shares. */
interface Prober {
  icmp: number;
  udp: number;
  family: number;
  dst: string;
  scopeId?: number;
  srcPort: number;
  waitMs: number;
}

async function probe(p: Prober, dstPort: number): Promise<ProbeResult> {
  const sent = now();
  const to = sockaddr(p.family, p.dst, dstPort, p.scopeId);
  try {
    await sendto(p.udp, new Uint8Array(PROBE_DATA), to);
  } catch (err) {
    // A previous probe's port unreachable may surface as a pending socket error: retry once.
    if (!(err instanceof ErrnoError) || err.code !== "ECONNREFUSED") throw err;
    await sendto(p.udp, new Uint8Array(PROBE_DATA), to);
  }
  const deadline = sent + p.waitMs;
  for (;;) {
    const left = deadline - now();
    if (left <= 0 || !(await readable(p.icmp, left))) return { note: "", reached: false };
    const r = await recvmsg(p.icmp, 65536);
    const at = now();
    const ev: IcmpEvent | undefined = parseIcmp(p.family, r.data);
    if (ev?.kind !== "error") continue;
    const q = ev.quote;
    if (q.protocol !== IPPROTO_UDP || q.dst !== p.dst) continue;
    if (q.dstPort !== dstPort || q.srcPort !== p.srcPort) continue;
    const c = classifyError(p.family, ev.type, ev.code);
    if (!c) continue;
    const from = icmpSource(p.family, r.data, r.addr);
    return { from, rttMs: at - sent, note: c.note, reached: c.final };
  }
}

export default tool("traceroute", USAGE, traceroute, 2);
