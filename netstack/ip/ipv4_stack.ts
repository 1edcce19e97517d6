/**
 * IPv4 for one host (RFC 791, 1122): addresses, routes, ARP resolution, input validation
 * (martians dropped, `martians.ts`) and demultiplexing to ICMP/UDP/TCP/raw sockets, reassembly,
 * output with fragmentation, ICMP errors (rate limited, never about errors or broadcasts), and
 * optional forwarding between interfaces (`forward4.ts`).
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
  emitIpv4,
  encodeIpv4,
  hasIpv4Option,
  IpProtocol,
  IPV4_HEADER_LEN,
  IPV4_MAX_LEN,
  IPV4_OPTION_ROUTER_ALERT,
  ipv4OptionsError,
  Ipv4OptionType,
  type Ipv4Repr,
  parseIpv4,
} from "../wire/ipv4.ts";
import { parseUdp } from "../wire/udp.ts";
import { encodeIgmp, IGMP_ALL_ROUTERS, IGMP_ALL_SYSTEMS } from "../wire/igmp.ts";
import { ArpCache } from "./arp_cache.ts";
import { growFront } from "../link/headroom.ts";
import { Reassembler, reassemblyKey4 } from "./reassembly.ts";
import { RoutingTable4 } from "./routing.ts";
import { IcmpRateLimiter } from "./icmp_rate.ts";
import { arpMartian, martian4 } from "./martians.ts";
import { forward4, type Forwarder4 } from "./forward4.ts";
import { IdentGenerator } from "./ident.ts";
import { secretFrom } from "./keyed_hash.ts";
import type { TcpLayer } from "../tcp/ip_facing.ts";

/** Options of the IPv4 layer. */
export interface Ipv4Options {
  forwarding: boolean;
  /** Fixed secrets for the simulator and tests; otherwise the CSPRNG's, anew at every boot. */
  seed?: number;
}

const ZERO_MAC = new Uint8Array(6);

/** A datagram waiting for ARP, with the socket to tell if resolution fails. */
interface Waiting {
  datagram: Uint8Array;
  owner?: SendOwner;
}

/** Loose and strict source routes: refused, as Linux refuses them by default. */
const SOURCE_ROUTE = [Ipv4OptionType.LSRR, Ipv4OptionType.SSRR];

/** Most datagrams queued per unresolved neighbour (Linux unres_qlen is 101). */
const ARP_QUEUE = 100;
/** How long a learned path MTU applies (Linux: 10 minutes). */
const PMTU_MS = 600_000;

