/**
 * IPv4 for one host (RFC 791, 1122), composed of its parts: addresses and routes (here), input
 * (`input4.ts`), output with fragmentation (`output4.ts`), ARP (`arp.ts`), ICMP (`icmp4.ts`),
 * IGMP (`igmp.ts`), reassembly (`reassembly.ts`), the path MTU cache (`pmtu_cache.ts`) and
 * optional forwarding between interfaces (`forward4.ts`). It reaches its host and the layers
 * above only through the ports of `ip_host.ts` and `transport4.ts`.
 */
import type { NeighInfo, RouteInfo } from "../../kernel/bus/messages.ts";
import type { ErrnoCode } from "../../kernel/errno.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import { formatIPv4, prefixMask4 } from "../wire/addr.ts";
import { Icmpv4TimeExceededCode } from "../wire/icmpv4.ts";
import type { Ipv4Repr } from "../wire/ipv4.ts";
import { Arp4 } from "./arp.ts";
import { forward4, type Forwarder4 } from "./forward4.ts";
import { Icmp4, type Icmpv4Error } from "./icmp4.ts";
import { IdentGenerator } from "./ident.ts";
import { joinGroup4 } from "./igmp.ts";
import { input4 } from "./input4.ts";
import type { IpHost } from "./ip_host.ts";
import { secretFrom } from "./keyed_hash.ts";
import { output4, transmit4 } from "./output4.ts";
import { Reassembler } from "./reassembly.ts";
import type { Ipv4Send, Route4, SendOwner } from "./route4.ts";
import { RoutingTable4 } from "./routing.ts";
import { PMTU_IPV4, PmtuCache, type PmtuEntry, type PmtuUpdate } from "./pmtu_cache.ts";
import type { Raw4Endpoint, Tcp4Port, Udp4Port } from "./transport4.ts";

/** Options of the IPv4 layer. */
export interface Ipv4Options {
  forwarding: boolean;
  /** Fixed secrets for the simulator and tests; otherwise the CSPRNG's, anew at every boot. */
  seed?: number;
}

