/**
 * The address-family-independent routing table behind {@link RoutingTable4} and
 * {@link RoutingTable6}: longest-prefix match then lowest metric, connected routes tied to the
 * addresses that created them, gateway routes that must name an on-link gateway (as Linux
 * requires), and a small cache of host routes learned from ICMP redirects (RFC 1122 §3.2.2.2,
 * RFC 4861 §8) that expire. Routes may carry an expiry (IPv6 routes learned from router
 * advertisements, RFC 4861 §6.3.4): they stop applying at `expires` and `poll` removes them.
 * Pure: no I/O, time comes in as `now` (ms).
 */
import { Errno, type ErrnoCode } from "../../kernel/errno.ts";

/** What the table needs to know about an address family. */
export interface AddrFamily<A> {
  /** Address width in bits (32 or 128). */
  readonly bits: number;
  /** `addr` with every bit past `prefixLen` cleared. */
  mask(addr: A, prefixLen: number): A;
  /** True when both addresses are the same. */
  equal(a: A, b: A): boolean;
  /** A Map key for the address. */
  key(addr: A): string | number;
  /** True for the unspecified address (0.0.0.0 or ::), which means "no gateway". */
  isZero(addr: A): boolean;
  /** Text form, for error messages. */
  format(addr: A): string;
}

/** Who added a route: an address ("connected"), the administrator, or a router advertisement. */
export type RouteOrigin = "connected" | "static" | "ra";

/** One route. */
export interface Route<A> {
  /** Network address (host bits must be zero). */
  dest: A;
  /** Prefix length, 0 (default route) to the address width. */
  prefixLen: number;
  /** Next hop; the unspecified address for a directly connected network. */
  gateway: A;
  /** Adapter (interface) id. */
  adapter: string;
  /** Lower wins between routes of the same prefix length. */
  metric: number;
  /** Preferred source address for packets using this route. */
  source?: A;
  /** Who added it (shown by `route`); undefined means "static". */
  origin?: RouteOrigin;
  /** When the route stops applying (ms); undefined for never. */
  expires?: number;
}

/** Where a packet for some destination goes. */
export interface RouteDecision<A> {
  /** Adapter to send on. */
  adapter: string;
  /** Address to resolve on the link: the gateway, or the destination itself when on-link. */
  nextHop: A;
  /** Preferred source address, when known. */
  source?: A;
  /** The route chosen (a host route when a redirect applied). */
  route: Route<A>;
  /** True when an ICMP redirect chose the next hop. */
  redirected: boolean;
}

/** A host route learned from an ICMP redirect. */
export interface RedirectEntry<A> {
  /** The destination host redirected. */
  dst: A;
  /** The better first hop. */
  gateway: A;
  /** Adapter the gateway is on. */
  adapter: string;
  /** When the entry stops applying (ms). */
  expires: number;
}

/** Outcome of a table change: `{ ok: true }` or an errno with a message. */
export type RouteResult =
  | { ok: true }
  | { ok: false; code: ErrnoCode; errno: number; message: string };

/** Why {@link RouteTable.applyRedirect} ignored a redirect (or "accepted"). */
export type RedirectOutcome =
  | "accepted"
  | "no-route"
  | "not-from-gateway"
  | "gateway-not-on-link"
  | "bad-gateway";

/** Tunables for a routing table. */
export interface RouteTableOptions {
  /** How long a redirect stays valid. Default 600000 ms (Linux's route cache lifetime). */
  redirectTtlMs: number;
  /** Most redirect entries kept; the one expiring first is dropped. Default 256. */
  maxRedirects: number;
  /** Whether an adapter is up; routes on a down adapter are skipped. Default: always up. */
  adapterUp: (adapter: string) => boolean;
  /**
   * Routes differing only in gateway may coexist (IPv6 default routes through several routers,
   * RFC 4861 §6.3.6); else adding one gives EEXIST (IPv4, as Linux). Default false.
   */
  gatewayInSlot: boolean;
}

/** The default {@link RouteTableOptions}. */
export const DEFAULT_ROUTE_TABLE_OPTIONS: RouteTableOptions = {
  redirectTtlMs: 600_000,
  maxRedirects: 256,
  adapterUp: () => true,
  gatewayInSlot: false,
};

interface ConnectedAddr<A> {
  addr: A;
  prefixLen: number;
  adapter: string;
}

