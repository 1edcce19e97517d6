/**
 * IPv4 for one host (RFC 791, 1122): addresses, routes, ARP resolution, input validation and
 * demultiplexing to ICMP/UDP/TCP/raw sockets, reassembly, output with fragmentation, ICMP errors
 * (rate limited, never about errors or broadcasts), and optional forwarding between interfaces.
 */
import type { NeighInfo, RouteInfo } from "../../kernel/bus/messages.ts";
import type { ErrnoCode } from "../../kernel/errno.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { NetworkTask } from "../network_task.ts";
import type { RawSocket } from "../sockets/raw_socket.ts";
import type { Ipv4Send, Route4, SendOwner } from "../stack.ts";
import { UdpSocket } from "../udp/udp_socket.ts";
import { formatIPv4, formatMac, prefixMask4 } from "../wire/addr.ts";
import { ArpOp, encodeArp, parseArp } from "../wire/arp.ts";
import { pseudoHeaderSum4 } from "../wire/checksum.ts";
import {
  BROADCAST_MAC,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ipv4MulticastMac,
} from "../wire/ethernet.ts";
import {
  encodeIcmpv4,
  Icmpv4DstUnreachableCode,
  icmpv4Quote,
  type Icmpv4Repr,
  Icmpv4TimeExceededCode,
  isIcmpv4Error,
  parseIcmpv4,
} from "../wire/icmpv4.ts";
import {
  decrementTtl,
  encodeIpv4,
  IpProtocol,
  IPV4_HEADER_LEN,
  IPV4_OPTION_ROUTER_ALERT,
  type Ipv4Repr,
  parseIpv4,
} from "../wire/ipv4.ts";
import { parseUdp } from "../wire/udp.ts";
import { encodeIgmp, IGMP_ALL_ROUTERS, IGMP_ALL_SYSTEMS } from "../wire/igmp.ts";
import { Neighbours } from "./neighbours4.ts";
import { Reassembler4 } from "./reassembler4.ts";
import { Routes4 } from "./routes4.ts";
import { TokenBucket } from "./token_bucket.ts";
import type { TcpLayer } from "../tcp_layer.ts";

/** Options of the IPv4 layer. */
export interface Ipv4Options {
  forwarding: boolean;
  seed: number;
}

const ZERO_MAC = new Uint8Array(6);

/** The IPv4 layer of one NetworkTask. */
export class Ipv4Stack {
  readonly raw = new Set<RawSocket>();
  readonly routes = new Routes4();
  readonly neighbours: Neighbours;
  readonly reassembly = new Reassembler4();
  forwarding: boolean;
  tcp?: TcpLayer;
  #ident: number;
  #icmpRate: TokenBucket;

  constructor(readonly task: NetworkTask, opts: Ipv4Options) {
    this.forwarding = opts.forwarding;
    this.#ident = (opts.seed * 7919) & 0xffff;
    this.#icmpRate = new TokenBucket(1000, 50, task.clock.now());
    this.neighbours = new Neighbours({
      sendRequest: (iface, ip) => this.#sendArp(iface, ArpOp.REQUEST, ip, ZERO_MAC, BROADCAST_MAC),
      transmit: (iface, mac, datagram) => task.sendFrame(iface, mac, ETHERTYPE_IPV4, datagram),
      unreachable: (_iface, ip, datagrams) => {
        task.count("arp: unresolved");
        for (const d of datagrams) this.#sendFailed("EHOSTUNREACH", d, ip);
      },
    });
  }

  // ---- configuration ----

  /** Configure `addr/prefixLen` on `iface`: connected route, gratuitous ARP. */
  addAddress(iface: NetInterface, addr: number, prefixLen: number): void {
    if (iface.addrs4.some((a) => a.addr === addr)) throw new ErrnoError("EEXIST", "Address exists");
    iface.addrs4.push({ addr, prefixLen });
    const net = (addr & prefixMask4(prefixLen)) >>> 0;
    if (!iface.loopback || prefixLen < 32) {
      this.routes.add({ dest: net, prefixLen, gateway: 0, iface, metric: 0, source: addr });
    }
    if (!iface.loopback) this.#sendArp(iface, ArpOp.REQUEST, addr, ZERO_MAC, BROADCAST_MAC, addr);
  }

