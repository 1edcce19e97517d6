/**
 * The NetworkTask (SerenityOS's Kernel/Net/NetworkTask.cpp): receives frames from every
 * interface, drains them in batches, dispatches by EtherType to ARP, IPv4 and IPv6, hands datagrams to
 * sockets, and runs the periodic work (ARP and reassembly aging, TCP timers) through the Clock.
 * Malformed frames are counted by reason and dropped; nothing here throws on bad input.
 */
import * as abi from "../kernel/abi.ts";
import type { NetCtl } from "../kernel/bus/messages.ts";
import type { Clock, Timer } from "../kernel/clock.ts";
import { type ErrnoCode, ErrnoError } from "../kernel/errno.ts";
import { type InterfaceOptions, NetInterface } from "./link/interface.ts";
import { LOOPBACK_MTU, LoopbackPort } from "./link/loopback.ts";
import { PortTable } from "./sockets/ports.ts";
import type { InetSocket } from "./sockets/socket.ts";
import { RawSocket } from "./sockets/raw_socket.ts";
import { UdpSocket } from "./udp/udp_socket.ts";
import type { SocketHost } from "./service.ts";
import type { Ipv4Send, Route4, SendOwner, Stack } from "./stack.ts";
import { WireError } from "./wire/errors.ts";
import {
  ETHERNET_HEADER_LEN,
  EthernetFrame,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
} from "./wire/ethernet.ts";
import { Ipv4Stack } from "./ip/ipv4_stack.ts";
import { type NetCtlHost, runNetctl } from "./netctl.ts";
import { ResolverConfStore } from "./resolver_conf.ts";
import { growFront, recyclePacket } from "./link/headroom.ts";
import { TcpDemux } from "./tcp/demux.ts";
import type { SynCookieMode } from "./tcp/listener.ts";
import { TcpSocket } from "./sockets/tcp_socket.ts";
import { Ipv6Stack } from "./ip6/ipv6_stack.ts";
import type { Ipv6Send, Route6, Route6Constraint, SendOwner6 } from "./stack6.ts";
import type { TcpHost } from "./tcp/host.ts";
import { Udp6Socket } from "./udp/udp6_socket.ts";
import { UdpDemux } from "./udp/udp_demux.ts";
import { Raw6Socket } from "./sockets/raw6_socket.ts";
import { MemoryLedger } from "./sockets/memory_ledger.ts";

/** How a NetworkTask is set up. */
export interface NetworkTaskOptions {
  clock: Clock;
  /** Host name, for logs and tools. */
  name: string;
  /** Forward IPv4 between interfaces (off on a host, on for a router). */
  forwarding?: boolean;
  /**
   * Seed for ISNs, timestamps, IP identification and ephemeral ports: only the simulator and
   * tests fix one. Without it the secrets come from the CSPRNG at every boot (RFC 6528, 6056).
   */
  seed?: number;
  /** Bring IPv6 up on every interface as it is added (default true). */
  ipv6?: boolean;
  /** When TCP listeners send SYN cookies, as Linux's net.ipv4.tcp_syncookies (default 1). */
  syncookies?: SynCookieMode;
}

/** The network stack of one host. */
export class NetworkTask implements Stack, TcpHost, SocketHost, NetCtlHost {
  readonly clock: Clock;
  readonly name: string;
  readonly ports: PortTable;
  readonly counters = new Map<string, number>();
  /** What each process is charged for the sockets, rings and calls it holds here. */
  readonly memory = new MemoryLedger();
  /** Resolver configuration and hosts table (resolv.conf and /etc/hosts, for libc). */
  readonly resolver = new ResolverConfStore(() => this.clock.now());
  readonly interfaces: NetInterface[] = [];
  readonly ipv4: Ipv4Stack;
  readonly ipv6: Ipv6Stack;
  readonly #ipv6Auto: boolean;
  readonly #sockets = new Map<number, InetSocket>();
  readonly #tcp: TcpDemux;
  #nextSid = 1;
  #rxQueue: Array<[NetInterface, Uint8Array]> = [];
  #drainScheduled = false;
  #timer?: Timer;
  #timerAt = Infinity;
  /** Nesting of {@link batch}; while positive, {@link rearm} waits for the batch to end. */
  #batchDepth = 0;

