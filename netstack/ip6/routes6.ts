/**
 * The IPv6 routing table: longest-prefix match over connected, static and RA-learned routes
 * (with expiry), and the per-destination path MTU learned from Packet Too Big (RFC 8201).
 */
import type { NetInterface } from "../link/interface.ts";
import { IPV6_MIN_MTU } from "../wire/ipv6.ts";
import { equal6, key6, maskPrefix6, prefixMatch6 } from "./addr6.ts";

/** One IPv6 route. */
export interface Route6Entry {
  dest: Uint8Array;
  prefixLen: number;
  /** Router to go through; undefined for on-link. */
  gateway?: Uint8Array;
  iface: NetInterface;
  metric: number;
  /** "connected" (address prefix), "static", "ra" (router advertisement). */
  origin: "connected" | "static" | "ra";
  /** When an RA-learned route expires (ms). */
  expires?: number;
}

/** How long a learned path MTU is kept (RFC 8201 §4: at least 5 minutes; Linux 10). */
export const PMTU_TIMEOUT = 600_000;

/** The IPv6 routes and path MTUs of one host. */
export class Routes6 {
  #routes: Route6Entry[] = [];
  #pmtu = new Map<string, { mtu: number; expires: number }>();

  /** Add a route, replacing one for the same prefix, gateway and interface. */
  add(r: Route6Entry): void {
    r.dest = maskPrefix6(r.dest, r.prefixLen);
    this.removeMatching((x) =>
      x.prefixLen === r.prefixLen && equal6(x.dest, r.dest) && x.iface === r.iface &&
      ((!x.gateway && !r.gateway) || (!!x.gateway && !!r.gateway && equal6(x.gateway, r.gateway)))
    );
    this.#routes.push(r);
  }

  /** Remove routes matching `pred`; returns how many. */
  removeMatching(pred: (r: Route6Entry) => boolean): number {
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) => !pred(r));
    return before - this.#routes.length;
  }

  /** Longest-prefix match for `dst`, optionally on one interface, ignoring expired routes. */
  lookup(dst: Uint8Array, now: number, iface?: NetInterface): Route6Entry | undefined {
    let best: Route6Entry | undefined;
    for (const r of this.#routes) {
      if (iface && r.iface !== iface) continue;
      if (r.expires !== undefined && r.expires <= now) continue;
      if (!r.iface.up || !prefixMatch6(dst, r.dest, r.prefixLen)) continue;
      if (
        !best || r.prefixLen > best.prefixLen ||
        (r.prefixLen === best.prefixLen && r.metric < best.metric)
      ) best = r;
    }
    return best;
  }

  /** Every route. */
  list(): readonly Route6Entry[] {
    return this.#routes;
  }

  /** Drop expired routes and path MTUs. */
  poll(now: number): void {
    this.removeMatching((r) => r.expires !== undefined && r.expires <= now);
    for (const [k, v] of this.#pmtu) if (v.expires <= now) this.#pmtu.delete(k);
  }

  /** Earliest expiry. */
  nextDeadline(): number | undefined {
    let best = Infinity;
    for (const r of this.#routes) if (r.expires !== undefined && r.expires < best) best = r.expires;
    for (const v of this.#pmtu.values()) if (v.expires < best) best = v.expires;
    return best === Infinity ? undefined : best;
  }

  /** Record a smaller path MTU towards `dst` (never below 1280); true if it changed. */
  setPathMtu(dst: Uint8Array, mtu: number, now: number): boolean {
    const m = Math.max(IPV6_MIN_MTU, mtu);
    const k = key6(dst);
    const old = this.#pmtu.get(k);
    if (old && old.mtu <= m) return false;
    this.#pmtu.set(k, { mtu: m, expires: now + PMTU_TIMEOUT });
    return true;
  }

  /** The learned path MTU towards `dst`, if any. */
  pathMtu(dst: Uint8Array): number | undefined {
    return this.#pmtu.get(key6(dst))?.mtu;
  }
}
