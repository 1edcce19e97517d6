/**
 * IPv6 for one host (RFC 8200, 4443), composed of its parts: addresses, routes and source
 * selection (here), input and demultiplexing (`input6.ts`, extension headers and reassembly in
 * `ext_headers.ts`), output with fragmentation to the path MTU (`output6.ts`), ICMPv6
 * (`icmp6.ts`), forwarding (`forward6.ts`), Neighbour Discovery, DAD, SLAAC and router
 * advertisements (`nd.ts`), MLD (`mld.ts`) and the path MTU cache (`ip/pmtu_cache.ts`). It
 * reaches its host and the layers above only through the ports of `ip/ip_host.ts` and
 * `transport6.ts`.
 */
import { IdentGenerator } from "../ip/ident.ts";
import { secretFrom } from "../ip/keyed_hash.ts";
import type { IpHost } from "../ip/ip_host.ts";
import { PMTU_IPV6, PmtuCache, type PmtuEntry, type PmtuUpdate } from "../ip/pmtu_cache.ts";
import type { NeighInfo, RouteInfo } from "../../kernel/bus/messages.ts";
import type { ErrnoCode } from "../../kernel/errno.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import { formatIPv6, formatMac } from "../wire/addr.ts";
import { ETHERTYPE_IPV6 } from "../wire/ethernet.ts";
import {
  Icmpv6DstUnreachableCode,
  type Icmpv6Repr,
  Icmpv6TimeExceededCode,
} from "../wire/icmpv6.ts";
import type { Ipv6Repr } from "../wire/ipv6.ts";
import type { MldRepr } from "../wire/mld.ts";
import type { NdpRepr } from "../wire/ndp.ts";
import { Reassembler } from "../ip/reassembly.ts";
import {
  commonPrefixLen6,
  equal6,
  isLinkLocal6,
  isLinkScopeMulticast6,
  isLoopback6,
  isMulticast6,
  isUnspecified6,
  key6,
  LOOPBACK6,
  maskPrefix6,
  UNSPECIFIED6,
} from "./addr6.ts";
import type { ExtHeaderHost } from "./ext_headers.ts";
import { forward6 } from "./forward6.ts";
import { Icmp6 } from "./icmp6.ts";
import { input6, upper6 } from "./input6.ts";
import { Mld } from "./mld.ts";
import { NeighbourDiscovery } from "./nd.ts";
import { NdpCaches } from "./ndp_caches.ts";
import { output6 } from "./output6.ts";
import type { Ipv6Send, Route6, Route6Constraint, SendOwner6 } from "./route6.ts";
import { Routes6 } from "./routes6.ts";
import type { Raw6Endpoint, Tcp6Port, Udp6Port } from "./transport6.ts";

/** What the IPv6 layer needs from TCP (the port of `transport6.ts`). */
export type Tcp6Layer = Tcp6Port;

/** Options of the IPv6 layer. */
export interface Ipv6Options {
  forwarding: boolean;
  /** Fixed secrets for the simulator and tests; otherwise the CSPRNG's, anew at every boot. */
  seed?: number;
}

/** IPv6 reassembly timeout (RFC 8200 §4.5), ms. */
const REASSEMBLY6_TIMEOUT = 60_000;

/** The IPv6 layer of one host. */
export class Ipv6Stack {
  /** Connected, static and RA-learned routes. */
  readonly routes: Routes6;
  /** The NDP cache of each interface. */
  readonly neighbours: NdpCaches;
  /** Fragments in progress; any overlap drops the datagram (RFC 5722). */
  readonly reassembly = new Reassembler({ overlap: "drop", timeoutMs: REASSEMBLY6_TIMEOUT });
  /** Raw ICMPv6 sockets. */
  readonly raw = new Set<Raw6Endpoint>();
  readonly nd: NeighbourDiscovery;
  readonly mld: Mld;
  readonly icmp: Icmp6;
  /** Fragment Identification values. */
  readonly ident: IdentGenerator;
  forwarding: boolean;
  /** Default hop limit (Cur Hop Limit of the last RA, else 64). */
  hopLimit = 64;
  /** TCP, plugged in by the host. */
  tcp?: Tcp6Port;
  /** UDP demultiplexing, plugged in by the host. */
  udp?: Udp6Port;
  /** Link MTUs learned from RA MTU options, by interface index. */
  readonly linkMtu = new Map<number, number>();
  /** Path MTUs learned from Packet Too Big (RFC 8201; floor 1280, RFC 8200 §5). */
  readonly pmtu = new PmtuCache<Uint8Array>(PMTU_IPV6, key6);
  /** What extension-header processing (ext_headers.ts) calls back into. */
  readonly extHost: ExtHeaderHost = {
    reassembly: this.reassembly,
    now: () => this.now,
    count: (key) => this.host.count(key),
    icmpError: (iface, offending, msg, ok) => this.icmpError(iface, offending, msg, ok),
    rearm: () => this.rearm(),
    upper: (r, proto, payload, nhPointer) => upper6(this, r, proto, payload, nhPointer),
  };