  constructor(opts: NetworkTaskOptions) {
    this.clock = opts.clock;
    this.name = opts.name;
    this.ports = new PortTable(opts.seed);
    // The composition root: the IP layers reach TCP, UDP and this task only through the ports
    // they declare (ip/ip_host.ts, ip/transport4.ts, ip6/transport6.ts).
    this.ipv4 = new Ipv4Stack(this, { forwarding: opts.forwarding ?? false, seed: opts.seed });
    this.ipv6 = new Ipv6Stack(this, { forwarding: opts.forwarding ?? false, seed: opts.seed });
    const tcp = new TcpDemux(this, opts.seed ?? 0);
    tcp.syncookies = opts.syncookies ?? 1;
    this.#tcp = tcp;
    const udp = new UdpDemux(this.ports.udp);
    this.ipv4.tcp = tcp;
    this.ipv4.udp = udp;
    this.ipv6.tcp = tcp;
    this.ipv6.udp = udp;
    this.#ipv6Auto = opts.ipv6 ?? true;
    const lo = this.addInterface({
      name: "lo",
      driver: "loopback",
      mac: new Uint8Array(6),
      mtu: LOOPBACK_MTU,
      port: new LoopbackPort(this.clock),
      loopback: true,
    });
    this.ipv4.addAddress(lo, 0x7f000001, 8);
  }

  /** Attach an interface; frames arriving on it are queued for the next drain. */
  addInterface(opts: InterfaceOptions): NetInterface {
    const iface = new NetInterface(
      this.interfaces.length + 1,
      opts,
      (i, f) => this.#enqueue(i, f),
      () => this.#burstEnd(),
    );
    this.interfaces.push(iface);
    if (this.#ipv6Auto || iface.loopback) this.ipv6.ifaceUp(iface);
    return iface;
  }

  #enqueue(iface: NetInterface, frame: Uint8Array) {
    this.#rxQueue.push([iface, frame]);
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      this.clock.schedule(0, () => {
        if (this.#drainScheduled) this.drain();
      });
    }
  }

  /** A link finished handing over a burst: process it now rather than on the next turn. */
  #burstEnd() {
    if (this.#rxQueue.length > 0) this.drain();
  }

