/**
 * ping: send ICMP echo requests over a raw socket and report replies, errors and statistics
 * the way iputils' ping does. Exit status 0 when any reply came back, 1 when none did, 2 on
 * error.
 */
import {
  AF_INET6,
  ErrnoError,
  getpid,
  IP_TTL,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_RECVHOPLIMIT,
  IPV6_UNICAST_HOPS,
  recvmsg,
  sendto,
  setsockopt,
  SIGINT,
  signal,
  SOCK_RAW,
  socket,
} from "../libc/mod.ts";
import {
  familyFlag,
  type Host,
  hostText,
  hostTitle,
  intArg,
  numArg,
  parseCommand,
  resolveHost,
  str,
  tool,
  UsageError,
} from "./_args.ts";
import { formatRtt } from "./_format.ts";
import {
  buildEcho,
  describeIcmpError,
  echoPayload,
  ICMP_HEADER_LEN,
  icmpSource,
  parseIcmp,
} from "./_icmp.ts";
import { closeQuietly, now, readable, scopeIdOf, sockaddr } from "./_net.ts";

const USAGE =
  `Usage: ping [-4|-6] [-c count] [-i interval] [-s size] [-t ttl] [-W timeout] [-w deadline] [-q] HOST
  -4, -6        use IPv4 / IPv6 (default: from the address)
  -c count      stop after count replies (default: run until killed)
  -i interval   seconds between requests (default 1)
  -s size       data bytes per request (default 56)
  -t ttl        IP time to live / hop limit
  -W timeout    seconds to wait for a reply after the last request (default 10)
  -w deadline   seconds after which ping stops regardless
  -q            print only the summary`;

/** Running totals of a ping session, from which the summary is printed. */
export interface PingStats {
  transmitted: number;
  received: number;
  duplicates: number;
  errors: number;
  /** Round-trip times of unique replies, ms. */
  rtts: number[];
}

/** min/avg/max/mdev of round-trip times (mdev = population standard deviation, as iputils). */
export function rttSummary(
  rtts: number[],
): { min: number; avg: number; max: number; mdev: number } {
  if (rtts.length === 0) return { min: 0, avg: 0, max: 0, mdev: 0 };
  let sum = 0;
  let sum2 = 0;
  for (const r of rtts) {
    sum += r;
    sum2 += r * r;
  }
  const avg = sum / rtts.length;
  return {
    min: Math.min(...rtts),
    avg,
    max: Math.max(...rtts),
    mdev: Math.sqrt(Math.max(0, sum2 / rtts.length - avg * avg)),
  };
}

/** The statistics block iputils prints at the end (2 or 3 lines). */
export function formatSummary(host: string, s: PingStats, elapsedMs: number): string[] {
  const loss = s.transmitted ? ((s.transmitted - s.received) * 100) / s.transmitted : 0;
  let line = `${s.transmitted} packets transmitted, ${s.received} received`;
  if (s.duplicates) line += `, +${s.duplicates} duplicates`;
  if (s.errors) line += `, +${s.errors} errors`;
  line += `, ${Number(loss.toPrecision(6))}% packet loss, time ${Math.round(elapsedMs)}ms`;
  const out = [`--- ${host} ping statistics ---`, line];
  if (s.rtts.length) {
    const r = rttSummary(s.rtts);
    const f = (x: number) => x.toFixed(3);
    out.push(`rtt min/avg/max/mdev = ${f(r.min)}/${f(r.avg)}/${f(r.max)}/${f(r.mdev)} ms`);
  }
  return out;
}

/** One reply line: "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.123 ms". */
export function formatReply(
  bytes: number,
  from: string,
  seq: number,
  ttl: number | undefined,
  rttMs: number,
  dup = false,
): string {
  const t = ttl === undefined ? "" : ` ttl=${ttl}`;
  return `${bytes} bytes from ${from}: icmp_seq=${seq}${t} time=${formatRtt(rttMs)} ms${
    dup ? " (DUP!)" : ""
  }`;
}

interface PingOptions {
  count: number;
  intervalMs: number;
  size: number;
  ttl?: number;
  waitMs: number;
  deadlineMs: number;
  quiet: boolean;
}

function options(args: string[]): { host: string; family?: number; o: PingOptions } {
  const { values, positionals } = parseCommand(args, {
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    c: { type: "string", short: "c" },
    i: { type: "string", short: "i" },
    s: { type: "string", short: "s" },
    t: { type: "string", short: "t" },
    W: { type: "string", short: "W" },
    w: { type: "string", short: "w" },
    q: { type: "boolean", short: "q" },
  });
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? "too many arguments" : "missing host");
  }
  const opt = (k: string) => str(values, k);
  return {
    host: positionals[0],
    family: familyFlag(values),
    o: {
      count: opt("c") ? intArg(opt("c")!, "count", 1, 2 ** 31 - 1) : Infinity,
      intervalMs: opt("i") ? numArg(opt("i")!, "interval", 0, 3600) * 1000 : 1000,
      size: opt("s") ? intArg(opt("s")!, "packet size", 0, 65507) : 56,
      ttl: opt("t") ? intArg(opt("t")!, "ttl", 1, 255) : undefined,
      waitMs: opt("W") ? numArg(opt("W")!, "timeout", 0, 3600) * 1000 : 10_000,
      deadlineMs: opt("w") ? numArg(opt("w")!, "deadline", 0, 86400) * 1000 : Infinity,
      quiet: values.q === true,
    },
  };
}

