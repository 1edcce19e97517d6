/**
 * IPv6 for one host (RFC 8200, 4443): addresses, routes, input validation (martians dropped,
 * `martians6.ts`; extension headers and reassembly in `ext_headers.ts`), demultiplexing to
 * ICMPv6/UDP/TCP/raw sockets, output with fragmentation to the path MTU, ICMPv6 errors (rate
 * limited, never about errors or to multicast except Packet Too Big), and optional forwarding.
 * Neighbour Discovery, DAD, SLAAC, router advertisements and MLD live in `nd.ts`.
 */
import { IdentGenerator } from "../ip/ident.ts";
import { secretFrom } from "../ip/keyed_hash.ts";
import type { NeighInfo, RouteInfo } from "../../kernel/bus/messages.ts";
import type { ErrnoCode } from "../../kernel/errno.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { NetworkTask } from "../network_task.ts";
import { formatIPv6, formatMac } from "../wire/addr.ts";
import { pseudoHeaderSum6 } from "../wire/checksum.ts";
import { ETHERTYPE_IPV6, ipv6MulticastMac } from "../wire/ethernet.ts";
import {
  encodeIcmpv6,
  Icmpv6DstUnreachableCode,
  Icmpv6ParamProblemCode,
  type Icmpv6Repr,
  Icmpv6TimeExceededCode,
  isIcmpv6Error,
  parseIcmpv6,
} from "../wire/icmpv6.ts";
import {
  emitIpv6Fragment,
  encodeIpv6,
  IPV6_FRAGMENT_HEADER_LEN,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  type Ipv6Chain,
  Ipv6NextHeader,
  type Ipv6Repr,
  parseIpv6,
  walkIpv6Extensions,
} from "../wire/ipv6.ts";
import { parseUdp } from "../wire/udp.ts";
import { IcmpRateLimiter } from "../ip/icmp_rate.ts";
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
import { type DestKind, type ExtHeaderHost, type Received, walkExtensions } from "./ext_headers.ts";
import { martian6 } from "./martians6.ts";
import { NeighbourDiscovery } from "./nd.ts";
import { NdpCaches, type Waiting6 } from "./ndp_caches.ts";
import { Routes6 } from "./routes6.ts";
import type { Ipv6Send, Route6, Route6Constraint, SendOwner6 } from "./stack6.ts";
import type { Raw6Socket } from "../sockets/raw6_socket.ts";
import { Udp6Socket } from "../udp/udp6_socket.ts";

/** What the IPv6 layer needs from TCP. */
export interface Tcp6Layer {
  input6(iface: NetInterface, src: Uint8Array, dst: Uint8Array, segment: Uint8Array): void;
  icmpError6(dst: Uint8Array, sport: number, dport: number, code: ErrnoCode, seq: number): void;
  /** The path MTU towards `dst` dropped to `mtu`: shrink segments. */
  pathMtu6(dst: Uint8Array, mtu: number): void;
  /** Whether an ICMPv6 error quoting our segment (sport to dst:dport, `seq`) is believable. */
  icmpBelievable(dst: Uint8Array, sport: number, dport: number, seq: number): boolean;
}

/** Options of the IPv6 layer. */
export interface Ipv6Options {
  forwarding: boolean;
  /** Fixed secrets for the simulator and tests; otherwise the CSPRNG's, anew at every boot. */
  seed?: number;
}

const ZERO_MAC = new Uint8Array(6);
/** IPv6 reassembly timeout (RFC 8200 §4.5), ms. */
const REASSEMBLY6_TIMEOUT = 60_000;
const NH = Ipv6NextHeader;

