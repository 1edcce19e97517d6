/**
 * UDP over IPv6 (AF_INET6 datagram sockets). A subclass of {@link UdpSocket} so the IPv4 layer
 * also hands it IPv4 datagrams: unless IPV6_V6ONLY is set, the socket is dual-stack and sees IPv4
 * peers as v4-mapped addresses (::ffff:a.b.c.d), and can send to them. Link-local peers carry
 * their interface index as `scopeId`. IPV6_JOIN_GROUP/IPV6_LEAVE_GROUP take
 * `{ multiaddr, interface? }` (interface name or index).
 */
import * as abi from "../../kernel/abi.ts";
import type { OptValue, SockAddr } from "../../kernel/bus/messages.ts";
import { type ErrnoCode, ErrnoError, errnoName } from "../../kernel/errno.ts";
import { formatIPv6, parseIPv6 } from "../wire/addr.ts";
import {
  equal6,
  isLinkLocal6,
  isMulticast6,
  isUnspecified6,
  isV4Mapped,
  mappedFromV4,
  UNSPECIFIED6,
  v4FromMapped,
} from "../ip6/addr6.ts";
import type { NetInterface } from "../link/interface.ts";
import type { SendOwner6, Stack6 } from "../stack6.ts";
import { in6Addr, sockAddr6, type WaitCtx } from "../sockets/socket.ts";
import { buildUdp4 } from "./output.ts";
import { buildUdp6 } from "./output6.ts";
import { UdpSocket } from "./udp_socket.ts";

/** Largest UDP payload over IPv6 without jumbograms (65535 − 8). */
export const UDP6_MAX_PAYLOAD = 65527;

/**
 * The number the port table compares for address overlap: 0 for ::, the IPv4 address for a
 * v4-mapped address, else a value in 240.0.0.0/4 (never a real IPv4 address) derived from the
 * IPv6 address, so distinct IPv6 addresses rarely collide.
 */
export function portKey6(a: Uint8Array): number {
  if (isUnspecified6(a)) return 0;
  if (isV4Mapped(a)) return v4FromMapped(a);
  let h = 2166136261;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ a[i], 16777619);
  return (0xf0000000 | (h & 0x0fffffff)) >>> 0;
}

/** One AF_INET6 UDP socket. */
export class Udp6Socket extends UdpSocket implements SendOwner6 {
  local6: Uint8Array = UNSPECIFIED6;
  remote6?: Uint8Array;
  remoteScope = 0;
  #groups6: Array<{ group: Uint8Array; iface: NetInterface }> = [];

  constructor(sid: number, readonly stack6: Stack6) {
    super(sid, stack6);
    this.family = abi.AF_INET6;
  }

  override get proto(): string {
    return "udp6";
  }

  override bind(addr: SockAddr): void {
    const a = in6Addr(addr, "Cannot bind");
    if (this.localPort !== 0) throw new ErrnoError("EINVAL", "Cannot bind: already bound");
    if (isV4Mapped(a.addr)) {
      const v4 = v4FromMapped(a.addr);
      if (this.opts.v6only) throw new ErrnoError("EINVAL", "Cannot bind a v4-mapped address");
      if (v4 !== 0 && (v4 >>> 28) !== 0xe && !this.stack.isLocal4(v4)) {
        throw new ErrnoError(
          "EADDRNOTAVAIL",
          `Cannot bind to ${addr.family === 10 ? addr.addr : ""}`,
        );
      }
    } else if (
      !isUnspecified6(a.addr) && !isMulticast6(a.addr) && !this.stack6.isLocal6(a.addr)
    ) {
      throw new ErrnoError("EADDRNOTAVAIL", `Cannot bind to ${formatIPv6(a.addr)}`);
    }
    this.local6 = a.addr;
    this.localAddr = portKey6(a.addr);
    try {
      this.localPort = this.stack.ports.udp.bind(this, a.port);
    } catch (err) {
      this.local6 = UNSPECIFIED6; // refused: still unbound
      this.localAddr = 0;
      throw err;
    }
  }

