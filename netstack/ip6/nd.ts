/**
 * Neighbour Discovery and address autoconfiguration for one host (RFC 4861, 4862, 3810):
 * link-local addresses at link-up, Duplicate Address Detection (one NS from ::, 1 s), NS/NA
 * handling, router solicitation, router advertisements taken in (default route, on-link
 * prefixes and SLAAC addresses with lifetimes, applied by `ra_input.ts`), the groups it needs
 * joined through MLD (`mld.ts`) — and a router mode that advertises the interface's configured
 * /64 prefixes (periodic RAs, answers to RS).
 */
import type { Ipv6Address, NetInterface } from "../link/interface.ts";
import { encodeIcmpv6 } from "../wire/icmpv6.ts";
import { ETHERTYPE_IPV6 } from "../wire/ethernet.ts";
import { encodeIpv6, Ipv6NextHeader, type Ipv6Repr } from "../wire/ipv6.ts";
import type { NdpOption, NdpRepr } from "../wire/ndp.ts";
import {
  ALL_NODES,
  ALL_ROUTERS,
  equal6,
  isLinkLocal6,
  isMulticast6,
  isUnspecified6,
  linkLocalFromMac,
  LOOPBACK6,
  maskPrefix6,
  solicitedNode,
  UNSPECIFIED6,
} from "./addr6.ts";
import type { RoutingTable6 } from "./routing6.ts";
import { applyRouterAdvert, type RaHost } from "./ra_input.ts";
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { IpHost } from "../ip/ip_host.ts";
import { linkLocal } from "./mld.ts";
import type { NdpCaches } from "./ndp_caches.ts";
import type { Ipv6Send, Route6 as Route6Choice } from "./route6.ts";

/** DAD: one transmission, then wait RetransTimer (RFC 4862 §5.1 defaults). */
export const DAD_WAIT = 1000;
/** Router solicitations sent at link-up (RFC 4861 §10). */
export const MAX_RTR_SOLICITATIONS = 3;
/** Interval between router solicitations. */
export const RTR_SOLICITATION_INTERVAL = 4000;
/** Interval between the first few unsolicited RAs of a router. */
export const INITIAL_RA_INTERVAL = 16_000;
/** Interval between later unsolicited RAs (between MinRtrAdvInterval and MaxRtrAdvInterval). */
export const RA_INTERVAL = 200_000;
/** Least time between two RAs on one interface (RFC 4861 §10 MIN_DELAY_BETWEEN_RAS). */
export const MIN_DELAY_BETWEEN_RAS = 3000;
/** Router lifetime a Serin router advertises, seconds. */
export const ROUTER_LIFETIME = 1800;
/** Prefix lifetimes a Serin router advertises, seconds (RFC 4861 §6.2.1 defaults). */
export const PREFIX_VALID = 2_592_000;
/** Preferred lifetime of advertised prefixes, seconds. */
export const PREFIX_PREFERRED = 604_800;

interface IfaceNd {
  rsLeft: number;
  rsAt?: number;
  raAt?: number;
  raSent: number;
  routerFound: boolean;
  /** When the last RA went out (MIN_DELAY_BETWEEN_RAS applies to solicited ones). */
  lastRa: number;
}

/** What Neighbour Discovery needs from the IPv6 layer. */
export interface NdHost {
  readonly host: IpHost;
  readonly forwarding: boolean;
  /** The clock's current time (ms). */
  readonly now: number;
  /** Connected, static and RA-learned routes. */
  readonly routes: RoutingTable6;
  /** The NDP cache of each interface. */
  readonly neighbours: NdpCaches;
  /** Link MTUs learned from RA MTU options, by interface index. */
  readonly linkMtu: Map<number, number>;
  /** Default hop limit, set from an RA's Cur Hop Limit. */
  hopLimit: number;
  /** Source address selection towards `dst` (RFC 6724). */
  selectSource(iface: NetInterface, dst: Uint8Array): Uint8Array;
  /** Send a datagram along `route`. */
  output(route: Route6Choice, d: Ipv6Send): ErrnoCode | undefined;
  /** Join or leave a multicast group (MLD, `mld.ts`). */
  joinGroup(iface: NetInterface, group: Uint8Array, join: boolean): void;
  /** Ask for a timer wake-up. */
  rearm(): void;
}

