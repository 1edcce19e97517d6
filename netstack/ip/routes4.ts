/**
 * The IPv4 routing table: longest-prefix match then lowest metric, connected and gateway routes,
 * host routes learned from ICMP redirects (expiring), and per-destination path MTUs.
 */
import type { NetInterface } from "../link/interface.ts";
import { prefixMask4 } from "../wire/addr.ts";

/** One route. */
export interface Route4Entry {
  dest: number;
  prefixLen: number;
  /** 0 for directly connected. */
  gateway: number;
  iface: NetInterface;
  metric: number;
  /** Preferred source address (connected routes carry the interface address). */
  source?: number;
  /** Learned from a redirect. */
  dynamic?: boolean;
  /** When a dynamic route stops applying (ms). */
  expires?: number;
}

/** How long a redirect or a learned path MTU stays valid (Linux: 10 minutes for PMTU). */
export const LEARNED_ROUTE_MS = 600_000;

/** The routing table of one host. */
export class Routes4 {
  #routes: Route4Entry[] = [];
  #pmtu = new Map<number, { mtu: number; expires: number }>();

  /** Add a route (an identical one is replaced). */
  add(r: Route4Entry): void {
    this.removeMatching((x) =>
      x.dest === r.dest && x.prefixLen === r.prefixLen && x.gateway === r.gateway &&
      x.iface === r.iface
    );
    this.#routes.push(r);
  }

  /** Remove every route `pred` accepts; returns how many. */
  removeMatching(pred: (r: Route4Entry) => boolean): number {
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) => !pred(r));
    return before - this.#routes.length;
  }

  /** The best route to `dst` (optionally through one device only), or undefined (ENETUNREACH). */
  lookup(dst: number, device?: string, now?: number): Route4Entry | undefined {
    let best: Route4Entry | undefined;
    for (const r of this.#routes) {
      if (device && r.iface.name !== device) continue;
      if (r.expires !== undefined && now !== undefined && now >= r.expires) continue;
      if (((dst & prefixMask4(r.prefixLen)) >>> 0) !== r.dest) continue;
      if (
        !best || r.prefixLen > best.prefixLen ||
        (r.prefixLen === best.prefixLen && r.metric < best.metric)
      ) best = r;
    }
    return best;
  }

  /** A host route to `dst` through `gateway`, from an ICMP redirect. */
  addRedirect(dst: number, gateway: number, iface: NetInterface, now: number): void {
    this.add({
      dest: dst,
      prefixLen: 32,
      gateway,
      iface,
      metric: 0,
      dynamic: true,
      expires: now + LEARNED_ROUTE_MS,
    });
  }

  /** Record a smaller path MTU for `dst` (from "fragmentation needed"; never below 68). */
  setPathMtu(dst: number, mtu: number, now: number): void {
    this.#pmtu.set(dst, { mtu: Math.max(68, mtu), expires: now + LEARNED_ROUTE_MS });
  }

  /** The learned path MTU for `dst`, if any and still valid. */
  pathMtu(dst: number, now: number): number | undefined {
    const p = this.#pmtu.get(dst);
    if (!p) return undefined;
    if (now >= p.expires) {
      this.#pmtu.delete(dst);
      return undefined;
    }
    return p.mtu;
  }

  /** Every route, most specific first. */
  list(): Route4Entry[] {
    return [...this.#routes].sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
  }
}