/** A routing table for one address family; see {@link RoutingTable4}. */
export class RouteTable<A> {
  readonly opts: RouteTableOptions;
  #routes: Route<A>[] = [];
  #connected: ConnectedAddr<A>[] = [];
  #redirects = new Map<string | number, RedirectEntry<A>>();
  /** Redirect outcomes by reason, and routes dropped because their gateway left. */
  readonly stats = {
    redirectAccepted: 0,
    redirectRejected: 0,
    redirectExpired: 0,
    redirectEvicted: 0,
    orphanedRoutes: 0,
    routesExpired: 0,
  };

  constructor(readonly family: AddrFamily<A>, opts: Partial<RouteTableOptions> = {}) {
    this.opts = { ...DEFAULT_ROUTE_TABLE_OPTIONS, ...opts };
  }

  /**
   * Add a route. Fails with EINVAL for a bad prefix length or host bits set in `dest`,
   * ENETUNREACH when `gateway` is not on a connected network of `adapter`, and EEXIST when a
   * route with the same dest, prefix length, metric and adapter exists.
   */
  add(route: Route<A>): RouteResult {
    const f = this.family;
    const { dest, prefixLen, gateway, adapter, metric } = route;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > f.bits) {
      return fail("EINVAL", `Cannot add route: bad prefix length ${prefixLen}`);
    }
    if (!f.equal(f.mask(dest, prefixLen), dest)) {
      return fail("EINVAL", `Cannot add route ${f.format(dest)}/${prefixLen}: host bits set`);
    }
    if (!Number.isFinite(metric) || metric < 0) {
      return fail("EINVAL", `Cannot add route: bad metric ${metric}`);
    }
    if (!f.isZero(gateway) && !this.#onLink(gateway, adapter)) {
      return fail(
        "ENETUNREACH",
        `Cannot add route via ${f.format(gateway)}: gateway not on a network of ${adapter}`,
      );
    }
    if (this.#routes.some((r) => sameSlot(f, r, route, this.opts.gatewayInSlot))) {
      return fail("EEXIST", `Cannot add route ${f.format(dest)}/${prefixLen}: route exists`);
    }
    this.#routes.push({ ...route });
    return { ok: true };
  }

  /**
   * Remove the first route for `dest`/`prefixLen` that also matches every field given in
   * `match`; ESRCH when there is none. Gateway routes that lose their on-link gateway go too.
   */
  remove(dest: A, prefixLen: number, match: Partial<Route<A>> = {}): RouteResult {
    const f = this.family;
    const i = this.#routes.findIndex((r) =>
      f.equal(r.dest, dest) && r.prefixLen === prefixLen &&
      (match.gateway === undefined || f.equal(r.gateway, match.gateway)) &&
      (match.adapter === undefined || r.adapter === match.adapter) &&
      (match.metric === undefined || r.metric === match.metric)
    );
    if (i < 0) return fail("ESRCH", `Cannot remove route ${f.format(dest)}/${prefixLen}`);
    this.#routes.splice(i, 1);
    this.#pruneOrphans();
    this.#redirects.clear();
    return { ok: true };
  }

  /** Remove every route `pred` picks (and routes orphaned by that); returns how many it picked. */
  removeWhere(pred: (route: Readonly<Route<A>>) => boolean): number {
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) => !pred(r));
    const n = before - this.#routes.length;
    if (n > 0) {
      this.#pruneOrphans();
      this.#redirects.clear();
    }
    return n;
  }

  /**
   * Record `addr`/`prefixLen` as configured on `adapter` and add its connected route (source
   * `addr`), which replaces an expiring route in the same slot. Fails like {@link add}; an
   * address already recorded gives EEXIST.
   */
  addConnected(addr: A, prefixLen: number, adapter: string, metric = 0): RouteResult {
    const f = this.family;
    if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > f.bits) {
      return fail("EINVAL", `Cannot add address: bad prefix length ${prefixLen}`);
    }
    if (this.#connected.some((c) => c.adapter === adapter && f.equal(c.addr, addr))) {
      return fail("EEXIST", `Cannot add address ${f.format(addr)} on ${adapter}`);
    }
    const dest = f.mask(addr, prefixLen);
    const zero = f.mask(addr, 0);
    this.#connected.push({ addr, prefixLen, adapter });
    const inSlot = (r: Route<A>) =>
      r.adapter === adapter && f.isZero(r.gateway) && r.prefixLen === prefixLen &&
      f.equal(r.dest, dest) && r.metric === metric;
    this.#routes = this.#routes.filter((r) => !(inSlot(r) && r.expires !== undefined));
    if (!this.#routes.some(inSlot)) {
      this.#routes.push({
        dest,
        prefixLen,
        gateway: zero,
        adapter,
        metric,
        source: addr,
        origin: "connected",
      });
    }
    return { ok: true };
  }

  /**
   * Forget `addr` on `adapter` and remove its connected route (unless another address on the
   * same adapter and network still needs it), then every gateway route left without an
   * on-link gateway. ESRCH when the address was not recorded.
   */
  removeConnected(addr: A, prefixLen: number, adapter: string): RouteResult {
    const f = this.family;
    const i = this.#connected.findIndex((c) =>
      c.adapter === adapter && f.equal(c.addr, addr) && c.prefixLen === prefixLen
    );
    if (i < 0) return fail("ESRCH", `Cannot remove address ${f.format(addr)} from ${adapter}`);
    this.#connected.splice(i, 1);
    const dest = f.mask(addr, prefixLen);
    const sibling = this.#connected.find((c) =>
      c.adapter === adapter && c.prefixLen === prefixLen && f.equal(f.mask(c.addr, prefixLen), dest)
    );
    for (const r of this.#routes) {
      if (
        r.adapter === adapter && f.isZero(r.gateway) && r.prefixLen === prefixLen &&
        f.equal(r.dest, dest) && r.source !== undefined && f.equal(r.source, addr)
      ) r.source = sibling?.addr;
    }
    if (!sibling) {
      this.#routes = this.#routes.filter((r) =>
        !(r.adapter === adapter && f.isZero(r.gateway) && r.prefixLen === prefixLen &&
          f.equal(r.dest, dest))
      );
    }
    this.#pruneOrphans();
    this.#redirects.clear();
    return { ok: true };
  }

  /** Addresses recorded with {@link addConnected}, optionally on one adapter only. */
  addresses(adapter?: string): Array<{ addr: A; prefixLen: number; adapter: string }> {
    return this.#connected.filter((c) => adapter === undefined || c.adapter === adapter)
      .map((c) => ({ ...c }));
  }

  /**
   * Where to send a packet for `dst`, or undefined (the caller reports ENETUNREACH). A
   * redirect entry wins over the table while it has not expired at `now`; without `now`
   * redirects are not consulted.
   */
  routeTo(dst: A, now?: number): RouteDecision<A> | undefined {
    const f = this.family;
    if (now !== undefined) {
      const k = f.key(dst);
      const red = this.#redirects.get(k);
      if (red && now >= red.expires) {
        this.#redirects.delete(k);
        this.stats.redirectExpired++;
      } else if (red) {
        const route: Route<A> = {
          dest: dst,
          prefixLen: f.bits,
          gateway: red.gateway,
          adapter: red.adapter,
          metric: 0,
        };
        return {
          adapter: red.adapter,
          nextHop: red.gateway,
          source: this.#sourceFor(route),
          route,
          redirected: true,
        };
      }
    }
    const route = this.lookup(dst, undefined, now);
    if (!route) return undefined;
    return {
      adapter: route.adapter,
      nextHop: f.isZero(route.gateway) ? dst : route.gateway,
      source: this.#sourceFor(route),
      route: { ...route },
      redirected: false,
    };
  }

  /**
   * The table's best route for `dst` (longest prefix, then lowest metric), ignoring redirects
   * and routes on adapters that are down; with `now`, routes expired by then are skipped too.
   */
  lookup(dst: A, adapter?: string, now?: number): Route<A> | undefined {
    const f = this.family;
    let best: Route<A> | undefined;
    for (const r of this.#routes) {
      if (adapter !== undefined && r.adapter !== adapter) continue;
      if (now !== undefined && r.expires !== undefined && now >= r.expires) continue;
      if (!this.opts.adapterUp(r.adapter)) continue;
      if (!f.equal(f.mask(dst, r.prefixLen), r.dest)) continue;
      if (
        !best || r.prefixLen > best.prefixLen ||
        (r.prefixLen === best.prefixLen && r.metric < best.metric)
      ) best = r;
    }
    return best;
  }

  /**
   * Apply an ICMP redirect for `dst` to `newGateway`, received from `from`. Honoured only when
   * the current route for `dst` goes through `from` and `newGateway` is on a connected network
   * of the same adapter (RFC 1122 §3.2.2.2); the host route then lasts `redirectTtlMs`.
   */
  applyRedirect(dst: A, newGateway: A, from: A, now: number): RedirectOutcome {
    const outcome = this.#checkRedirect(dst, newGateway, from, now);
    if (outcome !== "accepted") {
      this.stats.redirectRejected++;
      return outcome;
    }
    const f = this.family;
    const current = this.routeTo(dst, now);
    if (!current) return "no-route";
    const k = f.key(dst);
    this.#redirects.delete(k);
    if (this.#redirects.size >= this.opts.maxRedirects) this.#evictRedirect();
    this.#redirects.set(k, {
      dst,
      gateway: newGateway,
      adapter: current.adapter,
      expires: now + this.opts.redirectTtlMs,
    });
    this.stats.redirectAccepted++;
    return "accepted";
  }

  /** Drop routes and redirect entries that expired by `now`. */
  poll(now: number): void {
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) => r.expires === undefined || now < r.expires);
    if (this.#routes.length < before) {
      this.stats.routesExpired += before - this.#routes.length;
      this.#pruneOrphans();
      this.#redirects.clear();
    }
    for (const [k, r] of this.#redirects) {
      if (now >= r.expires) {
        this.#redirects.delete(k);
        this.stats.redirectExpired++;
      }
    }
  }

  /** When the next route or redirect entry expires, or undefined when there is none. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const r of this.#routes) {
      if (r.expires !== undefined && (next === undefined || r.expires < next)) next = r.expires;
    }
    for (const r of this.#redirects.values()) {
      if (next === undefined || r.expires < next) next = r.expires;
    }
    return next;
  }

  /** Every route, most specific first, then by metric (for the `route` tool). */
  list(): Route<A>[] {
    return this.#routes.map((r) => ({ ...r }))
      .sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
  }

  /** Redirect entries still valid at `now`. */
  listRedirects(now: number): RedirectEntry<A>[] {
    return [...this.#redirects.values()].filter((r) => now < r.expires).map((r) => ({ ...r }));
  }

  #checkRedirect(dst: A, newGateway: A, from: A, now: number): RedirectOutcome {
    const f = this.family;
    const current = this.routeTo(dst, now);
    if (!current) return "no-route";
    if (f.equal(current.nextHop, dst) || !f.equal(current.nextHop, from)) {
      return "not-from-gateway";
    }
    if (f.isZero(newGateway) || f.equal(newGateway, from)) return "bad-gateway";
    if (this.#connected.some((c) => f.equal(c.addr, newGateway))) return "bad-gateway";
    if (!this.#onLink(newGateway, current.adapter)) return "gateway-not-on-link";
    return "accepted";
  }

  #evictRedirect(): void {
    let victim: [string | number, RedirectEntry<A>] | undefined;
    for (const e of this.#redirects) if (!victim || e[1].expires < victim[1].expires) victim = e;
    if (victim) {
      this.#redirects.delete(victim[0]);
      this.stats.redirectEvicted++;
    }
  }

  /** True when `addr` is inside a connected route of `adapter`. */
  #onLink(addr: A, adapter: string): boolean {
    const f = this.family;
    return this.#routes.some((r) =>
      r.adapter === adapter && f.isZero(r.gateway) && f.equal(f.mask(addr, r.prefixLen), r.dest)
    );
  }

  #pruneOrphans(): void {
    const f = this.family;
    const before = this.#routes.length;
    this.#routes = this.#routes.filter((r) =>
      f.isZero(r.gateway) || this.#onLink(r.gateway, r.adapter)
    );
    this.stats.orphanedRoutes += before - this.#routes.length;
  }

  /** The route's own source, else an address of the adapter on the next hop's network. */
  #sourceFor(route: Route<A>): A | undefined {
    if (route.source !== undefined) return route.source;
    const f = this.family;
    const hop = f.isZero(route.gateway) ? route.dest : route.gateway;
    const onNet = this.#connected.find((c) =>
      c.adapter === route.adapter && f.equal(f.mask(hop, c.prefixLen), f.mask(c.addr, c.prefixLen))
    );
    return (onNet ?? this.#connected.find((c) => c.adapter === route.adapter))?.addr;
  }
}

function sameSlot<A>(f: AddrFamily<A>, a: Route<A>, b: Route<A>, gateway: boolean): boolean {
  return f.equal(a.dest, b.dest) && a.prefixLen === b.prefixLen && a.metric === b.metric &&
    a.adapter === b.adapter && (!gateway || f.equal(a.gateway, b.gateway));
}

function fail(code: ErrnoCode, message: string): RouteResult {
  return { ok: false, code, errno: Errno[code], message };
}
