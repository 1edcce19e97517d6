/**
 * For the resolver's tests: a network played in-thread. Each UDP query is handed to `serve`,
 * which returns the datagrams that arrive for it (with their sources), "silent" for none, or
 * "refused" for an ICMP port unreachable; TCP queries go to `serveTcp`.
 */
import type { ResolverConf, SockAddr } from "../../kernel/bus/messages.ts";
import { defaultResolverConf } from "../../netstack/resolver_conf.ts";
import { type DnsMessage, parseDns } from "../../netstack/wire/dns.ts";
import type { SortCandidate } from "./order.ts";
import type { ResolverIo } from "./socket_io.ts";

/** One datagram arriving for a query. */
export interface Delivery {
  data: Uint8Array;
  from: SockAddr;
}

/** A query as the fake network saw it. */
export interface Seen {
  proto: "udp" | "tcp";
  server: string;
  msg: DnsMessage;
}

/** Options of {@link fakeIo}. */
export interface FakeNet {
  conf?: Partial<ResolverConf>;
  serve?: (q: DnsMessage, server: SockAddr) => Delivery[] | "silent" | "refused";
  serveTcp?: (q: DnsMessage, server: SockAddr) => Uint8Array | null;
  sources?: Record<string, SortCandidate["source"]>;
}

/** A {@link ResolverIo} over a played network; `seen` records every query sent. */
export function fakeIo(net: FakeNet): ResolverIo & { seen: Seen[] } {
  const seen: Seen[] = [];
  let id = 0x4000;
  const addrOf = (s: SockAddr) => (s as { addr: string }).addr;
  return {
    seen,
    randomId: () => id++,
    udp(server, query, _timeoutMs, take) {
      const msg = parseDns(query);
      seen.push({ proto: "udp", server: addrOf(server), msg });
      const got = net.serve?.(msg, server) ?? "silent";
      if (got === "silent" || got === "refused") {
        return Promise.resolve(got === "silent" ? "timeout" : "refused");
      }
      for (const d of got) {
        const v = take(d.data, d.from);
        if (v.kind !== "ignore") return Promise.resolve(v);
      }
      return Promise.resolve("timeout");
    },
    tcp(server, query) {
      const msg = parseDns(query);
      seen.push({ proto: "tcp", server: addrOf(server), msg });
      return Promise.resolve(net.serveTcp?.(msg, server) ?? null);
    },
    conf: () => Promise.resolve({ ...defaultResolverConf(), ...net.conf }),
    source: (addr) => Promise.resolve(net.sources?.[addr]),
  };
}

/** `bytes` with its ID replaced by `id` (a captured answer replayed for a new query). */
export function withId(bytes: Uint8Array, id: number): Uint8Array {
  const b = bytes.slice();
  b[0] = id >> 8;
  b[1] = id & 0xff;
  return b;
}