/** The IPv6 layer of one NetworkTask. */
export class Ipv6Stack {
  /** Connected, static and RA-learned routes, and path MTUs. */
  readonly routes: Routes6;
  /** The NDP cache of each interface. */
  readonly neighbours: NdpCaches;
  /** Fragments in progress; any overlap drops the datagram (RFC 5722). */
  readonly reassembly = new Reassembler({ overlap: "drop", timeoutMs: REASSEMBLY6_TIMEOUT });
  readonly raw = new Set<Raw6Socket>();
  readonly nd: NeighbourDiscovery;
  forwarding: boolean;
  /** Default hop limit (Cur Hop Limit of the last RA, else 64). */
  hopLimit = 64;
  tcp?: Tcp6Layer;
  /** Link MTUs learned from RA MTU options, by interface index. */
  readonly linkMtu = new Map<number, number>();
  #ident: IdentGenerator;
  /** ICMPv6 error budget (RFC 4443 §2.4(f)): 1000 a second, bursts of 50, as for IPv4. */
  #icmpRate = new IcmpRateLimiter();
  /** What extension-header processing (ext_headers.ts) calls back into. */
  readonly #extHost: ExtHeaderHost = {
    reassembly: this.reassembly,
    now: () => this.now,
    count: (key) => this.task.count(key),
    icmpError: (iface, offending, msg, ok) => this.icmpError(iface, offending, msg, ok),
    rearm: () => this.#rearm(),
    upper: (r, proto, payload, nhPointer) => this.#upper(r, proto, payload, nhPointer),
  };

  constructor(readonly task: NetworkTask, opts: Ipv6Options) {
    this.forwarding = opts.forwarding;
    this.routes = new Routes6({ adapterUp: (name) => task.iface(name)?.up ?? false });
    this.#ident = new IdentGenerator(
      secretFrom(opts.seed === undefined ? undefined : opts.seed * 104729),
    );
    this.neighbours = new NdpCaches((iface) => ({
      sendRequest: (target, unicastTo) => this.nd.sendSolicit(iface, target, unicastTo),
      onResolved: (_addr, mac, waiting) => {
        for (const w of waiting) task.sendFrame(iface, mac, ETHERTYPE_IPV6, w.packet);
      },
      onUnreachable: (_addr, waiting) => {
        task.count("ndp: resolution-failed");
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
    this.nd = new NeighbourDiscovery(this);
  }

  /** The clock's current time (ms). */
  get now(): number {
    return this.task.clock.now();
  }

  // ---- configuration ----

  /** Bring IPv6 up on `iface`: ::1 on loopback, else a link-local address, groups and RS. */
  ifaceUp(iface: NetInterface): void {
    this.nd.ifaceUp(iface);
  }

  /** `iface` came back up: its addresses go through DAD again and routers are solicited. */
  linkUp(iface: NetInterface): void {
    this.nd.linkUp(iface);
    this.#rearm();
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
    return this.task.interfaces.some((i) =>
      i.addrs6.some((a) =>
        (a.state === "preferred" || a.state === "deprecated") && equal6(a.addr, addr)
      )
    );
  }

  /** Choose interface, next hop and source for `dst`. */
  route(dst: Uint8Array, c: Route6Constraint = {}): Route6 | undefined {
    const ifaces = this.task.interfaces;
    let dev: NetInterface | undefined;
    if (c.device) {
      dev = this.task.iface(c.device);
      if (!dev) return undefined;
    } else if (c.scopeId) dev = this.task.ifaceByIndex(c.scopeId);
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
    const iface = r && this.task.iface(r.adapter);
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
      for (const i of this.task.interfaces) {
        if (i !== iface && !i.loopback) consider(usable(i), false);
      }
    }
    return best ? best.addr : UNSPECIFIED6;
  }

  // ---- input ----

  /** Handle an IPv6 packet received on `iface` (link padding may follow it). */
  input(iface: NetInterface, bytes: Uint8Array, _linkMulticast: boolean): void {
    const ip = parseIpv6(bytes);
    const packet = bytes.subarray(0, IPV6_HEADER_LEN + ip.payload.length);
    const martian = martian6(iface.loopback, ip.src, ip.dst);
    if (martian) {
      // Linux counts Ip6InHdrErrors (netstat -s here) and drops; nothing answers a martian.
      this.task.count(`ipv6: ${martian}`);
      return iface.dropRx(`ipv6: ${martian}`);
    }
    const kind = this.#destKind(iface, ip.dst);
    if (!kind) {
      if (this.forwarding && !isMulticast6(ip.dst)) return this.#forward(iface, ip, packet);
      return iface.dropRx("ipv6: not-for-us");
    }
    walkExtensions(this.#extHost, { iface, ip, packet, kind }, ip.nextHeader, ip.payload);
  }

  #destKind(iface: NetInterface, dst: Uint8Array): DestKind | undefined {
    if (isMulticast6(dst)) {
      const k = key6(dst);
      if (iface.groups6.has(k)) return "multicast";
      if (iface.loopback && this.task.interfaces.some((i) => i.groups6.has(k))) return "multicast";
      return undefined;
    }
    if (iface.loopback && isLoopback6(dst)) return "unicast";
    // Weak host model, as Linux: any usable address of ours, on any interface.
    return this.isLocal(dst) ? "unicast" : undefined;
  }

  #upper(r: Received, proto: number, payload: Uint8Array, nhPointer: number) {
    let rawTaken = false;
    if (proto === NH.ICMPV6) {
      for (const s of this.raw) {
        if (s.matches(r.ip.src, r.ip.dst, payload)) {
          s.deliver(payload.slice(), r.ip.src, r.iface.index, r.ip.hopLimit);
          rawTaken = true;
        }
      }
    }
    switch (proto) {
      case NH.ICMPV6:
        return this.#icmpInput(r, payload);
      case NH.UDP:
        return this.#udpInput(r, payload);
      case NH.TCP:
        if (r.kind !== "unicast") return r.iface.dropRx("tcp: not-unicast");
        if (!this.tcp) return r.iface.dropRx("tcp: not-enabled");
        return this.tcp.input6(r.iface, r.ip.src, r.ip.dst, payload);
      case NH.NO_NEXT_HEADER:
        return this.task.count("ipv6: no-next-header");
      default:
        if (nhPointer >= 0) {
          this.icmpError(r.iface, r.packet, {
            kind: "param-problem",
            code: Icmpv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER,
            pointer: nhPointer,
            invoking: r.packet,
          });
        }
        if (!rawTaken) r.iface.dropRx("ipv6: unknown-next-header");
    }
  }

  #udpInput(r: Received, payload: Uint8Array) {
    const udp = parseUdp(payload, {
      pseudoSum: pseudoHeaderSum6(r.ip.src, r.ip.dst, NH.UDP, payload.length),
      ipVersion: 6,
    });
    let best: Udp6Socket | undefined;
    let delivered = false;
    for (const u of this.task.ports.udp.users(udp.dstPort)) {
      if (!(u instanceof Udp6Socket) || !u.matches6(r.ip.src, udp.srcPort, r.ip.dst, r.kind)) {
        continue;
      }
      if (r.kind === "multicast") {
        u.deliver6(udp.payload.slice(), r.ip.src, udp.srcPort, r.iface.index, r.ip.hopLimit);
        delivered = true;
      } else if (!best || u.score6() > best.score6()) best = u;
    }
    if (best) {
      delivered =
        best.deliver6(udp.payload.slice(), r.ip.src, udp.srcPort, r.iface.index, r.ip.hopLimit) ||
        true;
    }
    if (delivered) return;
    this.task.count("udp: no-port");
    r.iface.dropRx("udp: no-port");
    if (r.kind === "unicast") {
      this.icmpError(r.iface, r.packet, {
        kind: "dst-unreachable",
        code: Icmpv6DstUnreachableCode.PORT_UNREACHABLE,
        invoking: r.packet,
      });
    }
  }

  #icmpInput(r: Received, payload: Uint8Array) {
    const m = parseIcmpv6(payload, { src: r.ip.src, dst: r.ip.dst });
    switch (m.kind) {
      case "echo-request": {
        const route = this.route(r.ip.src, { scopeId: r.iface.index });
        if (!route) return this.task.count("icmpv6: no-route-for-reply");
        const src = r.kind === "unicast" ? r.ip.dst : route.src;
        if (isUnspecified6(src)) return this.task.count("icmpv6: no-source-for-reply");
        this.output(route, {
          src,
          dst: r.ip.src,
          nextHeader: NH.ICMPV6,
          hopLimit: this.hopLimit,
          payload: encodeIcmpv6({
            kind: "echo-reply",
            identifier: m.identifier,
            sequence: m.sequence,
            data: m.data,
          }, { src, dst: r.ip.src }),
        });
        return;
      }
      case "echo-reply":
        return; // for raw sockets only
      case "dst-unreachable":
      case "packet-too-big":
      case "time-exceeded":
      case "param-problem":
        return this.#icmpErrorInput(m);
      case "ndp":
        return this.nd.input(r.iface, r.ip, m.message, r.kind === "multicast");
      case "mld":
        return this.nd.mldInput(r.iface, r.ip, m.message);
      case "other":
        return;
      default: {
        const never: never = m;
        throw new Error(`bad ICMPv6 ${JSON.stringify(never)}`);
      }
    }
  }

  /** An ICMPv6 error about something we sent: path MTU, and tell the socket it quotes. */
  #icmpErrorInput(m: Icmpv6Repr & { invoking: Uint8Array }) {
    const q = m.invoking;
    if (q.length < IPV6_HEADER_LEN) return this.task.count("icmpv6: short-quote");
    const dst = q.slice(24, 40);
    let chain: Ipv6Chain | undefined;
    try {
      chain = walkIpv6Extensions(q.subarray(IPV6_HEADER_LEN), q[6]);
    } catch {
      chain = undefined;
    }
    const up = chain?.upper;
    // A quoted TCP header's ports and sequence number, for TCP to check (RFC 5927 §4.1).
    const tcpQuote = chain?.upperLayer === NH.TCP && up && up.length >= 8
      ? {
        sport: (up[0] << 8) | up[1],
        dport: (up[2] << 8) | up[3],
        seq: ((up[4] << 24) | (up[5] << 16) | (up[6] << 8) | up[7]) >>> 0,
      }
      : undefined;
    // Nothing, path MTU included, is learnt from an error TCP does not believe (Linux's tcp_v6_err).
    if (
      tcpQuote &&
      this.tcp?.icmpBelievable(dst, tcpQuote.sport, tcpQuote.dport, tcpQuote.seq) === false
    ) {
      return;
    }
    if (m.kind === "packet-too-big") {
      if (m.mtu < IPV6_MIN_MTU) this.task.count("icmpv6: ptb-below-1280");
      if (this.routes.setPathMtu(dst, m.mtu, this.now)) {
        this.task.count("icmpv6: path-mtu-lowered");
        this.tcp?.pathMtu6(dst, Math.max(IPV6_MIN_MTU, m.mtu));
      }
      this.#rearm();
      return;
    }
    if (!chain) return this.task.count("icmpv6: bad-quote");
    if (chain.upper.length < 4) return;
    const sport = (chain.upper[0] << 8) | chain.upper[1];
    const dport = (chain.upper[2] << 8) | chain.upper[3];
    const code = icmp6Errno(m);
    if (chain.upperLayer === NH.UDP) {
      for (const u of this.task.ports.udp.users(sport)) {
        if (u instanceof Udp6Socket) u.icmpError6(code, dst, dport);
      }
    } else if (tcpQuote) this.tcp?.icmpError6(dst, sport, dport, code, tcpQuote.seq);
  }

  // ---- output ----

  /** The MTU towards `dst` through `iface` (link, RA MTU option, path MTU). */
  mtuFor(iface: NetInterface, dst: Uint8Array): number {
    return Math.min(
      iface.mtu,
      this.linkMtu.get(iface.index) ?? Infinity,
      this.routes.pathMtu(dst) ?? Infinity,
    );
  }

  /** Send a datagram along `route`, fragmenting to the path MTU when needed. */
  output(route: Route6, d: Ipv6Send, owner?: SendOwner6): ErrnoCode | undefined {
    if (d.payload.length > 65535) return "EMSGSIZE";
    // A TCP super-segment goes whole to a link that cuts it up (TSO) unless the path is narrower.
    const pathMtu = this.mtuFor(route.iface, d.dst);
    const gso = d.nextHeader === NH.TCP && route.iface.gsoMax > 0 && pathMtu === route.iface.mtu;
    const mtu = gso ? route.iface.gsoMax : Math.max(IPV6_MIN_MTU, pathMtu);
    const base: Ipv6Repr = {
      trafficClass: d.trafficClass ?? 0,
      flowLabel: 0,
      nextHeader: d.nextHeader,
      hopLimit: d.hopLimit,
      src: d.src,
      dst: d.dst,
      payload: d.payload,
    };
    if (IPV6_HEADER_LEN + d.payload.length <= mtu) {
      this.#transmit(route, encodeIpv6(base), d, owner);
      return undefined;
    }
    const chunk = (mtu - IPV6_HEADER_LEN - IPV6_FRAGMENT_HEADER_LEN) & ~7;
    const ident = this.#ident.next(d.src, d.dst, d.nextHeader);
    for (let off = 0; off < d.payload.length; off += chunk) {
      const data = d.payload.subarray(off, off + chunk);
      const body = new Uint8Array(IPV6_FRAGMENT_HEADER_LEN + data.length);
      emitIpv6Fragment({
        nextHeader: d.nextHeader,
        fragmentOffset: off,
        more: off + chunk < d.payload.length,
        identification: ident,
      }, body);
      body.set(data, IPV6_FRAGMENT_HEADER_LEN);
      this.#transmit(
        route,
        encodeIpv6({ ...base, nextHeader: NH.FRAGMENT, payload: body }),
        d,
        owner,
      );
    }
    this.task.count("ipv6: fragmented");
    return undefined;
  }

  #transmit(route: Route6, packet: Uint8Array, d: Ipv6Send, owner?: SendOwner6) {
    const iface = route.iface;
    if (iface.loopback) return this.task.sendFrame(iface, ZERO_MAC, ETHERTYPE_IPV6, packet);
    if (isMulticast6(d.dst)) {
      this.task.sendFrame(iface, ipv6MulticastMac(d.dst), ETHERTYPE_IPV6, packet);
      const g = iface.groups6.get(key6(d.dst));
      if (d.multicastLoop && g && g.refs > 0) {
        this.task.sendFrame(this.task.interfaces[0], ZERO_MAC, ETHERTYPE_IPV6, packet.slice());
      }
      return;
    }
    this.#resolveAndSend(iface, route.nextHop, { packet, owner });
  }

  /** Send `w` to the neighbour `nextHop` on `iface`, resolving its link-layer address first. */
  #resolveAndSend(iface: NetInterface, nextHop: Uint8Array, w: Waiting6) {
    const r = this.neighbours.of(iface).resolve(nextHop, this.now, w);
    if (r.status === "resolved") this.task.sendFrame(iface, r.mac, ETHERTYPE_IPV6, w.packet);
    else if (r.status === "dropped") {
      this.task.count(`ndp: ${r.reason}`);
      w.owner?.onSendError6("EHOSTUNREACH", nextHop);
    }
    this.#rearm();
  }

  // ---- forwarding ----

  #forward(iface: NetInterface, ip: Ipv6Repr, packet: Uint8Array) {
    if (isLinkLocal6(ip.src) || isLinkLocal6(ip.dst) || isUnspecified6(ip.src)) {
      return iface.dropRx("ipv6: not-forwardable");
    }
    if (ip.hopLimit <= 1) {
      this.task.count("ipv6: hop-limit-exceeded");
      this.icmpError(iface, packet, {
        kind: "time-exceeded",
        code: Icmpv6TimeExceededCode.HOP_LIMIT,
        invoking: packet,
      });
      return;
    }
    const route = this.route(ip.dst);
    if (!route || route.iface.loopback) {
      this.task.count("ipv6: no-route");
      this.icmpError(iface, packet, {
        kind: "dst-unreachable",
        code: Icmpv6DstUnreachableCode.NO_ROUTE,
        invoking: packet,
      });
      return;
    }
    const mtu = this.mtuFor(route.iface, ip.dst);
    if (packet.length > mtu) {
      this.task.count("ipv6: too-big");
      this.icmpError(iface, packet, { kind: "packet-too-big", mtu, invoking: packet }, true);
      return;
    }
    const copy = packet.slice();
    copy[7] = ip.hopLimit - 1;
    this.task.count("ipv6: forwarded");
    this.#resolveAndSend(route.iface, route.nextHop, { packet: copy });
  }

  // ---- ICMPv6 errors ----

  /**
   * Send an ICMPv6 error about `offending` (a packet we received on `iface`) to its source,
   * unless RFC 4443 §2.4 forbids it: about an ICMPv6 error, from :: or a multicast source, or to
   * a multicast destination (unless `toMulticastOk`: Packet Too Big, unknown option 10xxxxxx).
   * Rate limited by a token bucket.
   */
  icmpError(
    iface: NetInterface,
    offending: Uint8Array,
    msg: Icmpv6Repr,
    toMulticastOk = false,
  ): void {
    if (offending.length < IPV6_HEADER_LEN) return;
    const src = offending.slice(8, 24);
    const dst = offending.slice(24, 40);
    if (isUnspecified6(src) || isMulticast6(src)) return;
    if (isMulticast6(dst) && !toMulticastOk && msg.kind !== "packet-too-big") return;
    try {
      const c = walkIpv6Extensions(offending.subarray(IPV6_HEADER_LEN), offending[6]);
      if (c.upperLayer === NH.ICMPV6 && c.upper.length > 0 && isIcmpv6Error(c.upper[0])) return;
    } catch {
      // A broken chain is no ICMPv6 error; the reply may still go out.
    }
    if (!this.#icmpRate.allow(key6(src), this.now)) return this.task.count("icmpv6: rate-limited");
    const route = this.route(src, { scopeId: iface.index });
    if (!route) return;
    const from = !isMulticast6(dst) && this.isLocal(dst) ? dst : route.src;
    if (isUnspecified6(from)) return;
    this.task.count(`icmpv6: sent ${msg.kind}`);
    this.output(route, {
      src: from,
      dst: src,
      nextHeader: NH.ICMPV6,
      hopLimit: 64,
      payload: encodeIcmpv6(msg, { src: from, dst: src }),
    });
  }

  // ---- multicast ----

  /** Join or leave `group` on `iface` (counted per user; MLD report on the first join). */
  joinGroup(iface: NetInterface, group: Uint8Array, join: boolean): void {
    this.nd.joinGroup(iface, group, join);
  }

  // ---- timers ----

  /** Run due timers: NDP, DAD and router advertisements, address lifetimes, reassembly. */
  poll(now: number): void {
    this.neighbours.poll(now);
    this.routes.poll(now);
    this.nd.poll(now);
    for (const expired of this.reassembly.poll(now)) {
      if (!expired.first) continue;
      const first = expired.first.packet;
      const iface = this.task.interfaces.find((i) => !i.loopback) ?? this.task.interfaces[0];
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
      this.nd.nextDeadline(),
      this.reassembly.nextDeadline(),
    ].filter((d): d is number => d !== undefined);
    return ds.length ? Math.min(...ds) : undefined;
  }

  #rearm() {
    const at = this.nextDeadline();
    if (at !== undefined) this.task.wakeAt(Math.max(at, this.now));
  }

  /** Ask the NetworkTask for a wake-up at the next deadline. */
  rearm(): void {
    this.#rearm();
  }
}

function icmp6Errno(m: Icmpv6Repr): ErrnoCode {
  switch (m.kind) {
    case "dst-unreachable":
      switch (m.code) {
        case Icmpv6DstUnreachableCode.PORT_UNREACHABLE:
          return "ECONNREFUSED";
        case Icmpv6DstUnreachableCode.NO_ROUTE:
          return "ENETUNREACH";
        case Icmpv6DstUnreachableCode.ADMIN_PROHIBITED:
          return "EACCES";
        default:
          return "EHOSTUNREACH";
      }
    case "packet-too-big":
      return "EMSGSIZE";
    default:
      return "EHOSTUNREACH";
  }
}
