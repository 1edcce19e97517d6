/**
 * The IPv6 routing table: the same longest-prefix-match table as {@link RoutingTable4} over
 * 16-byte addresses with prefix lengths up to 128; the gateway `::` means on-link, routes
 * through different routers may share a prefix (`gatewayInSlot`), and redirects follow
 * RFC 4861 §8 (only from the current first hop).
 */
import {
  type AddrFamily,
  type RedirectEntry,
  type Route,
  type RouteDecision,
  RouteTable,
  type RouteTableOptions,
} from "../ip/route_table.ts";

export type { RedirectOutcome, RouteResult, RouteTableOptions } from "../ip/route_table.ts";

/** An IPv6 route; `gateway` all-zero (`::`) means directly connected. */
export type Route6 = Route<Uint8Array>;
/** Where an IPv6 packet goes. */
export type RouteDecision6 = RouteDecision<Uint8Array>;
/** An IPv6 host route learned from a redirect. */
export type RedirectEntry6 = RedirectEntry<Uint8Array>;

/** The unspecified address `::` (a fresh copy each call). */
export function unspecified6(): Uint8Array {
  return new Uint8Array(16);
}

/** `addr` with every bit past `prefixLen` cleared (a new array). */
export function mask6(addr: Uint8Array, prefixLen: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - i * 8));
    out[i] = (addr[i] ?? 0) & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

function equal6(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex6(addr: Uint8Array): string {
  return Array.from(addr, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The IPv6 {@link AddrFamily} (`format` gives uncompressed hex groups). */
export const IPV6_FAMILY: AddrFamily<Uint8Array> = {
  bits: 128,
  mask: mask6,
  equal: equal6,
  key: hex6,
  isZero: (addr) => addr.every((b) => b === 0),
  format: (addr) => hex6(addr).replace(/(.{4})(?!$)/g, "$1:"),
};

/** The IPv6 routing table of one host. */
export class RoutingTable6 extends RouteTable<Uint8Array> {
  constructor(opts: Partial<RouteTableOptions> = {}) {
    super(IPV6_FAMILY, { gatewayInSlot: true, ...opts });
  }
}