  /** Process every queued frame (the NetworkTask's loop body), then re-arm timers. */
  drain(): void {
    this.#drainScheduled = false;
    const queue = this.#rxQueue;
    this.#rxQueue = [];
    this.batch(() => {
      for (const [iface, frame] of queue) {
        this.#consumed = false;
        this.input(iface, frame);
        // Over loopback the frame is ours alone: once TCP copied its payload out, reuse it.
        if (this.#consumed && iface.loopback) recyclePacket(frame);
      }
      this.ipv4.flush();
    });
  }

  #consumed = false;

  /**
   * The frame being processed was only read (TCP copied its payload out; nothing keeps a view
   * of it): its buffer may be reused.
   */
  frameConsumed(): void {
    this.#consumed = true;
  }

  /**
   * Run `fn` with timer re-arming deferred to its end: protocols ask for a re-arm after every
   * packet, but within one synchronous run of work the timer cannot fire, so once is enough.
   */
  batch<T>(fn: () => T): T {
    this.#batchDepth++;
    try {
      return fn();
    } finally {
      if (--this.#batchDepth === 0) this.rearm();
    }
  }

  /** Handle one received frame. */
  input(iface: NetInterface, frame: Uint8Array): void {
    let eth: EthernetFrame;
    try {
      eth = new EthernetFrame(frame);
    } catch (err) {
      return this.#drop(iface, err);
    }
    const dst = eth.dst;
    const forUs = iface.loopback || (dst[0] & 1) === 1 || equalMac(dst, iface.mac);
    if (!forUs) return iface.dropRx("eth: not-for-us");
    if (dst[0] === 0x33 && dst[1] === 0x33 && !iface.loopback && !joinedMac6(iface, dst)) {
      return iface.dropRx("eth: multicast-not-joined");
    }
    try {
      switch (eth.ethertype) {
        case ETHERTYPE_ARP:
          return this.ipv4.arpInput(iface, eth.payload);
        case ETHERTYPE_IPV4:
          return this.ipv4.input(iface, eth.payload, (dst[0] & 1) === 1);
        case ETHERTYPE_IPV6:
          return this.ipv6.input(iface, eth.payload, (dst[0] & 1) === 1);
        default:
          return iface.dropRx("eth: unknown-ethertype");
      }
    } catch (err) {
      this.#drop(iface, err);
    }
  }

  #drop(iface: NetInterface, err: unknown) {
    if (err instanceof WireError) return iface.dropRx(`${err.protocol}: ${err.reason}`);
    if (err instanceof ErrnoError) return iface.dropRx(`errno: ${err.code}`);
    // A bug, not bad input: count it loudly rather than crash the packet loop.
    iface.dropRx("bug: exception");
    this.count(`bug: ${err instanceof Error ? err.message : String(err)}`.slice(0, 120));
  }

  /** RDNSS/DNSSL entries from an RA go to the resolver configuration, after configured ones. */
  learnDnsFromRa(kind: "servers" | "search", values: readonly string[], lifetime: number): void {
    const skipped = this.resolver.learnFromRa(kind, values, lifetime);
    for (let i = 0; i < skipped; i++) this.count(`ndp: ra-dns-${kind}-invalid`);
  }

  /** Count an event under `key`. */
  count(key: string): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  /** Build and send one Ethernet frame around an already-built payload. */
  sendFrame(iface: NetInterface, dstMac: Uint8Array, ethertype: number, payload: Uint8Array): void {
    // A payload built with headroom (link/headroom.ts) gets its header in place: no copy.
    let frame = growFront(payload, ETHERNET_HEADER_LEN);
    if (!frame) {
      frame = new Uint8Array(ETHERNET_HEADER_LEN + payload.length);
      frame.set(payload, ETHERNET_HEADER_LEN);
    }
    frame.set(dstMac, 0);
    frame.set(iface.mac, 6);
    frame[12] = ethertype >>> 8;
    frame[13] = ethertype & 255;
    iface.transmit(frame);
  }

  /** Ask for a wake-up at `at` (the earliest request wins). */
  wakeAt(at: number): void {
    if (at >= this.#timerAt) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.clock.schedule(at - this.clock.now(), () => {
      this.#timerAt = Infinity;
      this.#timer = undefined;
      this.poll();
    });
  }

  /** Run every protocol's timers that are due, then re-arm. */
  poll(): void {
    this.ipv4.poll(this.clock.now());
    this.ipv6.poll(this.clock.now());
    this.rearm();
  }