  /** Remove an address and its connected route. */
  removeAddress(iface: NetInterface, addr: number, prefixLen: number): void {
    const i = iface.addrs4.findIndex((a) => a.addr === addr && a.prefixLen === prefixLen);
    if (i < 0) {
      throw new ErrnoError("EADDRNOTAVAIL", `${formatIPv4(addr)}/${prefixLen} is not configured`);
    }
    iface.addrs4.splice(i, 1);
    this.routes.removeMatching((r) => r.iface === iface && r.source === addr && r.gateway === 0);
  }

  /** Add a route (gateway 0 = directly connected). */
  addRoute(
    dest: number,
    prefixLen: number,
    gateway: number,
    iface: NetInterface | undefined,
    metric: number,
  ): void {
    let dev = iface;
    if (!dev) {
      if (gateway === 0) throw new ErrnoError("EINVAL", "A route needs a gateway or a device");
      dev = this.routes.lookup(gateway)?.iface;
      if (!dev) {
        throw new ErrnoError("ENETUNREACH", `Gateway ${formatIPv4(gateway)} is not reachable`);
      }
    }
    this.routes.add({
      dest: (dest & prefixMask4(prefixLen)) >>> 0,
      prefixLen,
      gateway,
      iface: dev,
      metric,
    });
  }

  /** Remove a route. */
  removeRoute(
    dest: number,
    prefixLen: number,
    gateway: number,
    iface: NetInterface | undefined,
  ): void {
    const n = this.routes.removeMatching((r) =>
      r.dest === ((dest & prefixMask4(prefixLen)) >>> 0) && r.prefixLen === prefixLen &&
      (gateway === 0 || r.gateway === gateway) && (!iface || r.iface === iface)
    );
    if (n === 0) throw new ErrnoError("ESRCH", "No such route");
  }

  /** Routes for `route -n`. */
  routeList(): RouteInfo[] {
    return this.routes.list().map((r) => ({
      family: 2 as const,
      dest: formatIPv4(r.dest),
      prefixLen: r.prefixLen,
      gateway: r.gateway ? formatIPv4(r.gateway) : undefined,
      iface: r.iface.name,
      metric: r.metric,
      flags: "U" + (r.gateway ? "G" : "") + (r.prefixLen === 32 ? "H" : "") +
        (r.dynamic ? "D" : ""),
    }));
  }

  /** ARP entries for `arp -n`. */
  neighbourList(): NeighInfo[] {
    return this.neighbours.list().map((n) => ({
      family: 2 as const,
      addr: formatIPv4(n.ip),
      mac: n.mac ? formatMac(n.mac) : undefined,
      iface: n.iface.name,
      state: n.state,
    }));
  }

  // ---- routing ----

  /** True if `addr` is one of this host's addresses (or in 127/8). */
  isLocal(addr: number): boolean {
    if ((addr >>> 24) === 127) return true;
    return this.task.interfaces.some((i) => i.addrs4.some((a) => a.addr === addr));
  }

