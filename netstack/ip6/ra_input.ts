/**
 * A host taking in a Router Advertisement (RFC 4861 §6.3.4, RFC 4862 §5.5.3): the Cur Hop Limit,
 * a default route through the router for its Router Lifetime, the link MTU from an MTU option,
 * on-link prefixes as routes with their valid lifetimes, and SLAAC addresses for autonomous /64
 * prefixes — with the two-hour rule that keeps a forged short lifetime from killing an address —
 * and DNS servers and search domains from RDNSS and DNSSL options (RFC 8106), handed to the
 * host's resolver configuration, which keeps them for their lifetimes.
 * Whether the interface listens to RAs at all (not as a router, from a link-local source) is
 * `nd.ts`'s concern.
 */
import type { NetInterface } from "../link/interface.ts";
import type { IpHost } from "../ip/ip_host.ts";
import type { NdpOption, NdpRepr } from "../wire/ndp.ts";
import { formatIPv6 } from "../wire/addr.ts";
import {
  equal6,
  eui64Address,
  isLinkLocal6,
  isUnspecified6,
  maskPrefix6,
  prefixMatch6,
  UNSPECIFIED6,
} from "./addr6.ts";
import type { Route6, RoutingTable6 } from "./routing6.ts";

const TWO_HOURS = 7_200_000;
const INFINITE = 0xffffffff;

/** What RA processing needs from the IPv6 layer. */
export interface RaHost {
  readonly host: IpHost;
  /** Connected, static and RA-learned routes. */
  readonly routes: RoutingTable6;
  /** Link MTUs learned from RA MTU options, by interface index. */
  readonly linkMtu: Map<number, number>;
  /** Set the default hop limit (an RA's Cur Hop Limit). */
  setHopLimit(hopLimit: number): void;
  /** Configure a SLAAC address (a /64, through DAD) with its lifetimes. */
  addSlaacAddress(iface: NetInterface, addr: Uint8Array, valid: number, preferred: number): void;
}

/** Apply the Router Advertisement `m` from `router`, received on `iface` at `now`. */
export function applyRouterAdvert(
  ip: RaHost,
  iface: NetInterface,
  router: Uint8Array,
  m: NdpRepr & { kind: "router-advert" },
  now: number,
): void {
  if (m.curHopLimit > 0) ip.setHopLimit(m.curHopLimit);
  ip.routes.removeWhere((r) =>
    r.prefixLen === 0 && r.adapter === iface.name && r.origin === "ra" &&
    equal6(r.gateway, router)
  );
  if (m.routerLifetime > 0) {
    learnRoute(ip, {
      dest: UNSPECIFIED6.slice(),
      prefixLen: 0,
      gateway: router.slice(),
      adapter: iface.name,
      metric: 1024,
      origin: "ra",
      expires: now + m.routerLifetime * 1000,
    });
  }
  for (const o of m.options) {
    if (o.kind === "rdnss" || o.kind === "dnssl" || o.kind === "unknown") {
      dnsOption(ip, o);
      continue;
    }
    if (o.kind === "mtu") {
      if (o.mtu >= 1280 && o.mtu <= iface.mtu) ip.linkMtu.set(iface.index, o.mtu);
      continue;
    }
    if (o.kind !== "prefix-info" || isLinkLocal6(o.prefix)) continue;
    if (o.preferredLifetime > o.validLifetime) continue;
    const valid = o.validLifetime === INFINITE ? Infinity : now + o.validLifetime * 1000;
    const preferred = o.preferredLifetime === INFINITE
      ? Infinity
      : now + o.preferredLifetime * 1000;
    if (o.onLink) {
      const d = maskPrefix6(o.prefix, o.prefixLength);
      ip.routes.removeWhere((r) =>
        r.origin === "ra" && r.adapter === iface.name && isUnspecified6(r.gateway) &&
        r.prefixLen === o.prefixLength && equal6(r.dest, d)
      );
      if (o.validLifetime !== 0) {
        learnRoute(ip, {
          dest: d,
          prefixLen: o.prefixLength,
          gateway: UNSPECIFIED6.slice(),
          adapter: iface.name,
          metric: 256,
          origin: "ra",
          expires: valid === Infinity ? undefined : valid,
        });
      }
    }
    if (o.autonomous && o.prefixLength === 64) slaac(ip, iface, o.prefix, valid, preferred, now);
  }
  ip.host.count("ndp: ra-processed");
}

/**
 * RFC 8106 §5.3.1: pass an RDNSS/DNSSL option's entries on for their lifetime; a malformed one
 * is ignored and counted. A link-local server is skipped (counted): the resolver configuration
 * holds address literals without a zone, so it could not be reached through the right link.
 */
function dnsOption(ip: RaHost, o: NdpOption) {
  if (o.kind === "unknown") {
    if (o.malformed) ip.host.count(`ndp: ra-${o.type === 25 ? "rdnss" : "dnssl"}-malformed`);
    return;
  }
  if (o.kind === "dnssl") {
    ip.host.learnDnsFromRa("search", o.domains, o.lifetime);
    return;
  }
  if (o.kind !== "rdnss") return;
  const servers: string[] = [];
  for (const s of o.servers) {
    if (isLinkLocal6(s)) ip.host.count("ndp: ra-rdnss-link-local-skipped");
    else servers.push(formatIPv6(s));
  }
  if (servers.length > 0) ip.host.learnDnsFromRa("servers", servers, o.lifetime);
}

function learnRoute(ip: RaHost, r: Route6) {
  const res = ip.routes.add(r);
  if (!res.ok) ip.host.count(`ndp: ra-route-${res.code}`);
}

/** RFC 4862 §5.5.3 (d, e): form or refresh an address for an autonomous prefix. */
function slaac(
  ip: RaHost,
  iface: NetInterface,
  prefix: Uint8Array,
  valid: number,
  preferred: number,
  now: number,
) {
  const a = iface.addrs6.find((x) => x.origin === "slaac" && prefixMatch6(x.addr, prefix, 64));
  if (a) {
    a.preferredUntil = preferred;
    // The two-hour rule protects against a forged short valid lifetime.
    if (valid > now + TWO_HOURS || valid > a.validUntil) a.validUntil = valid;
    else if (a.validUntil > now + TWO_HOURS) a.validUntil = now + TWO_HOURS;
    if (a.state === "deprecated" && preferred > now) a.state = "preferred";
    return;
  }
  if (valid <= now) return;
  ip.addSlaacAddress(iface, eui64Address(prefix, iface.mac), valid, preferred);
  ip.host.count("ndp: slaac-address");
}