async function ping(args: string[]): Promise<number> {
  const { host, family: want, o } = options(args);
  const target = await resolveHost(host, want);
  const v6 = target.family === AF_INET6;
  const fd = await socket(target.family, SOCK_RAW, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
  try {
    if (v6) await setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
    if (o.ttl !== undefined) {
      await setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, o.ttl);
    }
    return await session(fd, target, await scopeIdOf(target), o);
  } finally {
    await closeQuietly(fd);
  }
}

async function session(
  fd: number,
  target: Host,
  scopeId: number | undefined,
  o: PingOptions,
): Promise<number> {
  const { family, addr } = target;
  // Linux's ping names the host as typed in its summary, and in replies from it.
  const shown = target.name ?? hostText(target);
  const v6 = family === AF_INET6;
  const id = (await getpid()) & 0xffff;
  const payload = echoPayload(o.size);
  console.log(
    v6
      ? `PING ${hostTitle(target)} ${o.size} data bytes`
      : `PING ${hostTitle(target)} ${o.size}(${o.size + ICMP_HEADER_LEN + 20}) bytes of data.`,
  );
  const stats: PingStats = { transmitted: 0, received: 0, duplicates: 0, errors: 0, rtts: [] };
  const sentAt = new Map<number, number>();
  const seen = new Set<number>();
  const start = now();
  let nextSend = start;
  let lastSend = start;
  const dest = sockaddr(family, addr, 0, scopeId);
  const zone = target.scope === undefined ? "" : `%${target.scope}`;
  // Ctrl-C (SIGINT) ends the run with the summary, as iputils does.
  let interrupted = false;
  signal(SIGINT, () => (interrupted = true));
  for (;;) {
    const t = now();
    if (interrupted || t - start >= o.deadlineMs) break;
    if (stats.transmitted < o.count && t >= nextSend) {
      const seq = (stats.transmitted + 1) & 0xffff;
      sentAt.set(seq, now());
      seen.delete(seq);
      try {
        await sendto(fd, buildEcho(family, id, seq, payload), dest);
      } catch (err) {
        // The first failure is fatal (like iputils' connect check); later ones are counted.
        if (stats.transmitted === 0 || !(err instanceof ErrnoError)) throw err;
        console.error(`ping: ${err.message}`);
        stats.errors++;
      }
      stats.transmitted++;
      lastSend = t;
      nextSend += o.intervalMs;
      if (nextSend < t) nextSend = t + o.intervalMs;
    }
    const doneSending = stats.transmitted >= o.count;
    if (doneSending && stats.received + stats.errors >= stats.transmitted) break;
    const until = Math.min(
      doneSending ? lastSend + o.waitMs : nextSend,
      start + o.deadlineMs,
    );
    if (doneSending && now() >= until) break;
    if (!(await readable(fd, Math.min(until - now(), 100)))) continue;
    const r = await recvmsg(fd, 65536 + 40);
    const arrived = now();
    const ev = parseIcmp(family, r.data);
    if (!ev) continue;
    if (ev.kind === "reply") {
      if (ev.id !== id || !sentAt.has(ev.seq)) continue;
      const rtt = arrived - sentAt.get(ev.seq)!;
      const dup = seen.has(ev.seq);
      if (dup) stats.duplicates++;
      else {
        seen.add(ev.seq);
        stats.received++;
        stats.rtts.push(rtt);
      }
      const source = icmpSource(family, r.data, r.addr) + zone;
      const from = target.name !== undefined && source === hostText(target)
        ? `${target.name} (${source})`
        : source;
      // IPv4 replies carry their header; IPv6 ones bring the hop limit as ancillary data.
      const ttl = ev.ttl ?? r.hopLimit;
      if (!o.quiet) console.log(formatReply(ev.icmpLen, from, ev.seq, ttl, rtt, dup));
    } else if (ev.kind === "error") {
      const q = ev.quote;
      if (q.id !== id || q.dst !== addr || q.seq === undefined || !sentAt.has(q.seq)) continue;
      stats.errors++;
      const from = icmpSource(family, r.data, r.addr) + zone;
      if (!o.quiet) {
        console.log(
          `From ${from} icmp_seq=${q.seq} ${describeIcmpError(family, ev.type, ev.code, ev.info)}`,
        );
      }
    }
  }
  console.log("");
  for (const line of formatSummary(shown, stats, now() - start)) console.log(line);
  return stats.received > 0 ? 0 : 1;
}

export default tool("ping", USAGE, ping, 2);