  /** Choose interface, next hop and source for `dst`. */
  route(dst: number, device?: string): Route4 | undefined {
    const ifaces = this.task.interfaces;
    if (this.isLocal(dst) && !device) {
      const lo = ifaces[0];
      return {
        iface: lo,
        nextHop: dst,
        src: (dst >>> 24) === 127 ? 0x7f000001 : dst,
        broadcast: false,
      };
    }
    if (dst === 0xffffffff || (dst >>> 28) === 0xe) {
      const iface = device ? this.task.iface(device) : (this.routes.lookup(dst)?.iface ??
        ifaces.find((i) => !i.loopback && i.up && i.addrs4.length));
      if (!iface || !iface.up) return undefined;
      return {
        iface,
        nextHop: dst,
        src: iface.addrs4[0]?.addr ?? 0,
        broadcast: dst === 0xffffffff,
      };
    }
    const r = this.routes.lookup(dst, device);
    if (!r || !r.iface.up) return undefined;
    const src = r.source ?? r.iface.sourceFor(r.gateway || dst) ?? 0;
    const broadcast = r.gateway === 0 &&
      r.iface.addrs4.some((a) =>
        a.prefixLen < 31 && ((a.addr | ~prefixMask4(a.prefixLen)) >>> 0) === dst
      );
    return { iface: r.iface, nextHop: r.gateway || dst, src, broadcast };
  }

  // ---- input ----

  /** Handle an IPv4 datagram received on `iface` (link padding may follow it). */
  input(iface: NetInterface, bytes: Uint8Array, linkMulticast: boolean): void {
    const ip = parseIpv4(bytes);
    if ((ip.src >>> 28) === 0xe || ip.src === 0xffffffff) {
      return iface.dropRx("ipv4: martian-source");
    }
    const kind = this.#destKind(iface, ip.dst);
    if (!kind) {
      if (this.forwarding && !linkMulticast) return this.#forward(iface, ip, bytes);
      return iface.dropRx("ipv4: not-for-us");
    }
    const whole = bytes.subarray(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length);
    if (ip.moreFragments || ip.fragmentOffset > 0) {
      const done = this.reassembly.add(this.task.clock.now(), ip, whole);
      this.#rearm();
      if (!done) return;
      return this.#deliver(iface, done.ip, done.datagram, kind);
    }
    this.#deliver(iface, ip, whole, kind);
  }