/** The IPv4 layer of one host. */
export class Ipv4Stack {
  /** Raw sockets, each given a copy of every datagram it matches. */
  readonly raw = new Set<Raw4Endpoint>();
  readonly routes = new RoutingTable4();
  readonly reassembly = new Reassembler();
  readonly arp: Arp4;
  readonly icmp: Icmp4;
  /** IP Identification values (RFC 6864/7739). */
  readonly ident: IdentGenerator;
  forwarding: boolean;
  /** TCP, plugged in by the host. */
  tcp?: Tcp4Port;
  /** UDP demultiplexing, plugged in by the host. */
  udp?: Udp4Port;
  /** Path MTUs learned from "fragmentation needed" (RFC 1191; floor 552 with a lock). */
  readonly pmtu = new PmtuCache<number>(PMTU_IPV4, (a) => a);
  /** What forwarding (forward4.ts) calls back into. */
  readonly #forwarder: Forwarder4 = {
    route: (dst) => this.route(dst),
    icmpError: (offending, msg) => this.icmpError(offending, msg),
    transmit: (route, datagram) => transmit4(this, route, datagram),
    count: (key) => this.host.count(key),
  };

  constructor(readonly host: IpHost, opts: Ipv4Options) {
    this.forwarding = opts.forwarding;
    this.ident = new IdentGenerator(
      secretFrom(opts.seed === undefined ? undefined : opts.seed * 7919),
    );
    this.arp = new Arp4(this);
    this.icmp = new Icmp4(this);
  }

  // ---- configuration ----

  /** Configure `addr/prefixLen` on `iface`: connected route, gratuitous ARP. */
  addAddress(iface: NetInterface, addr: number, prefixLen: number): void {
    if (iface.addrs4.some((a) => a.addr === addr)) throw new ErrnoError("EEXIST", "Address exists");
    check(this.routes.addConnected(addr, prefixLen, iface.name));
    iface.addrs4.push({ addr, prefixLen });
    if (!iface.loopback) this.arp.announce(iface, addr);
  }

  /** Remove an address and its connected route. */
  removeAddress(iface: NetInterface, addr: number, prefixLen: number): void {
    const i = iface.addrs4.findIndex((a) => a.addr === addr && a.prefixLen === prefixLen);
    if (i < 0) {
      throw new ErrnoError("EADDRNOTAVAIL", `${formatIPv4(addr)}/${prefixLen} is not configured`);
    }
    iface.addrs4.splice(i, 1);
    check(this.routes.removeConnected(addr, prefixLen, iface.name));
  }

  /** Add a route (gateway 0 = directly connected). */
  addRoute(
    dest: number,
    prefixLen: number,
    gateway: number,
    iface: NetInterface | undefined,
    metric: number,
  ): void {
    let adapter = iface?.name;
    if (!adapter) {
      if (gateway === 0) throw new ErrnoError("EINVAL", "A route needs a gateway or a device");
      adapter = this.routes.lookup(gateway)?.adapter;
      if (!adapter) {
        throw new ErrnoError("ENETUNREACH", `Gateway ${formatIPv4(gateway)} is not reachable`);
      }
    }
    check(
      this.routes.add({
        dest: (dest & prefixMask4(prefixLen)) >>> 0,
        prefixLen,
        gateway,
        adapter,
        metric,
      }),
    );
  }

  /** Remove a route. */
  removeRoute(
    dest: number,
    prefixLen: number,
    gateway: number,
    iface: NetInterface | undefined,
  ): void {
    const match: { gateway?: number; adapter?: string } = {};
    if (gateway) match.gateway = gateway;
    if (iface) match.adapter = iface.name;
    check(this.routes.remove((dest & prefixMask4(prefixLen)) >>> 0, prefixLen, match));
  }

  /** Routes for `route -n` (redirect host routes flagged D). */
  routeList(): RouteInfo[] {
    const now = this.host.clock.now();
    return [
      ...this.routes.listRedirects(now).map((r) => ({
        family: 2 as const,
        dest: formatIPv4(r.dst),
        prefixLen: 32,
        gateway: formatIPv4(r.gateway),
        iface: r.adapter,
        metric: 0,
        flags: "UGHD",
      })),
      ...this.routes.list().map((r) => ({
        family: 2 as const,
        dest: formatIPv4(r.dest),
        prefixLen: r.prefixLen,
        gateway: r.gateway ? formatIPv4(r.gateway) : undefined,
        iface: r.adapter,
        metric: r.metric,
        flags: "U" + (r.gateway ? "G" : "") + (r.prefixLen === 32 ? "H" : ""),
      })),
    ];
  }

  /** ARP entries for `arp -n`. */
  neighbourList(): NeighInfo[] {
    return this.arp.list();
  }

  /** Add a permanent ARP entry. */
  addStaticNeighbour(iface: NetInterface, ip: number, mac: Uint8Array): void {
    this.arp.addStatic(iface, ip, mac);
  }

  /** Remove an ARP entry. */
  removeNeighbour(ip: number): void {
    this.arp.remove(ip);
  }

  // ---- routing ----

  /** True if `addr` is one of this host's addresses (or in 127/8). */
  isLocal(addr: number): boolean {
    if ((addr >>> 24) === 127) return true;
    return this.host.interfaces.some((i) => i.addrs4.some((a) => a.addr === addr));
  }

  /** Choose interface, next hop, source and MTU for `dst`. */
  route(dst: number, device?: string): Route4 | undefined {
    const ifaces = this.host.interfaces;
    if (this.isLocal(dst) && !device) {
      const lo = ifaces[0];
      return {
        iface: lo,
        nextHop: dst,
        src: (dst >>> 24) === 127 ? 0x7f000001 : dst,
        broadcast: false,
        mtu: lo.mtu,
      };
    }
    if (dst === 0xffffffff || (dst >>> 28) === 0xe) {
      const routed = this.routes.lookup(dst)?.adapter;
      const iface = device
        ? this.host.iface(device)
        : ((routed ? this.host.iface(routed) : undefined) ??
          ifaces.find((i) => !i.loopback && i.up && i.addrs4.length));
      if (!iface || !iface.up) return undefined;
      return {
        iface,
        nextHop: dst,
        src: iface.addrs4[0]?.addr ?? 0,
        broadcast: dst === 0xffffffff,
        mtu: iface.mtu,
      };
    }
    const now = this.host.clock.now();
    let adapter: string;
    let nextHop: number;
    let source: number | undefined;
    if (device) {
      const r = this.routes.lookup(dst, device);
      if (!r) return undefined;
      adapter = r.adapter;
      nextHop = r.gateway || dst;
      source = r.source;
    } else {
      const d = this.routes.routeTo(dst, now);
      if (!d) return undefined;
      ({ adapter, nextHop, source } = d);
    }
    const iface = this.host.iface(adapter);
    if (!iface || !iface.up) return undefined;
    const src = source ?? iface.sourceFor(nextHop) ?? 0;
    const broadcast = nextHop === dst && this.routes.isBroadcastFor(dst, adapter);
    return {
      iface,
      nextHop,
      src,
      broadcast,
      mtu: Math.min(iface.mtu, this.pathMtu(dst)?.mtu ?? Infinity),
    };
  }

  // ---- input and output ----

  /** Handle an IPv4 datagram received on `iface` (link padding may follow it). */
  input(iface: NetInterface, bytes: Uint8Array, linkMulticast: boolean): void {
    input4(this, iface, bytes, linkMulticast);
  }

  /** Handle an ARP packet received on `iface`. */
  arpInput(iface: NetInterface, bytes: Uint8Array): void {
    this.arp.input(iface, bytes);
  }

  /** Forward a datagram that is not for us (`forward4.ts`). */
  forward(iface: NetInterface, ip: Ipv4Repr, bytes: Uint8Array): void {
    forward4(this.#forwarder, iface, ip, bytes);
  }

  /** Send a datagram along `route`, fragmenting to the path MTU unless DF. */
  output(route: Route4, d: Ipv4Send, owner?: SendOwner): ErrnoCode | undefined {
    return output4(this, route, d, owner);
  }

  /** The learned path MTU towards `dst`, if one applies now. */
  pathMtu(dst: number): PmtuEntry | undefined {
    return this.pmtu.get(dst, this.host.clock.now());
  }

  /**
   * "Fragmentation needed" reported `mtu` towards `dst` (0 from a router predating RFC 1191):
   * the cache clamps it to 552 and locks the path, or ignores it when larger than the MTU in use.
   */
  learnPathMtu(dst: number, mtu: number): PmtuUpdate {
    const linkMtu = this.route(dst)?.iface.mtu ?? Infinity;
    const u = this.pmtu.report(dst, mtu, linkMtu, this.host.clock.now());
    if (u.changed) {
      this.host.count(u.locked ? "icmp: path-mtu-locked" : "icmp: path-mtu-lowered");
      this.host.rearm();
    }
    return u;
  }

  /** Send an ICMP error about `offending` (a datagram we received) to its source (`icmp4.ts`). */
  icmpError(offending: Uint8Array, msg: Icmpv4Error): void {
    this.icmp.error(offending, msg);
  }

  /** Join or leave `group` on `iface` (IGMP reports, `igmp.ts`). */
  joinGroup(iface: NetInterface, group: number, join: boolean): void {
    joinGroup4(this, iface, group, join);
  }

  // ---- timers ----

  /** Run due timers (ARP retries and aging, redirects, reassembly timeouts, TCP). */
  poll(now: number): void {
    this.arp.poll(now);
    this.routes.poll(now);
    this.pmtu.poll(now);
    for (const expired of this.reassembly.poll(now)) {
      if (expired.first) {
        this.icmpError(expired.first.packet, {
          kind: "time-exceeded",
          code: Icmpv4TimeExceededCode.REASSEMBLY,
          invoking: new Uint8Array(0),
        });
      }
    }
    this.tcp?.poll(now);
  }

  /** Output that protocols batched during a drain (delayed ACKs, coalesced segments). */
  flush(): void {
    this.tcp?.flush();
  }

  /** Earliest time any IPv4-layer timer needs to run. */
  nextDeadline(): number | undefined {
    let best = Infinity;
    best = earlier(best, this.arp.nextDeadline());
    best = earlier(best, this.routes.nextDeadline());
    best = earlier(best, this.pmtu.nextDeadline());
    best = earlier(best, this.reassembly.nextDeadline());
    best = earlier(best, this.tcp?.nextDeadline());
    return best === Infinity ? undefined : best;
  }
}

function earlier(best: number, d: number | undefined): number {
  return d !== undefined && d < best ? d : best;
}

/** Turn a failed table operation into an ErrnoError. */
function check(r: { ok: true } | { ok: false; code: ErrnoCode; message: string }): void {
  if (!r.ok) throw new ErrnoError(r.code, r.message);
}
