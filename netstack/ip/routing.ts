/**
 * The IPv4 routing table (RFC 1812 §5.2.4 longest-prefix match, lowest metric between equals),
 * with connected routes, ICMP redirect host routes and broadcast recognition. IPv4 addresses
 * are unsigned 32-bit numbers (`0x0a000001` is 10.0.0.1).
 *
 * @example
 * const t = new RoutingTable4();
 * t.addConnected(0x0a000002, 24, "eth0");
 * t.add({ dest: 0, prefixLen: 0, gateway: 0x0a000001, adapter: "eth0", metric: 0 });
 * t.routeTo(0x08080808); // { adapter: "eth0", nextHop: 0x0a000001, source: 0x0a000002, ... }
 */
import {
  type AddrFamily,
  type RedirectEntry,
  type Route,
  type RouteDecision,
  RouteTable,
  type RouteTableOptions,
} from "./route_table.ts";

export type { RedirectOutcome, RouteResult, RouteTableOptions } from "./route_table.ts";
export { DEFAULT_ROUTE_TABLE_OPTIONS } from "./route_table.ts";

/** An IPv4 route; `gateway` 0 means directly connected. */
export type Route4 = Route<number>;
/** Where an IPv4 packet goes. */
export type RouteDecision4 = RouteDecision<number>;
/** An IPv4 host route learned from an ICMP redirect. */
export type RedirectEntry4 = RedirectEntry<number>;

/** The limited broadcast address 255.255.255.255. */
export const LIMITED_BROADCAST = 0xffffffff;

/** The netmask for an IPv4 prefix length (0..32). */
export function mask4(prefixLen: number): number {
  return prefixLen <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLen, 32))) >>> 0;
}

/** The IPv4 {@link AddrFamily}. */
export const IPV4_FAMILY: AddrFamily<number> = {
  bits: 32,
  mask: (addr, prefixLen) => (addr & mask4(prefixLen)) >>> 0,
  equal: (a, b) => a >>> 0 === b >>> 0,
  key: (addr) => addr >>> 0,
  isZero: (addr) => addr >>> 0 === 0,
  format: (addr) => [24, 16, 8, 0].map((s) => (addr >>> s) & 0xff).join("."),
};

/** An address configured on an adapter, as {@link isBroadcast} needs it. */
export interface AdapterAddr4 {
  /** The address. */
  addr: number;
  /** Its prefix length. */
  prefixLen: number;
}

/**
 * True when `dst` is the limited broadcast or the directed broadcast (all host bits set) of
 * one of `adapterAddrs`. /31 and /32 networks have no directed broadcast (RFC 3021).
 */
export function isBroadcast(dst: number, adapterAddrs: readonly AdapterAddr4[]): boolean {
  dst >>>= 0;
  if (dst === LIMITED_BROADCAST) return true;
  for (const { addr, prefixLen } of adapterAddrs) {
    if (prefixLen >= 31) continue;
    if (((addr | ~mask4(prefixLen)) >>> 0) === dst) return true;
  }
  return false;
}

/** True for a multicast address (224.0.0.0/4). */
export function isMulticast4(addr: number): boolean {
  return addr >>> 28 === 0xe;
}

/** The IPv4 routing table of one host. */
export class RoutingTable4 extends RouteTable<number> {
  constructor(opts: Partial<RouteTableOptions> = {}) {
    super(IPV4_FAMILY, opts);
  }

  /**
   * As for any family, except that limited broadcast and multicast destinations leave on the
   * chosen route's adapter with the destination itself as next hop, never to a gateway (so
   * 255.255.255.255 goes out on the default route's adapter, as on Linux).
   */
  override routeTo(dst: number, now?: number): RouteDecision4 | undefined {
    dst >>>= 0;
    const d = super.routeTo(dst, now);
    if (!d || (dst !== LIMITED_BROADCAST && !isMulticast4(dst))) return d;
    const onAdapter = this.addresses(d.adapter)[0]?.addr;
    return { ...d, nextHop: dst, source: d.route.source ?? onAdapter ?? d.source };
  }

  /** {@link isBroadcast} against the addresses recorded with `addConnected` (on one adapter). */
  isBroadcastFor(dst: number, adapter?: string): boolean {
    return isBroadcast(dst, this.addresses(adapter));
  }
}