  #autobind() {
    if (this.localPort === 0) this.localPort = this.stack.ports.udp.bind(this, 0);
  }

  override connect(addr: SockAddr, _ctx: WaitCtx): Promise<void> {
    if (addr.family === 0) {
      this.remote6 = undefined;
      this.remoteAddr = undefined;
      this.remotePort = 0;
      return Promise.resolve();
    }
    const a = in6Addr(addr, "Cannot connect");
    if (a.port === 0) throw new ErrnoError("EINVAL", "Cannot connect to port 0");
    if (isV4Mapped(a.addr)) {
      if (this.opts.v6only) throw new ErrnoError("ENETUNREACH", "Cannot connect");
      if (!this.stack.route4(v4FromMapped(a.addr), this.opts.bindToDevice)) {
        throw new ErrnoError("ENETUNREACH", "Cannot connect");
      }
      this.remoteAddr = v4FromMapped(a.addr);
    } else {
      if (!this.stack6.route6(a.addr, { device: this.opts.bindToDevice, scopeId: a.scopeId })) {
        throw new ErrnoError("ENETUNREACH", "Cannot connect");
      }
      this.remoteAddr = undefined;
    }
    this.#autobind();
    this.remote6 = a.addr;
    this.remotePort = a.port;
    this.remoteScope = a.scopeId;
    this.soError = 0;
    return Promise.resolve();
  }

  override sendmsg(
    data: Uint8Array,
    _flags: number,
    addr: SockAddr | undefined,
    _ctx: WaitCtx,
  ): Promise<number> {
    let dst: Uint8Array;
    let dport: number;
    let scopeId: number;
    if (addr && addr.family !== 0) {
      const a = in6Addr(addr, "Cannot send");
      if (a.port === 0) throw new ErrnoError("EINVAL", "Cannot send to port 0");
      dst = a.addr;
      dport = a.port;
      scopeId = a.scopeId;
    } else {
      if (this.remote6 === undefined) throw new ErrnoError("EDESTADDRREQ", "Cannot send");
      this.#pendingError();
      dst = this.remote6;
      dport = this.remotePort;
      scopeId = this.remoteScope;
    }
    if (data.length > UDP6_MAX_PAYLOAD) throw new ErrnoError("EMSGSIZE", "Cannot send");
    this.#autobind();
    if (isV4Mapped(dst)) return Promise.resolve(this.#send4(data, v4FromMapped(dst), dport));
    if (isV4Mapped(this.local6)) throw new ErrnoError("ENETUNREACH", "Cannot send");
    const route = this.stack6.route6(dst, { device: this.opts.bindToDevice, scopeId });
    if (!route) throw new ErrnoError("ENETUNREACH", "Cannot send");
    const src = isUnspecified6(this.local6) || isMulticast6(this.local6) ? route.src : this.local6;
    if (isUnspecified6(src)) throw new ErrnoError("EADDRNOTAVAIL", "Cannot send: no source");
    const multicast = isMulticast6(dst);
    const err = this.stack6.output6(route, {
      src,
      dst,
      nextHeader: abi.IPPROTO_UDP,
      hopLimit: multicast
        ? this.opts.multicastHops
        : this.opts.unicastHops >= 0
        ? this.opts.unicastHops
        : this.stack6.hopLimit6,
      trafficClass: this.opts.tos,
      payload: buildUdp6(src, this.localPort, dst, dport, data),
      multicastLoop: this.opts.multicastLoop,
    }, this);
    if (err) throw new ErrnoError(err, "Cannot send");
    return Promise.resolve(data.length);
  }

  #send4(data: Uint8Array, dst: number, dport: number): number {
    if (this.opts.v6only) throw new ErrnoError("ENETUNREACH", "Cannot send");
    if (!isUnspecified6(this.local6) && !isV4Mapped(this.local6)) {
      throw new ErrnoError("ENETUNREACH", "Cannot send");
    }
    const route = this.stack.route4(dst, this.opts.bindToDevice);
    if (!route) throw new ErrnoError("ENETUNREACH", "Cannot send");
    const bound = isV4Mapped(this.local6) ? v4FromMapped(this.local6) : 0;
    const src = bound || route.src;
    const err = this.stack.output4(route, {
      src,
      dst,
      protocol: abi.IPPROTO_UDP,
      ttl: (dst >>> 28) === 0xe ? this.opts.multicastTtl : this.opts.ttl,
      tos: this.opts.tos,
      payload: buildUdp4(src, this.localPort, dst, dport, data),
    }, this);
    if (err) throw new ErrnoError(err, "Cannot send");
    return data.length;
  }

  #pendingError() {
    if (this.soError && this.remote6 !== undefined) {
      const e = this.soError;
      this.soError = 0;
      throw new ErrnoError(errnoName(e), "Cannot send");
    }
  }

  /** IPv4 delivery (dual-stack): is this IPv4 datagram for us? */
  override matches(
    src: number,
    sport: number,
    dst: number,
    kind: "unicast" | "broadcast" | "multicast",
  ): boolean {
    if (this.closed || this.opts.v6only || kind === "multicast") return false;
    if (!isUnspecified6(this.local6)) {
      if (!isV4Mapped(this.local6) || v4FromMapped(this.local6) !== dst) return false;
    }
    if (this.remote6 !== undefined) {
      return isV4Mapped(this.remote6) && v4FromMapped(this.remote6) === src &&
        this.remotePort === sport;
    }
    return true;
  }

  /** IPv4 delivery: queue with the source as ::ffff:a.b.c.d. */
  override deliver(data: Uint8Array, from: number, port: number): boolean {
    return this.deliver6(data, mappedFromV4(from), port, 0);
  }

  /** True if an IPv6 datagram to (dst, dport) from (src, sport) is for this socket. */
  matches6(
    src: Uint8Array,
    sport: number,
    dst: Uint8Array,
    kind: "unicast" | "multicast",
  ): boolean {
    if (this.closed || isV4Mapped(this.local6)) return false;
    if (this.remote6 !== undefined && (!equal6(this.remote6, src) || this.remotePort !== sport)) {
      return false;
    }
    const localOk = isUnspecified6(this.local6) || equal6(this.local6, dst);
    if (kind === "multicast") return localOk && this.#groups6.some((g) => equal6(g.group, dst));
    return localOk;
  }

  /** Preference among matching sockets: connected, then bound to an address. */
  score6(): number {
    return (this.remote6 !== undefined ? 2 : 0) + (isUnspecified6(this.local6) ? 0 : 1);
  }

  /** Queue a received datagram (or drop and count when the receive buffer is full). */
  deliver6(
    data: Uint8Array,
    from: Uint8Array,
    port: number,
    ifindex: number,
    hopLimit?: number,
  ): boolean {
    const addr = sockAddr6(from, port, isLinkLocal6(from) ? ifindex : 0);
    return this.enqueue(data, addr, this.opts.recvHopLimit ? hopLimit : undefined);
  }

  protected override get connected(): boolean {
    return this.remote6 !== undefined;
  }

  override onSendError(code: ErrnoCode, dst: number): void {
    if (this.remote6 && isV4Mapped(this.remote6) && v4FromMapped(this.remote6) === dst) {
      this.setError(code);
    }
  }

  onSendError6(code: ErrnoCode, dst: Uint8Array): void {
    if (this.remote6 && equal6(this.remote6, dst)) this.setError(code);
  }

  override icmpError(code: ErrnoCode, dst: number, dport: number): void {
    if (
      this.remote6 && isV4Mapped(this.remote6) && v4FromMapped(this.remote6) === dst &&
      this.remotePort === dport
    ) this.setError(code);
  }

  /** An ICMPv6 error quoting a datagram this socket sent to ([dst], dport). */
  icmpError6(code: ErrnoCode, dst: Uint8Array, dport: number): void {
    if (this.remote6 && equal6(this.remote6, dst) && this.remotePort === dport) {
      this.setError(code);
    }
  }

  override getsockname(): SockAddr {
    return sockAddr6(this.local6, this.localPort);
  }

  override getpeername(): SockAddr {
    if (this.remote6 === undefined) throw new ErrnoError("ENOTCONN", "Not connected");
    return sockAddr6(this.remote6, this.remotePort, this.remoteScope);
  }

  override shutdown(how: number): void {
    if (this.remote6 === undefined) throw new ErrnoError("ENOTCONN", "Cannot shut down");
    if (how < 0 || how > 2) throw new ErrnoError("EINVAL", "Cannot shut down");
    this.wq.wake();
  }

  override readiness(): number {
    let ev = abi.POLLOUT;
    if (this.rq.length > 0) ev |= abi.POLLIN;
    if (this.soError) ev |= abi.POLLERR;
    return ev;
  }

  override queues() {
    return { recvQ: this.rq.bytes, sendQ: 0 };
  }

  protected override setProtocolOption(level: number, name: number, value: OptValue): boolean {
    if (
      level !== abi.IPPROTO_IPV6 || (name !== abi.IPV6_JOIN_GROUP && name !== abi.IPV6_LEAVE_GROUP)
    ) {
      return super.setProtocolOption(level, name, value);
    }
    const v = value as { multiaddr?: unknown; interface?: unknown };
    const group = typeof v?.multiaddr === "string" ? parseIPv6(v.multiaddr) : undefined;
    if (!group || !isMulticast6(group)) {
      throw new ErrnoError("EINVAL", "IPV6_JOIN_GROUP takes { multiaddr, interface? }");
    }
    let iface: NetInterface | undefined;
    if (typeof v.interface === "number" && v.interface !== 0) {
      iface = this.stack6.ifaceByIndex(v.interface);
    } else if (typeof v.interface === "string" && v.interface !== "") {
      iface = this.stack.iface(v.interface);
    } else iface = this.stack6.route6(group)?.iface;
    if (!iface) throw new ErrnoError("ENODEV", "No interface for multicast");
    const idx = this.#groups6.findIndex((g) => equal6(g.group, group) && g.iface === iface);
    if (name === abi.IPV6_JOIN_GROUP) {
      if (idx >= 0) throw new ErrnoError("EADDRINUSE", "Already a member");
      this.#groups6.push({ group, iface });
      this.stack6.joinGroup6(iface, group, true);
    } else {
      if (idx < 0) throw new ErrnoError("EADDRNOTAVAIL", "Not a member");
      this.#groups6.splice(idx, 1);
      this.stack6.joinGroup6(iface, group, false);
    }
    return true;
  }

  override release(): void {
    if (this.closed) return;
    for (const g of this.#groups6) this.stack6.joinGroup6(g.iface, g.group, false);
    this.#groups6 = [];
    super.release();
  }
}