/** NDP, DAD, SLAAC and RA for an IPv6 layer (MLD is `mld.ts`). */
export class NeighbourDiscovery {
  #ifs = new Map<NetInterface, IfaceNd>();

  constructor(readonly ip: NdHost) {
    this.#raHost = {
      host: ip.host,
      routes: ip.routes,
      linkMtu: ip.linkMtu,
      setHopLimit: (h) => (ip.hopLimit = h),
      addSlaacAddress: (iface, addr, valid, preferred) => {
        this.addAddress(iface, addr, 64, "slaac", valid, preferred);
      },
    };
  }

  #state(iface: NetInterface): IfaceNd {
    let s = this.#ifs.get(iface);
    if (!s) {
      this.#ifs.set(iface, s = { rsLeft: 0, raSent: 0, routerFound: false, lastRa: -Infinity });
    }
    return s;
  }

  /** True when `iface` acts as a router (forwarding on, not loopback). */
  isRouter(iface: NetInterface): boolean {
    return this.ip.forwarding && !iface.loopback;
  }

  /** What router advertisement processing (ra_input.ts) calls back into. */
  readonly #raHost: RaHost;

  /** A router answered on `iface`: stop soliciting. */
  #routerFound(iface: NetInterface) {
    const st = this.#state(iface);
    st.routerFound = true;
    st.rsAt = undefined;
  }

  // ---- addresses ----

  /** Bring IPv6 up on `iface`. */
  ifaceUp(iface: NetInterface): void {
    if (iface.loopback) {
      this.addAddress(iface, LOOPBACK6, 128, "loopback", Infinity, Infinity);
      return;
    }
    this.ip.joinGroup(iface, ALL_NODES, true);
    if (this.isRouter(iface)) this.ip.joinGroup(iface, ALL_ROUTERS, true);
    this.#state(iface);
    if (!iface.addrs6.some((a) => isLinkLocal6(a.addr))) {
      this.addAddress(iface, linkLocalFromMac(iface.mac), 64, "link-local", Infinity, Infinity);
    }
  }

  /** The link came back: every usable address is tentative again and gets one DAD probe. */
  linkUp(iface: NetInterface): void {
    if (iface.loopback) return;
    const now = this.ip.now;
    const st = this.#state(iface);
    st.routerFound = false;
    for (const a of iface.addrs6) {
      if (a.state === "duplicate") continue;
      a.state = "tentative";
      a.dadDoneAt = now + DAD_WAIT;
      this.#send(iface, UNSPECIFIED6, solicitedNode(a.addr), {
        kind: "neighbor-solicit",
        target: a.addr,
        options: [],
      });
    }
  }

  /** Add an address: tentative with DAD (preferred at once on loopback). */
  addAddress(
    iface: NetInterface,
    addr: Uint8Array,
    prefixLen: number,
    origin: Ipv6Address["origin"],
    validUntil: number,
    preferredUntil: number,
  ): Ipv6Address {
    const now = this.ip.now;
    const dad = !iface.loopback;
    const a: Ipv6Address = {
      addr: addr.slice(),
      prefixLen,
      origin,
      state: dad ? "tentative" : "preferred",
      validUntil,
      preferredUntil,
      dadDoneAt: dad ? now + DAD_WAIT : undefined,
    };
    iface.addrs6.push(a);
    if (prefixLen < 128) this.ip.routes.addConnected(addr, prefixLen, iface.name, 256);
    else if (iface.loopback) this.ip.routes.addConnected(addr, prefixLen, iface.name, 0);
    if (dad) {
      this.ip.joinGroup(iface, solicitedNode(addr), true);
      this.#send(iface, UNSPECIFIED6, solicitedNode(addr), {
        kind: "neighbor-solicit",
        target: a.addr,
        options: [],
      });
      this.ip.host.count("ndp: dad-started");
    }
    this.ip.rearm();
    return a;
  }

  /** Remove an address, leaving its solicited-node group. */
  removeAddress(iface: NetInterface, a: Ipv6Address): void {
    const i = iface.addrs6.indexOf(a);
    if (i < 0) return;
    iface.addrs6.splice(i, 1);
    if (a.state !== "duplicate" && !iface.loopback) {
      this.ip.joinGroup(iface, solicitedNode(a.addr), false);
    }
    // The connected route stays while another address of the prefix needs it (ESRCH for a
    // /128 that never had one is fine).
    this.ip.routes.removeConnected(a.addr, a.prefixLen, iface.name);
  }

  #duplicate(iface: NetInterface, a: Ipv6Address) {
    a.state = "duplicate";
    a.dadDoneAt = undefined;
    this.ip.joinGroup(iface, solicitedNode(a.addr), false);
    this.ip.host.count("ndp: dad-duplicate");
  }

  // ---- sending ----

  /** Send an NDP message with hop limit 255 (on-link only, RFC 4861 §7.1). */
  #send(iface: NetInterface, src: Uint8Array, dst: Uint8Array, m: NdpRepr) {
    const payload = encodeIcmpv6({ kind: "ndp", message: m }, { src, dst });
    this.ip.output({ iface, nextHop: dst, src }, {
      src,
      dst,
      nextHeader: Ipv6NextHeader.ICMPV6,
      hopLimit: 255,
      payload,
    });
  }

  /** Send a Neighbor Solicitation for `target` (to its solicited-node group, or unicast). */
  sendSolicit(iface: NetInterface, target: Uint8Array, mac?: Uint8Array): void {
    const src = this.ip.selectSource(iface, target);
    if (isUnspecified6(src)) return this.ip.host.count("ndp: no-source-for-ns");
    const dst = mac ? target : solicitedNode(target);
    const payload = encodeIcmpv6({
      kind: "ndp",
      message: {
        kind: "neighbor-solicit",
        target,
        options: [{ kind: "source-lladdr", addr: iface.mac }],
      },
    }, { src, dst });
    const packet = { src, dst, nextHeader: Ipv6NextHeader.ICMPV6, hopLimit: 255, payload };
    if (mac) {
      // A unicast probe goes straight to the cached MAC, not through resolution again.
      this.ip.host.sendFrame(
        iface,
        mac,
        ETHERTYPE_IPV6,
        encodeIpv6({ trafficClass: 0, flowLabel: 0, ...packet }),
      );
      return;
    }
    this.ip.output({ iface, nextHop: dst, src }, packet);
  }

  #sendRs(iface: NetInterface) {
    const src = linkLocal(iface) ?? UNSPECIFIED6;
    const options: NdpOption[] = isUnspecified6(src)
      ? []
      : [{ kind: "source-lladdr", addr: iface.mac }];
    this.#send(iface, src, ALL_ROUTERS, { kind: "router-solicit", options });
    this.ip.host.count("ndp: rs-sent");
  }

  #sendRa(iface: NetInterface, dst: Uint8Array) {
    const src = linkLocal(iface);
    if (!src) return;
    const options: NdpOption[] = [{ kind: "source-lladdr", addr: iface.mac }, {
      kind: "mtu",
      mtu: iface.mtu,
    }];
    for (const p of this.advertisedPrefixes(iface)) {
      options.push({
        kind: "prefix-info",
        prefixLength: 64,
        onLink: true,
        autonomous: true,
        validLifetime: PREFIX_VALID,
        preferredLifetime: PREFIX_PREFERRED,
        prefix: p,
      });
    }
    this.#send(iface, src, dst, {
      kind: "router-advert",
      curHopLimit: 64,
      managed: false,
      other: false,
      routerLifetime: ROUTER_LIFETIME,
      reachableTime: 0,
      retransTimer: 0,
      options,
    });
    this.#state(iface).lastRa = this.ip.now;
    this.ip.host.count("ndp: ra-sent");
  }

  /** The /64 prefixes a router advertises on `iface`: those of its configured global addresses. */
  advertisedPrefixes(iface: NetInterface): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const a of iface.addrs6) {
      if (a.origin !== "manual" || a.prefixLen !== 64 || isLinkLocal6(a.addr)) continue;
      if (a.state === "duplicate") continue;
      const p = maskPrefix6(a.addr, 64);
      if (!out.some((x) => equal6(x, p))) out.push(p);
    }
    return out;
  }

  // ---- input ----

  /** Handle an NDP message received on `iface`. */
  input(iface: NetInterface, ip: Ipv6Repr, m: NdpRepr, toMulticast: boolean): void {
    if (ip.hopLimit !== 255) return iface.dropRx("ndp: bad-hop-limit");
    const now = this.ip.now;
    const sllao = m.options.find((o) => o.kind === "source-lladdr")?.addr;
    switch (m.kind) {
      case "neighbor-solicit": {
        if (isMulticast6(m.target)) return iface.dropRx("ndp: bad-target");
        const unspec = isUnspecified6(ip.src);
        if (unspec && sllao) return iface.dropRx("ndp: bad-ns");
        const a = iface.addrs6.find((x) => equal6(x.addr, m.target));
        if (!a) return this.ip.host.count("ndp: ns-not-for-us");
        if (a.state === "tentative") {
          if (unspec) this.#duplicate(iface, a);
          return;
        }
        if (a.state === "duplicate") return;
        if (unspec) {
          this.#sendNa(iface, a.addr, ALL_NODES, false);
          return;
        }
        if (sllao) this.ip.neighbours.of(iface).update(ip.src, sllao, now, { create: true });
        this.#sendNa(iface, a.addr, ip.src, true);
        return;
      }
      case "neighbor-advert": {
        if (toMulticast && m.solicited) return iface.dropRx("ndp: bad-na");
        const a = iface.addrs6.find((x) => x.state !== "duplicate" && equal6(x.addr, m.target));
        if (a) {
          if (a.state === "tentative") this.#duplicate(iface, a);
          else this.ip.host.count("ndp: address-conflict");
          return;
        }
        const tllao = m.options.find((o) => o.kind === "target-lladdr")?.addr;
        const known = this.ip.neighbours.get(iface, m.target);
        const wasRouter = known?.router ?? false;
        if (wasRouter && !m.router) {
          // No longer a router (RFC 4861 §7.2.5): stop using it as one.
          this.ip.routes.removeWhere((r) =>
            r.adapter === iface.name && equal6(r.gateway, m.target) && r.origin === "ra"
          );
        }
        // Without a target link-layer option the NA can only confirm the cached address.
        const mac = tllao ?? (known?.state === "INCOMPLETE" ? undefined : known?.mac);
        if (!known) return this.ip.host.count("ndp: unsolicited-na-ignored");
        if (!mac) return;
        this.ip.neighbours.of(iface).update(m.target, mac, now, {
          solicited: m.solicited,
          override: m.override,
          router: m.router,
        });
        this.ip.rearm();
        return;
      }
      case "router-solicit": {
        if (!this.isRouter(iface)) return this.ip.host.count("ndp: rs-ignored");
        if (sllao && !isUnspecified6(ip.src)) {
          this.ip.neighbours.of(iface).update(ip.src, sllao, now, { create: true });
        }
        if (this.advertisedPrefixes(iface).length === 0) return;
        const st = this.#state(iface);
        if (now - st.lastRa < MIN_DELAY_BETWEEN_RAS) {
          // Rate limited: fold the answer into a multicast RA as soon as one is allowed.
          const at = st.lastRa + MIN_DELAY_BETWEEN_RAS;
          if (st.raAt === undefined || st.raAt > at) st.raAt = at;
          this.ip.rearm();
          return this.ip.host.count("ndp: rs-answer-delayed");
        }
        this.#sendRa(iface, sllao && !isUnspecified6(ip.src) ? ip.src : ALL_NODES);
        return;
      }
      case "router-advert":
        if (!isLinkLocal6(ip.src)) return iface.dropRx("ndp: ra-not-link-local");
        if (this.isRouter(iface)) return this.ip.host.count("ndp: ra-ignored-as-router");
        if (sllao) {
          this.ip.neighbours.of(iface).update(ip.src, sllao, now, { create: true, router: true });
        }
        this.#routerFound(iface);
        return applyRouterAdvert(this.#raHost, iface, ip.src, m, now);
      case "redirect":
        return this.ip.host.count("ndp: redirect-ignored");
      default: {
        const never: never = m;
        throw new Error(`bad NDP ${JSON.stringify(never)}`);
      }
    }
  }

  #sendNa(iface: NetInterface, target: Uint8Array, dst: Uint8Array, solicited: boolean) {
    const m: NdpRepr = {
      kind: "neighbor-advert",
      router: this.isRouter(iface),
      solicited,
      override: true,
      target,
      options: [{ kind: "target-lladdr", addr: iface.mac }],
    };
    this.#send(iface, target, dst, m);
  }

  /** Add a route from an RA; one in the same slot (a connected route) keeps it. */
  // ---- timers ----

  /** DAD completion, address lifetimes, router solicitations and advertisements. */
  poll(now: number): void {
    for (const iface of this.ip.host.interfaces) {
      const st = this.#state(iface);
      for (const a of [...iface.addrs6]) {
        if (a.state === "tentative" && a.dadDoneAt !== undefined && a.dadDoneAt <= now) {
          a.state = a.preferredUntil > now ? "preferred" : "deprecated";
          a.dadDoneAt = undefined;
          this.ip.host.count("ndp: dad-ok");
          if (isLinkLocal6(a.addr) && !iface.loopback) {
            if (this.isRouter(iface)) st.raAt = now;
            else if (!st.routerFound) {
              st.rsLeft = MAX_RTR_SOLICITATIONS;
              st.rsAt = now;
            }
          }
        }
        if (a.validUntil <= now) {
          this.removeAddress(iface, a);
          this.ip.host.count("ndp: address-expired");
          continue;
        }
        if (a.state === "preferred" && a.preferredUntil <= now) a.state = "deprecated";
      }
      if (st.rsAt !== undefined && st.rsAt <= now) {
        this.#sendRs(iface);
        st.rsLeft--;
        st.rsAt = st.rsLeft > 0 ? now + RTR_SOLICITATION_INTERVAL : undefined;
      }
      if (st.raAt !== undefined && st.raAt <= now) {
        if (this.isRouter(iface) && this.advertisedPrefixes(iface).length > 0) {
          this.#sendRa(iface, ALL_NODES);
          st.raSent++;
        }
        st.raAt = this.isRouter(iface)
          ? now + (st.raSent < 3 ? INITIAL_RA_INTERVAL : RA_INTERVAL)
          : undefined;
      }
    }
  }

  /** Earliest timer. */
  nextDeadline(): number | undefined {
    let best = Infinity;
    for (const iface of this.ip.host.interfaces) {
      for (const a of iface.addrs6) {
        if (a.dadDoneAt !== undefined) best = Math.min(best, a.dadDoneAt);
        best = Math.min(best, a.validUntil);
        if (a.state === "preferred") best = Math.min(best, a.preferredUntil);
      }
      const st = this.#ifs.get(iface);
      if (st?.rsAt !== undefined) best = Math.min(best, st.rsAt);
      if (st?.raAt !== undefined) best = Math.min(best, st.raAt);
    }
    return best === Infinity ? undefined : best;
  }
}
