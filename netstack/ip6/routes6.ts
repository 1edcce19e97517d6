/**
 * The IPv6 routes of one host: the shared {@link RoutingTable6} (connected, static and
 * RA-learned routes with expiry), plus the per-destination path MTUs learned from Packet Too
 * Big (RFC 8201), which expire with the table's other timers.
 */
import { IPV6_MIN_MTU } from "../wire/ipv6.ts";
import { type RouteTableOptions, RoutingTable6 } from "./routing6.ts";
import { key6 } from "./addr6.ts";

/** How long a learned path MTU is kept (RFC 8201 §4: at least 5 minutes; Linux 10). */
export const PMTU_TIMEOUT = 600_000;

/** The IPv6 routing table and path MTU cache of one host. */
export class Routes6 extends RoutingTable6 {
  #pmtu = new Map<string, { mtu: number; expires: number }>();

  constructor(opts: Partial<RouteTableOptions> = {}) {
    super(opts);
  }

  /** Drop expired routes, redirects and path MTUs. */
  override poll(now: number): void {
    super.poll(now);
    for (const [k, v] of this.#pmtu) if (v.expires <= now) this.#pmtu.delete(k);
  }

  /** The earliest expiry of a route, redirect or path MTU. */
  override nextDeadline(): number | undefined {
    let best = super.nextDeadline() ?? Infinity;
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