  /** Re-arm the single timer at the earliest deadline any protocol needs. */
  rearm(): void {
    if (this.#batchDepth > 0) return; // the batch re-arms when it ends
    const a4 = this.ipv4.nextDeadline();
    const a6 = this.ipv6.nextDeadline();
    const at = a4 === undefined ? a6 : a6 === undefined ? a4 : Math.min(a4, a6);
    if (at !== undefined) this.wakeAt(Math.max(at, this.clock.now()));
  }

  // ---- Stack (what sockets use) ----

  route4(dst: number, device?: string): Route4 | undefined {
    return this.ipv4.route(dst, device);
  }

  output4(route: Route4, dgram: Ipv4Send, owner?: SendOwner): ErrnoCode | undefined {
    const r = this.ipv4.output(route, dgram, owner);
    this.ipv4.flush();
    this.rearm();
    return r;
  }

  isLocal4(addr: number): boolean {
    return this.ipv4.isLocal(addr);
  }

  iface(name: string): NetInterface | undefined {
    return this.interfaces.find((i) => i.name === name);
  }

  joinGroup4(iface: NetInterface, group: number, join: boolean): void {
    this.ipv4.joinGroup(iface, group, join);
  }

  // ---- Stack6 (what IPv6 sockets use) ----

  route6(dst: Uint8Array, c?: Route6Constraint): Route6 | undefined {
    return this.ipv6.route(dst, c);
  }

  output6(route: Route6, d: Ipv6Send, owner?: SendOwner6): ErrnoCode | undefined {
    const r = this.ipv6.output(route, d, owner);
    this.ipv4.flush();
    this.rearm();
    return r;
  }

  isLocal6(addr: Uint8Array): boolean {
    return this.ipv6.isLocal(addr);
  }

  ifaceByIndex(index: number): NetInterface | undefined {
    return this.interfaces.find((i) => i.index === index);
  }

  joinGroup6(iface: NetInterface, group: Uint8Array, join: boolean): void {
    this.ipv6.joinGroup(iface, group, join);
    this.rearm();
  }

  get hopLimit6(): number {
    return this.ipv6.hopLimit;
  }

  // ---- SocketHost (what the kernel reaches through the service) ----

  createSocket(domain: number, type: number, protocol: number): InetSocket {
    if (domain === abi.AF_INET6) return this.#createSocket6(type, protocol);
    if (domain !== abi.AF_INET) {
      throw new ErrnoError("EAFNOSUPPORT", "Cannot create socket: unsupported address family");
    }
    const sid = this.#nextSid++;
    let s: InetSocket;
    switch (type) {
      case abi.SOCK_DGRAM:
        if (protocol !== 0 && protocol !== abi.IPPROTO_UDP) {
          throw new ErrnoError("EPROTONOSUPPORT", "Cannot create datagram socket");
        }
        s = new UdpSocket(sid, this);
        break;
      case abi.SOCK_RAW:
        if (protocol <= 0 || protocol > 255) {
          throw new ErrnoError("EPROTONOSUPPORT", "Cannot create raw socket");
        }
        s = new RawSocket(sid, this, protocol);
        this.ipv4.raw.add(s as RawSocket);
        break;
      case abi.SOCK_STREAM:
        if (protocol !== 0 && protocol !== abi.IPPROTO_TCP) {
          throw new ErrnoError("EPROTONOSUPPORT", "Cannot create stream socket");
        }
        s = new TcpSocket(sid, this.#tcp);
        break;
      default:
        throw new ErrnoError("ESOCKTNOSUPPORT", "Cannot create socket");
    }
    this.#sockets.set(sid, s);
    return s;
  }

  #createSocket6(type: number, protocol: number): InetSocket {
    let s: InetSocket;
    switch (type) {
      case abi.SOCK_DGRAM:
        if (protocol !== 0 && protocol !== abi.IPPROTO_UDP) {
          throw new ErrnoError("EPROTONOSUPPORT", "Cannot create datagram socket");
        }
        s = new Udp6Socket(this.#nextSid++, this);
        break;
      case abi.SOCK_RAW:
        if (protocol !== abi.IPPROTO_ICMPV6) {
          throw new ErrnoError("EPROTONOSUPPORT", "Cannot create raw socket: only ICMPv6");
        }
        s = new Raw6Socket(this.#nextSid++, this, protocol);
        this.ipv6.raw.add(s as Raw6Socket);
        break;
      case abi.SOCK_STREAM:
        if (protocol !== 0 && protocol !== abi.IPPROTO_TCP) {
          throw new ErrnoError("EPROTONOSUPPORT", "Cannot create stream socket");
        }
        s = new TcpSocket(this.#nextSid++, this.#tcp, abi.AF_INET6);
        break;
      default:
        throw new ErrnoError("ESOCKTNOSUPPORT", "Cannot create socket");
    }
    this.#sockets.set(s.sid, s);
    return s;
  }

  adopt(s: InetSocket): void {
    this.#sockets.set(s.sid, s);
  }

  /** A fresh socket id (for sockets created by the stack, e.g. accepted connections). */
  allocateSid(): number {
    return this.#nextSid++;
  }

  socket(sid: number): InetSocket | undefined {
    return this.#sockets.get(sid);
  }

  forget(sid: number): void {
    const s = this.#sockets.get(sid);
    this.#sockets.delete(sid);
    if (s instanceof RawSocket) this.ipv4.raw.delete(s);
    if (s instanceof Raw6Socket) this.ipv6.raw.delete(s);
  }

  /** Every open socket (netstat). */
  sockets(): IterableIterator<InetSocket> {
    return this.#sockets.values();
  }

  netctl(req: NetCtl): unknown {
    return runNetctl(this, req);
  }
}

/** True if `mac` (33:33:…) is the MAC of an IPv6 group `iface` joined (RFC 2464 §7). */
function joinedMac6(iface: NetInterface, mac: Uint8Array): boolean {
  for (const g of iface.groups6.values()) {
    const a = g.addr;
    if (a[12] === mac[2] && a[13] === mac[3] && a[14] === mac[4] && a[15] === mac[5]) return true;
  }
  return false;
}

function equalMac(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (a[i] !== b[i]) return false;
  return true;
}