/** The IPv4 layer of one NetworkTask. */
export class Ipv4Stack {
  readonly raw = new Set<RawSocket>();
  readonly routes = new RoutingTable4();
  readonly reassembly = new Reassembler();
  forwarding: boolean;
  tcp?: TcpLayer;
  #arp = new Map<NetInterface, ArpCache<Waiting>>();
  #pmtu = new Map<number, { mtu: number; expires: number }>();
  #ident: IdentGenerator;
  #icmpRate = new IcmpRateLimiter();
  /** What forwarding (forward4.ts) calls back into. */
  readonly #forwarder: Forwarder4 = {
    route: (dst) => this.route(dst),
    icmpError: (offending, msg) => this.icmpError(offending, msg),
    transmit: (route, datagram) => this.#transmit(route, datagram),
    count: (key) => this.task.count(key),
  };

  constructor(readonly task: NetworkTask, opts: Ipv4Options) {
    this.forwarding = opts.forwarding;
    this.#ident = new IdentGenerator(
      secretFrom(opts.seed === undefined ? undefined : opts.seed * 7919),
    );
  }

  /** The ARP cache of `iface`, created on first use. */
  #cache(iface: NetInterface): ArpCache<Waiting> {
    let c = this.#arp.get(iface);
    if (c) return c;
    c = new ArpCache<Waiting>({
      sendRequest: (ip, unicastTo) =>
        this.#sendArp(iface, ArpOp.REQUEST, ip, ZERO_MAC, unicastTo ?? BROADCAST_MAC),
      onResolved: (_ip, mac, waiting) => {
        for (const w of waiting) this.task.sendFrame(iface, mac, ETHERTYPE_IPV4, w.datagram);
      },
      onUnreachable: (ip, waiting) => {
        this.task.count("arp: unresolved");
        for (const w of waiting) {
          w.owner?.onSendError("EHOSTUNREACH", dstOf(w.datagram, ip));
          // As Linux does, our own sender also gets an ICMP host unreachable (ping prints
          // "Destination Host Unreachable"); it comes from the address it sent from.
          this.icmpError(w.datagram, {
            kind: "dst-unreachable",
            code: Icmpv4DstUnreachableCode.HOST,
            nextHopMtu: 0,
            invoking: new Uint8Array(0),
          });
        }
      },
    }, { queueLen: ARP_QUEUE });
    this.#arp.set(iface, c);
    return c;
  }

  // ---- configuration ----

  /** Configure `addr/prefixLen` on `iface`: connected route, gratuitous ARP. */
  addAddress(iface: NetInterface, addr: number, prefixLen: number): void {
    if (iface.addrs4.some((a) => a.addr === addr)) throw new ErrnoError("EEXIST", "Address exists");
    check(this.routes.addConnected(addr, prefixLen, iface.name));
    iface.addrs4.push({ addr, prefixLen });
    if (!iface.loopback) this.#sendArp(iface, ArpOp.REQUEST, addr, ZERO_MAC, BROADCAST_MAC, addr);
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
    const now = this.task.clock.now();
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
    const out: NeighInfo[] = [];
    for (const [iface, cache] of this.#arp) {
      for (const n of cache.list()) {
        out.push({
          family: 2,
          addr: formatIPv4(n.ip),
          mac: n.mac ? formatMac(n.mac) : undefined,
          iface: iface.name,
          state: n.state.toLowerCase(),
        });
      }
    }
    return out;
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
      const routed = this.routes.lookup(dst)?.adapter;
      const iface = device
        ? this.task.iface(device)
        : ((routed ? this.task.iface(routed) : undefined) ??
          ifaces.find((i) => !i.loopback && i.up && i.addrs4.length));
      if (!iface || !iface.up) return undefined;
      return {
        iface,
        nextHop: dst,
        src: iface.addrs4[0]?.addr ?? 0,
        broadcast: dst === 0xffffffff,
      };
    }
    const now = this.task.clock.now();
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
    const iface = this.task.iface(adapter);
    if (!iface || !iface.up) return undefined;
    const src = source ?? iface.sourceFor(nextHop) ?? 0;
    const broadcast = nextHop === dst && this.routes.isBroadcastFor(dst, adapter);
    return { iface, nextHop, src, broadcast };
  }

  // ---- input ----

  /** Handle an IPv4 datagram received on `iface` (link padding may follow it). */
  input(iface: NetInterface, bytes: Uint8Array, linkMulticast: boolean): void {
    const ip = parseIpv4(bytes);
    const martian = martian4(iface, ip.src, ip.dst, ip.protocol, (a) => this.isLocal(a));
    if (martian) {
      // Counted where netstat -s shows it, and per interface (ifconfig), as Linux counts
      // in_martian_src/in_martian_dst; nothing answers a martian.
      this.task.count(`ipv4: ${martian}`);
      return iface.dropRx(`ipv4: ${martian}`);
    }
    const badOption = ip.options.length > 0 ? ipv4OptionsError(ip.options) : undefined;
    if (badOption !== undefined) {
      // Linux ip_rcv_options() → ip_options_compile(): Parameter Problem pointing at the option,
      // IPSTATS_MIB_INHDRERRORS, drop (RFC 1122 §3.2.2.5).
      this.task.count("ipv4: bad-options");
      this.icmpError(bytes.subarray(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length), {
        kind: "param-problem",
        code: 0,
        pointer: IPV4_HEADER_LEN + badOption,
        invoking: new Uint8Array(0),
      });
      return iface.dropRx("ipv4: bad-options");
    }
    if (ip.options.length > 0 && hasIpv4Option(ip.options, SOURCE_ROUTE)) {
      // Linux ip_rcv_options(): accept_source_route is 0 on a host, "goto drop", as RFC 7126
      // §4.3-4.4 advises. RFC 1122 §3.2.1.8 wanted a host to be a source route's final
      // destination; Linux, the oracle here, is not, and neither is Serin.
      this.task.count("ipv4: source-route");
      return iface.dropRx("ipv4: source-route");
    }
    const kind = this.#destKind(iface, ip.dst);
    if (!kind) {
      if (this.forwarding && !linkMulticast) return forward4(this.#forwarder, iface, ip, bytes);
      return iface.dropRx("ipv4: not-for-us");
    }
    const whole = bytes.subarray(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length);
    if (ip.moreFragments || ip.fragmentOffset > 0) {
      const hl = IPV4_HEADER_LEN + ip.options.length;
      const r = this.reassembly.add({
        key: reassemblyKey4(ip.src, ip.dst, ip.protocol, ip.ident),
        offset: ip.fragmentOffset,
        more: ip.moreFragments,
        data: ip.payload,
        header: ip.fragmentOffset === 0 ? whole.subarray(0, hl) : undefined,
      }, this.task.clock.now());
      this.#rearm();
      if (r.status === "dropped") return iface.dropRx(`ipv4: reassembly-${r.reason}`);
      if (r.status !== "complete") return;
      // The datagram takes the first fragment's header (its options included), as Linux's
      // ip_frag_reasm() does, which then refuses one over 65,535 bytes: "if (len > 65535) goto
      // out_oversize" ("Oversized IP packet", IPSTATS_MIB_REASMFAILS).
      const options = r.header?.subarray(IPV4_HEADER_LEN) ?? ip.options;
      if (IPV4_HEADER_LEN + options.length + r.payload.length > IPV4_MAX_LEN) {
        this.task.count("ipv4: reassembly-oversize");
        return iface.dropRx("ipv4: reassembly-oversize");
      }
      const h = r.header;
      const full: Ipv4Repr = {
        ...ip,
        ...(h && { dscp: h[1] >>> 2, ecn: h[1] & 3, ttl: h[8], dontFragment: (h[6] & 0x40) !== 0 }),
        moreFragments: false,
        fragmentOffset: 0,
        options,
        payload: r.payload,
      };
      return this.#deliver(iface, full, encodeIpv4(full), kind);
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
    // The quoted sequence number lets TCP check the error is believable (RFC 5927 §4.1); nothing,
    // path MTU included, is learnt from one it does not believe (Linux's tcp_v4_err).
    const seq = q.length >= hl + 8
      ? ((q[hl + 4] << 24) | (q[hl + 5] << 16) | (q[hl + 6] << 8) | q[hl + 7]) >>> 0
      : -1;
    if (
      proto === IpProtocol.TCP && (seq < 0 || !this.tcp?.icmpBelievable(dst, sport, dport, seq))
    ) {
      return;
    }
    if (
      m.kind === "dst-unreachable" && m.code === Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED &&
      m.nextHopMtu
    ) {
      this.#pmtu.set(dst, {
        mtu: Math.max(68, m.nextHopMtu),
        expires: this.task.clock.now() + PMTU_MS,
      });
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
        seq,
      );
    }
  }

  #redirect(iface: NetInterface, ip: Ipv4Repr, gateway: number, quote: Uint8Array) {
    if (quote.length < IPV4_HEADER_LEN) return;
    const dst = ((quote[16] << 24) | (quote[17] << 16) | (quote[18] << 8) | quote[19]) >>> 0;
    // Honoured only from the gateway we use for that destination, to a neighbour on-link.
    const outcome = this.routes.applyRedirect(dst, gateway, ip.src, this.task.clock.now());
    this.task.count(`icmp: redirect ${outcome}`);
    void iface;
  }

  // ---- ARP ----

  /** Handle an ARP packet received on `iface`. */
  arpInput(iface: NetInterface, bytes: Uint8Array): void {
    const a = parseArp(bytes);
    if (arpMartian(iface, a.senderIp, a.targetIp, (x) => this.isLocal(x))) {
      this.task.count("arp: martian");
      return iface.dropRx("arp: martian");
    }
    const forUs = iface.addrs4.some((x) => x.addr === a.targetIp);
    if (a.senderIp !== 0) {
      this.#cache(iface).update(a.senderIp, a.senderMac, this.task.clock.now(), {
        solicited: a.op === ArpOp.REPLY && forUs,
        create: forUs,
      });
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
    this.#cache(iface).addStatic(ip, mac);
  }

  /** Remove an ARP entry. */
  removeNeighbour(ip: number): void {
    let found = false;
    for (const c of this.#arp.values()) found = c.remove(ip) || found;
    if (!found) {
      throw new ErrnoError("ENOENT", `No ARP entry for ${formatIPv4(ip)}`);
    }
  }

  // ---- output ----

  /** Send a datagram along `route`, fragmenting to the interface MTU unless DF. */
  output(route: Route4, d: Ipv4Send, owner?: SendOwner): ErrnoCode | undefined {
    const pathMtu = this.#pathMtu(d.dst);
    // A TCP super-segment goes whole to a link that cuts it up (TSO), unless a smaller path MTU
    // was learned (TCP then sends smaller segments anyway).
    const gso = d.protocol === IpProtocol.TCP && route.iface.gsoMax > 0 && pathMtu === undefined;
    const mtu = gso ? route.iface.gsoMax : Math.min(route.iface.mtu, pathMtu ?? Infinity);
    const options = d.options ?? new Uint8Array(0);
    const total = IPV4_HEADER_LEN + options.length + d.payload.length;
    if (total > 65535) return "EMSGSIZE";
    const ident = this.#ident.next(d.src, d.dst, d.protocol) & 0xffff;
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
      // Built with headroom: the header goes in front of the payload, in the same buffer.
      const inPlace = growFront(d.payload, total - d.payload.length);
      if (inPlace) emitIpv4(base, inPlace);
      this.#transmit(route, inPlace ?? encodeIpv4(base), owner);
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
    const r = this.#cache(iface).resolve(dst, this.task.clock.now(), { datagram, owner });
    if (r.status === "resolved") this.task.sendFrame(iface, r.mac, ETHERTYPE_IPV4, datagram);
    else if (r.status === "dropped") {
      this.task.count(`arp: ${r.reason}`);
      owner?.onSendError("EHOSTUNREACH", dstOf(datagram, dst));
    }
    this.#rearm();
  }

  #pathMtu(dst: number): number | undefined {
    const p = this.#pmtu.get(dst);
    if (!p) return undefined;
    if (this.task.clock.now() < p.expires) return p.mtu;
    this.#pmtu.delete(dst);
    return undefined;
  }

  // ---- forwarding ----

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
    if (!this.#icmpRate.allow(src, this.task.clock.now())) {
      return this.task.count("icmp: rate-limited");
    }
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
    for (const c of this.#arp.values()) c.poll(now);
    this.routes.poll(now);
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
    for (const c of this.#arp.values()) best = _earlier(best, c.nextDeadline());
    best = _earlier(best, this.routes.nextDeadline());
    best = _earlier(best, this.reassembly.nextDeadline());
    best = _earlier(best, this.tcp?.nextDeadline());
    return best === Infinity ? undefined : best;
  }

  /** Ask the task to re-arm its timer (deferred to the end of a drain or batch). */
  #rearm() {
    this.task.rearm();
  }

  /** A TCP socket (TCP attaches itself as {@link tcp}). */
  createTcp(sid: number) {
    if (!this.tcp) throw new ErrnoError("EPROTONOSUPPORT", "TCP is not available yet");
    return this.tcp.createSocket(sid);
  }
}

function _earlier(best: number, d: number | undefined): number {
  return d !== undefined && d < best ? d : best;
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

/** Turn a failed table operation into an ErrnoError. */
function check(r: { ok: true } | { ok: false; code: ErrnoCode; message: string }): void {
  if (!r.ok) throw new ErrnoError(r.code, r.message);
}

/** The destination address of an IPv4 datagram (or `fallback` when too short). */
function dstOf(datagram: Uint8Array, fallback: number): number {
  if (datagram.length < IPV4_HEADER_LEN) return fallback;
  return ((datagram[16] << 24) | (datagram[17] << 16) | (datagram[18] << 8) | datagram[19]) >>> 0;
}