  constructor(readonly host: IpHost, opts: Ipv6Options) {
    this.forwarding = opts.forwarding;
    this.routes = new Routes6({ adapterUp: (name) => host.iface(name)?.up ?? false });
    this.ident = new IdentGenerator(
      secretFrom(opts.seed === undefined ? undefined : opts.seed * 104729),
    );
    this.neighbours = new NdpCaches((iface) => ({
      sendRequest: (target, unicastTo) => this.nd.sendSolicit(iface, target, unicastTo),
      onResolved: (_addr, mac, waiting) => {
        for (const w of waiting) host.sendFrame(iface, mac, ETHERTYPE_IPV6, w.packet);
      },
      onUnreachable: (_addr, waiting) => {
        host.count("ndp: resolution-failed");
        for (const w of waiting) {
          w.owner?.onSendError6("EHOSTUNREACH", w.packet.slice(24, 40));
          this.icmpError(iface, w.packet, {
            kind: "dst-unreachable",
            code: Icmpv6DstUnreachableCode.ADDRESS_UNREACHABLE,
            invoking: w.packet,
          });
        }
      },
    }), opts.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]);
    this.mld = new Mld(this);
    this.icmp = new Icmp6(this);
    this.nd = new NeighbourDiscovery(this);
  }

  /** The clock's current time (ms). */
  get now(): number {
    return this.host.clock.now();
  }

  // ---- configuration ----

  /** Bring IPv6 up on `iface`: ::1 on loopback, else a link-local address, groups and RS. */
  ifaceUp(iface: NetInterface): void {
    this.nd.ifaceUp(iface);
  }

  /** `iface` came back up: its addresses go through DAD again and routers are solicited. */
  linkUp(iface: NetInterface): void {
    this.nd.linkUp(iface);
    this.rearm();
  }

  /** Configure `addr/prefixLen` on `iface` (DAD runs first unless on loopback). */
  addAddress(iface: NetInterface, addr: Uint8Array, prefixLen: number): void {
    if (prefixLen < 0 || prefixLen > 128 || isMulticast6(addr) || isUnspecified6(addr)) {
      throw new ErrnoError("EINVAL", `Bad address ${formatIPv6(addr)}/${prefixLen}`);
    }
    if (iface.addrs6.some((a) => equal6(a.addr, addr))) {
      throw new ErrnoError("EEXIST", "Address exists");
    }
    this.nd.addAddress(iface, addr, prefixLen, "manual", Infinity, Infinity);
  }

  /** Remove an address (and its connected route). */
  removeAddress(iface: NetInterface, addr: Uint8Array, prefixLen: number): void {
    const a = iface.addrs6.find((x) => equal6(x.addr, addr) && x.prefixLen === prefixLen);
    if (!a) {
      throw new ErrnoError("EADDRNOTAVAIL", `${formatIPv6(addr)}/${prefixLen} is not configured`);
    }
    this.nd.removeAddress(iface, a);
  }

  /** Add a route (no gateway = on-link). */
  addRoute(
    dest: Uint8Array,
    prefixLen: number,
    gateway: Uint8Array | undefined,
    iface: NetInterface | undefined,
    metric: number,
  ): void {
    let dev = iface;
    if (!dev) {
      if (!gateway) throw new ErrnoError("EINVAL", "A route needs a gateway or a device");
      dev = this.#lookup(gateway)?.iface;
      if (!dev) {
        throw new ErrnoError("ENETUNREACH", `Gateway ${formatIPv6(gateway)} is not reachable`);
      }
    }
    const res = this.routes.add({
      dest: maskPrefix6(dest, prefixLen),
      prefixLen,
      gateway: gateway?.slice() ?? UNSPECIFIED6.slice(),
      adapter: dev.name,
      metric,
      origin: "static",
    });
    if (!res.ok) throw new ErrnoError(res.code, res.message);
  }

  /** Remove a route. */
  removeRoute(
    dest: Uint8Array,
    prefixLen: number,
    gateway: Uint8Array | undefined,
    iface: NetInterface | undefined,
  ): void {
    const d = maskPrefix6(dest, prefixLen);
    const n = this.routes.removeWhere((r) =>
      r.prefixLen === prefixLen && equal6(r.dest, d) &&
      (!gateway || equal6(r.gateway, gateway)) && (!iface || r.adapter === iface.name)
    );
    if (n === 0) throw new ErrnoError("ESRCH", "No such route");
  }

  /** Routes for `route -n`. */
  routeList(): RouteInfo[] {
    const now = this.now;
    return this.routes.list().filter((r) => r.expires === undefined || r.expires > now).map(
      (r) => {
        const gw = !isUnspecified6(r.gateway);
        return {
          family: 10 as const,
          dest: formatIPv6(r.dest),
          prefixLen: r.prefixLen,
          gateway: gw ? formatIPv6(r.gateway) : undefined,
          iface: r.adapter,
          metric: r.metric,
          flags: "U" + (gw ? "G" : "") + (r.prefixLen === 128 ? "H" : "") +
            (r.origin === "ra" ? "D" : ""),
        };
      },
    );
  }

  /** Neighbour entries for `ip -6 neigh`. */
  neighbourList(): NeighInfo[] {
    return this.neighbours.list().map(({ iface, entry }) => ({
      family: 10 as const,
      addr: formatIPv6(entry.ip),
      mac: entry.mac ? formatMac(entry.mac) : undefined,
      iface: iface.name,
      state: entry.state.toLowerCase(),
    }));
  }

  // ---- routing ----

  /** True if `addr` is a usable address of this host (or ::1). */
  isLocal(addr: Uint8Array): boolean {
    if (isLoopback6(addr)) return true;
    return this.host.interfaces.some((i) =>
      i.addrs6.some((a) =>
        (a.state === "preferred" || a.state === "deprecated") && equal6(a.addr, addr)
      )
    );
  }

  /** Choose interface, next hop, source and MTU for `dst`. */
  route(dst: Uint8Array, c: Route6Constraint = {}): Route6 | undefined {
    const r = this.#choose(dst, c);
    if (r) r.mtu = this.mtuFor(r.iface, dst);
    return r;
  }

  #choose(dst: Uint8Array, c: Route6Constraint): Route6 | undefined {
    const ifaces = this.host.interfaces;
    let dev: NetInterface | undefined;
    if (c.device) {
      dev = this.host.iface(c.device);
      if (!dev) return undefined;
    } else if (c.scopeId) dev = this.host.ifaceByIndex(c.scopeId);
    const lo = ifaces[0];
    if (isLoopback6(dst)) return { iface: lo, nextHop: dst, src: LOOPBACK6 };
    if (!isMulticast6(dst) && this.isLocal(dst)) return { iface: lo, nextHop: dst, src: dst };
    if (isMulticast6(dst)) {
      const iface = dev ?? this.#lookup(dst)?.iface ??
        ifaces.find((i) => !i.loopback && i.up && i.addrs6.length > 0);
      if (!iface || !iface.up) return undefined;
      return { iface, nextHop: dst, src: this.selectSource(iface, dst) };
    }
    const r = this.#lookup(dst, dev);
    if (!r) return undefined;
    return { iface: r.iface, nextHop: r.gateway ?? dst, src: this.selectSource(r.iface, dst) };
  }

  /** The best route for `dst` (on `dev` only, if given): its interface and gateway, if any. */
  #lookup(
    dst: Uint8Array,
    dev?: NetInterface,
  ): { iface: NetInterface; gateway?: Uint8Array } | undefined {
    const r = this.routes.lookup(dst, dev?.name, this.now);
    const iface = r && this.host.iface(r.adapter);
    if (!r || !iface) return undefined;
    return { iface, gateway: isUnspecified6(r.gateway) ? undefined : r.gateway };
  }

  /** Source address selection (RFC 6724, simplified): scope, preferred over deprecated, prefix. */
  selectSource(iface: NetInterface, dst: Uint8Array): Uint8Array {
    const wantLink = isLinkLocal6(dst) || isLinkScopeMulticast6(dst);
    const usable = (i: NetInterface) =>
      i.addrs6.filter((a) => a.state === "preferred" || a.state === "deprecated");
    let best: { addr: Uint8Array; score: number } | undefined;
    const consider = (list: ReturnType<typeof usable>, sameIface: boolean) => {
      for (const a of list) {
        const ll = isLinkLocal6(a.addr);
        if (ll && !sameIface) continue;
        let score = (ll === wantLink ? 1000 : 0) + (a.state === "preferred" ? 500 : 0) +
          (sameIface ? 200 : 0) + commonPrefixLen6(a.addr, dst);
        if (isLoopback6(a.addr) && !iface.loopback) score -= 5000;
        if (!best || score > best.score) best = { addr: a.addr, score };
      }
    };
    consider(usable(iface), true);
    if (!wantLink) {
      for (const i of this.host.interfaces) {
        if (i !== iface && !i.loopback) consider(usable(i), false);
      }
    }
    return best ? best.addr : UNSPECIFIED6;
  }

  // ---- input and output ----

  /** Handle an IPv6 packet received on `iface` (link padding may follow it). */
  input(iface: NetInterface, bytes: Uint8Array, _linkMulticast: boolean): void {
    input6(this, iface, bytes);
  }

  /** Forward a packet that is not for us (`forward6.ts`). */
  forward(iface: NetInterface, ip: Ipv6Repr, packet: Uint8Array): void {
    forward6(this, iface, ip, packet);
  }

  /** A Neighbour Discovery message received on `iface` (`nd.ts`). */
  ndpInput(iface: NetInterface, ip: Ipv6Repr, m: NdpRepr, toMulticast: boolean): void {
    this.nd.input(iface, ip, m, toMulticast);
  }

  /** An MLD message received on `iface` (`mld.ts`). */
  mldInput(iface: NetInterface, ip: Ipv6Repr, m: MldRepr): void {
    this.mld.input(iface, ip, m);
  }

  /** The MTU towards `dst` through `iface` (link, RA MTU option, path MTU). */
  mtuFor(iface: NetInterface, dst: Uint8Array): number {
    return Math.min(this.#linkMtu(iface), this.pathMtu(dst)?.mtu ?? Infinity);
  }

  /** The learned path MTU towards `dst`, if one applies now. */
  pathMtu(dst: Uint8Array): PmtuEntry | undefined {
    return this.pmtu.get(dst, this.now);
  }

  /**
   * A Packet Too Big reported `mtu` towards `dst`: ignored below 1280 (RFC 8200 §5, as Linux) or
   * above the MTU in use, else the path MTU for 10 minutes.
   */
  learnPathMtu(dst: Uint8Array, mtu: number): PmtuUpdate {
    const r = this.route(dst);
    const current = r ? this.#linkMtu(r.iface) : Infinity;
    const u = this.pmtu.report(dst, mtu, current, this.now);
    if (u.changed) this.rearm();
    return u;
  }

  #linkMtu(iface: NetInterface): number {
    return Math.min(iface.mtu, this.linkMtu.get(iface.index) ?? Infinity);
  }

  /** Send a datagram along `route`, fragmenting to the path MTU when needed. */
  output(route: Route6, d: Ipv6Send, owner?: SendOwner6): ErrnoCode | undefined {
    return output6(this, route, d, owner);
  }

  /** Send an ICMPv6 error about `offending`, received on `iface` (`icmp6.ts`). */
  icmpError(
    iface: NetInterface,
    offending: Uint8Array,
    msg: Icmpv6Repr,
    toMulticastOk = false,
  ): void {
    this.icmp.error(iface, offending, msg, toMulticastOk);
  }

  /** Join or leave `group` on `iface` (counted per user; MLD report on the first join). */
  joinGroup(iface: NetInterface, group: Uint8Array, join: boolean): void {
    this.mld.joinGroup(iface, group, join);
  }

  // ---- timers ----

  /** Run due timers: NDP, DAD and router advertisements, address lifetimes, reassembly. */
  poll(now: number): void {
    this.neighbours.poll(now);
    this.routes.poll(now);
    this.pmtu.poll(now);
    this.nd.poll(now);
    for (const expired of this.reassembly.poll(now)) {
      if (!expired.first) continue;
      const first = expired.first.packet;
      const iface = this.host.interfaces.find((i) => !i.loopback) ?? this.host.interfaces[0];
      this.icmpError(iface, first, {
        kind: "time-exceeded",
        code: Icmpv6TimeExceededCode.REASSEMBLY,
        invoking: first,
      });
    }
  }

  /** Earliest time any IPv6-layer timer needs to run. */
  nextDeadline(): number | undefined {
    const ds = [
      this.neighbours.nextDeadline(),
      this.routes.nextDeadline(),
      this.pmtu.nextDeadline(),
      this.nd.nextDeadline(),
      this.reassembly.nextDeadline(),
    ].filter((d): d is number => d !== undefined);
    return ds.length ? Math.min(...ds) : undefined;
  }

  /** Ask the host to re-arm its timer at the earliest deadline. */
  rearm(): void {
    this.host.rearm();
  }
}