  #destKind(iface: NetInterface, dst: number): "unicast" | "broadcast" | "multicast" | undefined {
    const k = iface.acceptsIPv4(dst);
    if (k) return k;
    // Weak host model (RFC 1122 §3.3.4.2): any of our addresses, on any interface.
    return this.isLocal(dst) ? "unicast" : undefined;
  }

  #deliver(
    iface: NetInterface,
    ip: Ipv4Repr,
    datagram: Uint8Array,
    kind: "unicast" | "broadcast" | "multicast",
  ) {
    let rawTaken = false;
    for (const s of this.raw) {
      if (s.matches(ip.protocol, ip.src, ip.dst)) {
        s.deliver(datagram.slice(), ip.src);
        rawTaken = true;
      }
    }
    switch (ip.protocol) {
      case IpProtocol.ICMP:
        return this.#icmpInput(iface, ip, datagram, kind);
      case IpProtocol.UDP:
        return this.#udpInput(iface, ip, datagram, kind);
      case IpProtocol.TCP:
        if (kind !== "unicast") return iface.dropRx("tcp: not-unicast");
        if (!this.tcp) return iface.dropRx("tcp: not-enabled");
        return this.tcp.input4(iface, ip, datagram);
      case IpProtocol.IGMP:
        this.task.count("igmp: received");
        return;
      default:
        if (!rawTaken && kind === "unicast") {
          this.icmpError(datagram, {
            kind: "dst-unreachable",
            code: Icmpv4DstUnreachableCode.PROTOCOL,
            nextHopMtu: 0,
            invoking: new Uint8Array(0),
          });
        }
        if (!rawTaken) iface.dropRx("ipv4: unknown-protocol");
    }
  }

  #udpInput(
    iface: NetInterface,
    ip: Ipv4Repr,
    datagram: Uint8Array,
    kind: "unicast" | "broadcast" | "multicast",
  ) {
    const udp = parseUdp(ip.payload, {
      pseudoSum: pseudoHeaderSum4(ip.src, ip.dst, IpProtocol.UDP, ip.payload.length),
    });
    let delivered = false;
    let best: UdpSocket | undefined;
    for (const u of this.task.ports.udp.users(udp.dstPort)) {
      const s = u as UdpSocket;
      if (!(s instanceof UdpSocket) || !s.matches(ip.src, udp.srcPort, ip.dst, kind)) continue;
      if (kind !== "unicast") {
        s.deliver(udp.payload.slice(), ip.src, udp.srcPort);
        delivered = true;
      } else if (!best || score(s) > score(best)) best = s;
    }
    if (best) delivered = best.deliver(udp.payload.slice(), ip.src, udp.srcPort) || true;
    if (delivered) return;
    this.task.count("udp: no-port");
    iface.dropRx("udp: no-port");
    if (kind === "unicast") {
      this.icmpError(datagram, {
        kind: "dst-unreachable",
        code: Icmpv4DstUnreachableCode.PORT,
        nextHopMtu: 0,
        invoking: new Uint8Array(0),
      });
    }
  }

  #icmpInput(
    iface: NetInterface,
    ip: Ipv4Repr,
    _datagram: Uint8Array,
    kind: "unicast" | "broadcast" | "multicast",
  ) {
    const m = parseIcmpv4(ip.payload);
    switch (m.kind) {
      case "echo-request": {
        if (kind !== "unicast") return this.task.count("icmp: echo-to-broadcast-ignored");
        const route = this.route(ip.src);
        if (!route) return this.task.count("icmp: no-route-for-reply");
        this.output(route, {
          src: ip.dst,
          dst: ip.src,
          protocol: IpProtocol.ICMP,
          ttl: 64,
          payload: encodeIcmpv4({
            kind: "echo-reply",
            identifier: m.identifier,
            sequence: m.sequence,
            data: m.data,
          }),
        });
        return;
      }
      case "dst-unreachable":
      case "time-exceeded":
      case "param-problem":
      case "source-quench":
        return this.#icmpErrorInput(m);
      case "redirect":
        return this.#redirect(iface, ip, m.gateway, m.invoking);
      case "echo-reply":
      case "other":
        return; // for raw sockets only
    }
  }

  /** An ICMP error about something we sent: tell the socket it quotes. */
  #icmpErrorInput(m: Icmpv4Repr & { invoking: Uint8Array }) {
    const q = m.invoking;
    if (q.length < IPV4_HEADER_LEN + 8) return;
    const hl = (q[0] & 15) * 4;
    const proto = q[9];
    const dst = ((q[16] << 24) | (q[17] << 16) | (q[18] << 8) | q[19]) >>> 0;
    const sport = (q[hl] << 8) | q[hl + 1];
    const dport = (q[hl + 2] << 8) | q[hl + 3];
    const code = icmpErrno(m);
    if (!code) return;
    if (
      m.kind === "dst-unreachable" && m.code === Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED &&
      m.nextHopMtu
    ) {
      this.routes.setPathMtu(dst, m.nextHopMtu, this.task.clock.now());
    }
    if (proto === IpProtocol.UDP) {
      for (const u of this.task.ports.udp.users(sport)) {
        if (u instanceof UdpSocket) u.icmpError(code, dst, dport);
      }
    } else if (proto === IpProtocol.TCP) {
      this.tcp?.icmpError4(
        dst,
        sport,
        dport,
        code,
        m.kind === "dst-unreachable" ? m.nextHopMtu : 0,
      );
    }
  }

  #redirect(iface: NetInterface, ip: Ipv4Repr, gateway: number, quote: Uint8Array) {
    if (quote.length < IPV4_HEADER_LEN) return;
    const dst = ((quote[16] << 24) | (quote[17] << 16) | (quote[18] << 8) | quote[19]) >>> 0;
    // Honour only redirects from the gateway we use for that destination, to a neighbour on-link.
    const current = this.routes.lookup(dst);
    if (!current || current.gateway !== ip.src || current.iface !== iface) {
      return this.task.count("icmp: redirect-ignored");
    }
    if (!iface.addrs4.some((a) => ((a.addr ^ gateway) & prefixMask4(a.prefixLen)) === 0)) {
      return this.task.count("icmp: redirect-ignored");
    }
    this.routes.addRedirect(dst, gateway, iface, this.task.clock.now());
    this.task.count("icmp: redirect-applied");
  }

  // ---- ARP ----

  /** Handle an ARP packet received on `iface`. */
  arpInput(iface: NetInterface, bytes: Uint8Array): void {
    const a = parseArp(bytes);
    const forUs = iface.addrs4.some((x) => x.addr === a.targetIp);
    if (a.senderIp !== 0) {
      this.neighbours.update(iface, a.senderIp, a.senderMac, this.task.clock.now(), forUs);
    }
    if (a.op === ArpOp.REQUEST && forUs && a.senderIp !== a.targetIp) {
      this.#sendArp(iface, ArpOp.REPLY, a.senderIp, a.senderMac, a.senderMac, a.targetIp);
    }
    this.#rearm();
  }

  #sendArp(
    iface: NetInterface,
    op: number,
    targetIp: number,
    targetMac: Uint8Array,
    dstMac: Uint8Array,
    senderIp?: number,
  ) {
    const src = senderIp ?? iface.sourceFor(targetIp);
    if (src === undefined) return;
    this.task.sendFrame(
      iface,
      dstMac,
      ETHERTYPE_ARP,
      encodeArp({ op, senderMac: iface.mac, senderIp: src, targetMac, targetIp }),
    );
  }

  /** Add a permanent ARP entry. */
  addStaticNeighbour(iface: NetInterface, ip: number, mac: Uint8Array): void {
    this.neighbours.addStatic(iface, ip, mac);
  }

  /** Remove an ARP entry. */
  removeNeighbour(ip: number): void {
    if (!this.neighbours.remove(ip)) {
      throw new ErrnoError("ENOENT", `No ARP entry for ${formatIPv4(ip)}`);
    }
  }

  // ---- output ----

  /** Send a datagram along `route`, fragmenting to the interface MTU unless DF. */
  output(route: Route4, d: Ipv4Send, owner?: SendOwner): ErrnoCode | undefined {
    const mtu = Math.min(
      route.iface.mtu,
      this.routes.pathMtu(d.dst, this.task.clock.now()) ?? Infinity,
    );
    const options = d.options ?? new Uint8Array(0);
    const total = IPV4_HEADER_LEN + options.length + d.payload.length;
    if (total > 65535) return "EMSGSIZE";
    const ident = this.#ident = (this.#ident + 1) & 0xffff;
    const base: Ipv4Repr = {
      dscp: (d.tos ?? 0) >>> 2,
      ecn: (d.tos ?? 0) & 3,
      ident,
      dontFragment: d.dontFragment ?? false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: d.ttl,
      protocol: d.protocol,
      src: d.src,
      dst: d.dst,
      options,
      payload: d.payload,
    };
    if (total <= mtu) {
      this.#transmit(route, encodeIpv4(base), owner);
      return undefined;
    }
    if (d.dontFragment) return "EMSGSIZE";
    const chunk = (mtu - IPV4_HEADER_LEN - options.length) & ~7;
    if (chunk <= 0) return "EMSGSIZE";
    for (let off = 0; off < d.payload.length; off += chunk) {
      const last = off + chunk >= d.payload.length;
      this.#transmit(
        route,
        encodeIpv4({
          ...base,
          moreFragments: !last,
          fragmentOffset: off,
          payload: d.payload.subarray(off, off + chunk),
        }),
        owner,
      );
    }
    this.task.count("ipv4: fragmented");
    return undefined;
  }

  #transmit(route: Route4, datagram: Uint8Array, owner?: SendOwner) {
    const iface = route.iface;
    const dst = route.nextHop;
    if (iface.loopback) return this.task.sendFrame(iface, ZERO_MAC, ETHERTYPE_IPV4, datagram);
    if (route.broadcast || dst === 0xffffffff) {
      return this.task.sendFrame(iface, BROADCAST_MAC, ETHERTYPE_IPV4, datagram);
    }
    if ((dst >>> 28) === 0xe) {
      this.task.sendFrame(iface, ipv4MulticastMac(dst), ETHERTYPE_IPV4, datagram);
      if (iface.groups4.has(dst)) {
        // IP_MULTICAST_LOOP: members on this host hear it too, through loopback.
        const lo = this.task.interfaces[0];
        this.task.sendFrame(lo, ZERO_MAC, ETHERTYPE_IPV4, datagram.slice());
      }
      return;
    }
    this.neighbours.send(iface, dst, datagram, this.task.clock.now(), owner);
    this.#rearm();
  }

  #sendFailed(code: ErrnoCode, datagram: Uint8Array, nextHop: number) {
    const owner = this.neighbours.ownerOf(datagram);
    const dst = datagram.length >= 20
      ? (((datagram[16] << 24) | (datagram[17] << 16) | (datagram[18] << 8) | datagram[19]) >>> 0)
      : nextHop;
    owner?.onSendError(code, dst);
  }

  // ---- forwarding ----

  #forward(iface: NetInterface, ip: Ipv4Repr, bytes: Uint8Array) {
    const datagram = bytes.slice(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length);
    if (ip.ttl <= 1) {
      this.task.count("ipv4: ttl-exceeded");
      this.icmpError(datagram, {
        kind: "time-exceeded",
        code: Icmpv4TimeExceededCode.TTL,
        invoking: new Uint8Array(0),
      });
      return;
    }
    const route = this.route(ip.dst);
    if (!route || route.iface.loopback) {
      this.task.count("ipv4: no-route");
      this.icmpError(datagram, {
        kind: "dst-unreachable",
        code: Icmpv4DstUnreachableCode.NET,
        nextHopMtu: 0,
        invoking: new Uint8Array(0),
      });
      return;
    }
    decrementTtl(datagram);
    if (datagram.length > route.iface.mtu) {
      if (ip.dontFragment) {
        this.icmpError(datagram, {
          kind: "dst-unreachable",
          code: Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED,
          nextHopMtu: route.iface.mtu,
          invoking: new Uint8Array(0),
        });
        return;
      }
      this.output(route, {
        src: ip.src,
        dst: ip.dst,
        protocol: ip.protocol,
        ttl: ip.ttl - 1,
        tos: (ip.dscp << 2) | ip.ecn,
        payload: ip.payload.slice(),
      });
      return;
    }
    this.task.count("ipv4: forwarded");
    this.#transmit(route, datagram);
    void iface;
  }

  // ---- ICMP errors ----

  /**
   * Send an ICMP error about `offending` (a datagram we received) to its source, unless RFC 1122
   * §3.2.2 forbids it: about an ICMP error, a broadcast/multicast, a non-initial fragment, or a
   * source that is not a unicast host. Rate limited.
   */
  icmpError(offending: Uint8Array, msg: Icmpv4Repr & { invoking: Uint8Array }): void {
    if (offending.length < IPV4_HEADER_LEN) return;
    const src =
      ((offending[12] << 24) | (offending[13] << 16) | (offending[14] << 8) | offending[15]) >>> 0;
    const dst =
      ((offending[16] << 24) | (offending[17] << 16) | (offending[18] << 8) | offending[19]) >>> 0;
    const proto = offending[9];
    const fragOff = ((offending[6] & 0x1f) << 8) | offending[7];
    const hl = (offending[0] & 15) * 4;
    if (fragOff !== 0) return;
    if (
      src === 0 || src === 0xffffffff || (src >>> 28) >= 0xe || dst === 0xffffffff ||
      (dst >>> 28) === 0xe
    ) return;
    if (proto === IpProtocol.ICMP && offending.length > hl && isIcmpv4Error(offending[hl])) return;
    if (this.task.interfaces.some((i) => i.acceptsIPv4(dst) === "broadcast")) return;
    if (!this.#icmpRate.take(this.task.clock.now())) return this.task.count("icmp: rate-limited");
    const route = this.route(src);
    if (!route) return;
    const reply = { ...msg, invoking: icmpv4Quote(offending) } as Icmpv4Repr;
    this.task.count(`icmp: sent ${msg.kind}`);
    this.output(route, {
      src: this.isLocal(dst) ? dst : route.src,
      dst: src,
      protocol: IpProtocol.ICMP,
      ttl: 64,
      payload: encodeIcmpv4(reply),
    });
  }

  // ---- multicast ----

  /**
   * Join or leave `group` on `iface` (counted per socket). The first join sends an IGMPv2
   * membership report to the group, the last leave a leave-group to all-routers (RFC 2236 §3),
   * with TTL 1 and the router alert option. 224.0.0.1 is never reported.
   */
  joinGroup(iface: NetInterface, group: number, join: boolean): void {
    const n = iface.groups4.get(group) ?? 0;
    if (join) iface.groups4.set(group, n + 1);
    else if (n <= 1) iface.groups4.delete(group);
    else iface.groups4.set(group, n - 1);
    this.task.count(join ? "igmp: join" : "igmp: leave");
    const first = join && n === 0;
    const last = !join && n === 1;
    if ((!first && !last) || group === IGMP_ALL_SYSTEMS || iface.loopback) return;
    const dst = first ? group : IGMP_ALL_ROUTERS;
    const src = iface.addrs4[0]?.addr ?? 0;
    this.output({ iface, nextHop: dst, src, broadcast: false }, {
      src,
      dst,
      protocol: IpProtocol.IGMP,
      ttl: 1,
      options: IPV4_OPTION_ROUTER_ALERT,
      payload: encodeIgmp(first ? { kind: "report-v2", group } : { kind: "leave", group }),
    });
    this.task.count(first ? "igmp: report-sent" : "igmp: leave-sent");
  }

  // ---- timers ----

  /** Run due timers (ARP retries and aging, reassembly timeouts, TCP). */
  poll(now: number): void {
    this.neighbours.poll(now);
    for (const expired of this.reassembly.poll(now)) {
      if (expired.first) {
        this.icmpError(expired.first, {
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
    const ds = [
      this.neighbours.nextDeadline(),
      this.reassembly.nextDeadline(),
      this.tcp?.nextDeadline(),
    ]
      .filter((d): d is number => d !== undefined);
    return ds.length ? Math.min(...ds) : undefined;
  }

  #rearm() {
    const at = this.nextDeadline();
    if (at !== undefined) this.task.wakeAt(Math.max(at, this.task.clock.now()));
  }

  /** A TCP socket (TCP attaches itself as {@link tcp}). */
  createTcp(sid: number) {
    if (!this.tcp) throw new ErrnoError("EPROTONOSUPPORT", "TCP is not available yet");
    return this.tcp.createSocket(sid);
  }
}

function score(s: UdpSocket): number {
  return (s.remoteAddr !== undefined ? 2 : 0) + (s.localAddr !== 0 ? 1 : 0);
}

function icmpErrno(m: Icmpv4Repr): ErrnoCode | undefined {
  switch (m.kind) {
    case "dst-unreachable":
      switch (m.code) {
        case Icmpv4DstUnreachableCode.PORT:
          return "ECONNREFUSED";
        case Icmpv4DstUnreachableCode.PROTOCOL:
          return "ENOPROTOOPT";
        case Icmpv4DstUnreachableCode.NET:
          return "ENETUNREACH";
        case Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED:
          return "EMSGSIZE";
        default:
          return "EHOSTUNREACH";
      }
    case "time-exceeded":
      return "EHOSTUNREACH";
    case "param-problem":
      return "EHOSTUNREACH";
    default:
      return undefined;
  }
}
