/**
 * The resolver's network, over libc's socket calls (handed in by libc/mod.ts, which this module
 * cannot import without a cycle): one connected UDP socket per query on a random port, TCP for
 * truncated answers, and source-address discovery for the RFC 6724 sort, as glibc does it.
 */
import type {
  IfaceInfo,
  PollFd,
  ResolverConf,
  RouteInfo,
  SockAddr,
} from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import {
  AF_INET,
  AF_INET6,
  POLLERR,
  POLLHUP,
  POLLIN,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "../../kernel/abi.ts";
import { parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import type { Verdict } from "./answer.ts";
import type { DnsIo, UdpOutcome } from "./lookup.ts";
import type { SortCandidate } from "./order.ts";
import { pickSource } from "./source.ts";

/** The libc calls the resolver needs. */
export interface SocketApi {
  socket(domain: number, type: number): Promise<number>;
  bind(fd: number, addr: SockAddr): Promise<void>;
  connect(fd: number, addr: SockAddr): Promise<void>;
  send(fd: number, data: Uint8Array): Promise<number>;
  recvfrom(fd: number, len?: number): Promise<{ data: Uint8Array; addr?: SockAddr }>;
  poll(fds: PollFd[], timeout: number): Promise<{ count: number; revents: number[] }>;
  close(fd: number): Promise<void>;
  getsockname(fd: number): Promise<SockAddr>;
  netctl(req: { op: "ifaces" } | { op: "routes" } | { op: "resolver" }): Promise<unknown>;
}

/** Everything getaddrinfo needs from the system: DNS, configuration and source addresses. */
export interface ResolverIo extends DnsIo {
  /** The host's resolver configuration and hosts table. */
  conf(): Promise<ResolverConf>;
  /** The source address (and its prefix length) the host would use to reach `addr`. */
  source(addr: string): Promise<SortCandidate["source"]>;
}

function wildcard(server: SockAddr): SockAddr {
  return server.family === 10
    ? { family: 10, addr: "::", port: 0 }
    : { family: 2, addr: "0.0.0.0", port: 0 };
}

/** The resolver's I/O over `api`. */
export function socketIo(api: SocketApi): ResolverIo {
  const now = () => performance.now();
  const readable = async (fd: number, ms: number): Promise<number> => {
    const r = await api.poll([{ fd, events: POLLIN }], Math.max(0, Math.ceil(ms)));
    return r.count > 0 ? r.revents[0] & (POLLIN | POLLERR | POLLHUP) : 0;
  };
  return {
    randomId: () => crypto.getRandomValues(new Uint16Array(1))[0],
    async udp(server, query, timeoutMs, take): Promise<UdpOutcome> {
      const fd = await api.socket(server.family === 10 ? AF_INET6 : AF_INET, SOCK_DGRAM);
      try {
        // Bound before connecting, the port is drawn at random (not from the per-destination
        // counter a connect would use): RFC 5452 §9.2.
        await api.bind(fd, wildcard(server));
        await api.connect(fd, server);
        await api.send(fd, query);
        const deadline = now() + timeoutMs;
        while (now() < deadline) {
          if (!(await readable(fd, deadline - now()))) break;
          let r;
          try {
            r = await api.recvfrom(fd, 65536);
          } catch (err) {
            if (err instanceof ErrnoError && err.code === "ECONNREFUSED") return "refused";
            if (err instanceof ErrnoError) return { kind: "fail", why: err.message };
            throw err;
          }
          const v: Verdict = take(r.data, r.addr);
          if (v.kind !== "ignore") return v;
        }
        return "timeout";
      } catch (err) {
        if (err instanceof ErrnoError) return { kind: "fail", why: err.message };
        throw err;
      } finally {
        await api.close(fd).catch(() => {});
      }
    },
    async tcp(server, query, timeoutMs) {
      const fd = await api.socket(server.family === 10 ? AF_INET6 : AF_INET, SOCK_STREAM);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs));
      const exchange = (async () => {
        await api.connect(fd, server);
        const framed = new Uint8Array(query.length + 2);
        framed[0] = query.length >> 8;
        framed[1] = query.length & 0xff;
        framed.set(query, 2);
        for (let off = 0; off < framed.length;) off += await api.send(fd, framed.subarray(off));
        let buf = new Uint8Array(0);
        for (;;) {
          const want = buf.length >= 2 ? ((buf[0] << 8) | buf[1]) + 2 : 2;
          if (buf.length >= want && buf.length >= 2 && want > 2) return buf.slice(2, want);
          const { data } = await api.recvfrom(fd, 65536);
          if (data.length === 0) return null; // closed before a whole message
          const next = new Uint8Array(buf.length + data.length);
          next.set(buf);
          next.set(data, buf.length);
          buf = next;
        }
      })().catch(() => null);
      try {
        return await Promise.race([exchange, timeout]);
      } finally {
        clearTimeout(timer);
        await api.close(fd).catch(() => {});
      }
    },
    async conf() {
      return await api.netctl({ op: "resolver" }) as ResolverConf;
    },
    async source(addr) {
      const v6 = parseIPv4(addr) === undefined;
      if (v6 && !parseIPv6(addr)) return undefined;
      const fd = await api.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM);
      try {
        // glibc connects to the result's own port; any port will do to learn the source.
        await api.connect(fd, v6 ? { family: 10, addr, port: 9 } : { family: 2, addr, port: 9 });
        const me = await api.getsockname(fd);
        if (me.family !== 2 && me.family !== 10) return undefined;
        // Asked afresh each time: addresses come and go, and leave DAD (tentative) meanwhile.
        const list = await api.netctl({ op: "ifaces" }) as IfaceInfo[];
        if (me.addr === "0.0.0.0" || me.addr === "::") {
          // The kernel did not pick a source on connect: work it out from the routes.
          return pickSource(addr, await api.netctl({ op: "routes" }) as RouteInfo[], list);
        }
        const own = list.flatMap((i) => i.addrs).find((a) => sameAddr(a.addr, me.addr));
        return { addr: me.addr, prefixLen: own?.prefixLen ?? (v6 ? 128 : 32) };
      } catch (err) {
        if (err instanceof ErrnoError) return undefined; // unreachable: rule 1
        throw err;
      } finally {
        await api.close(fd).catch(() => {});
      }
    },
  };
}

function sameAddr(a: string, b: string): boolean {
  const x = parseIPv4(a), y = parseIPv4(b);
  if (x !== undefined || y !== undefined) return x === y;
  const p = parseIPv6(a), q = parseIPv6(b);
  return !!p && !!q && p.every((v, i) => v === q[i]);
}
