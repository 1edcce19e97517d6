/**
 * UDP sockets (RFC 768): bind with ephemeral ports and SO_REUSEADDR, connect/disconnect,
 * sendto/recvfrom with source addresses, a receive queue bounded by SO_RCVBUF (drops counted),
 * broadcast with SO_BROADCAST, multicast membership, MSG_PEEK/MSG_DONTWAIT, SO_TIMESTAMP, and
 * ICMP errors reported on connected sockets.
 */
import * as abi from "../../kernel/abi.ts";
import type { OptValue, RecvResult, SockAddr } from "../../kernel/bus/messages.ts";
import { type ErrnoCode, ErrnoError, errnoName } from "../../kernel/errno.ts";
import { parseIPv4 } from "../wire/addr.ts";
import type { PortUser } from "../sockets/ports.ts";
import { inAddr, InetSocket, sockAddr4, type WaitCtx } from "../sockets/socket.ts";
import type { SendOwner, Stack } from "../stack.ts";
import { buildUdp4 } from "./output.ts";
import { PacketQueue } from "../sockets/packet_queue.ts";

/** Largest UDP payload over IPv4 (65535 − 20 − 8). */
export const UDP_MAX_PAYLOAD = 65507;

/** One UDP socket. */
export class UdpSocket extends InetSocket implements PortUser, SendOwner {
  localAddr = 0;
  localPort = 0;
  remoteAddr?: number;
  remotePort = 0;
  /** Received datagrams waiting to be read. */
  protected readonly rq = new PacketQueue();
  #groups: Array<{ group: number; iface: string }> = [];
  /** Datagrams dropped because the receive queue was full. */
  drops = 0;

  constructor(sid: number, stack: Stack) {
    super(sid, stack, abi.SOCK_DGRAM, abi.IPPROTO_UDP);
  }

  get proto(): string {
    return "udp";
  }

  bind(addr: SockAddr): void {
    const a = inAddr(addr, "Cannot bind");
    if (this.localPort !== 0) throw new ErrnoError("EINVAL", "Cannot bind: already bound");
    const multicast = (a.addr >>> 28) === 0xe;
    if (a.addr !== 0 && !multicast && a.addr !== 0xffffffff && !this.stack.isLocal4(a.addr)) {
      throw new ErrnoError("EADDRNOTAVAIL", `Cannot bind to ${addr.family === 2 ? addr.addr : ""}`);
    }
    this.localAddr = a.addr;
    try {
      this.localPort = this.stack.ports.udp.bind(this, a.port);
    } catch (err) {
      this.localAddr = 0; // refused: still unbound
      throw err;
    }
  }

  #autobind() {
    if (this.localPort === 0) this.localPort = this.stack.ports.udp.bind(this, 0);
  }

  connect(addr: SockAddr, _ctx: WaitCtx): Promise<void> {
    if (addr.family === 0) {
      this.remoteAddr = undefined;
      this.remotePort = 0;
      return Promise.resolve();
    }
    const a = inAddr(addr, "Cannot connect");
    if (a.port === 0) throw new ErrnoError("EINVAL", "Cannot connect to port 0");
    const route = this.stack.route4(a.addr, this.opts.bindToDevice);
    if (!route) throw new ErrnoError("ENETUNREACH", "Cannot connect");
    this.#autobind();
    this.remoteAddr = a.addr;
    this.remotePort = a.port;
    this.soError = 0;
    return Promise.resolve();
  }

  sendmsg(
    data: Uint8Array,
    flags: number,
    addr: SockAddr | undefined,
    _ctx: WaitCtx,
  ): Promise<number> {
    let dst: number;
    let dport: number;
    if (addr && addr.family !== 0) {
      const a = inAddr(addr, "Cannot send");
      dst = a.addr;
      dport = a.port;
      if (dport === 0) throw new ErrnoError("EINVAL", "Cannot send to port 0");
    } else {
      if (this.remoteAddr === undefined) throw new ErrnoError("EDESTADDRREQ", "Cannot send");
      this.#pendingError();
      dst = this.remoteAddr;
      dport = this.remotePort;
    }
    if (data.length > UDP_MAX_PAYLOAD) throw new ErrnoError("EMSGSIZE", "Cannot send");
    const route = this.stack.route4(dst, this.opts.bindToDevice);
    if (!route) throw new ErrnoError("ENETUNREACH", "Cannot send");
    if ((route.broadcast || dst === 0xffffffff) && !this.opts.broadcast) {
      throw new ErrnoError("EACCES", "Cannot send to a broadcast address without SO_BROADCAST");
    }
    void flags;
    this.#autobind();
    const src = this.localAddr !== 0 && (this.localAddr >>> 28) !== 0xe
      ? this.localAddr
      : route.src;
    const multicast = (dst >>> 28) === 0xe;
    const err = this.stack.output4(route, {
      src,
      dst,
      protocol: abi.IPPROTO_UDP,
      ttl: multicast ? this.opts.multicastTtl : this.opts.ttl,
      tos: this.opts.tos,
      payload: buildUdp4(src, this.localPort, dst, dport, data),
    }, this);
    if (err) throw new ErrnoError(err, "Cannot send");
    return Promise.resolve(data.length);
  }

  #pendingError() {
    if (this.soError && this.remoteAddr !== undefined) {
      const e = this.soError;
      this.soError = 0;
      throw new ErrnoError(errnoName(e), "Cannot send");
    }
  }

  /** True if a datagram to (dst, dport) from (src, sport) is for this socket. */
  matches(
    src: number,
    sport: number,
    dst: number,
    kind: "unicast" | "broadcast" | "multicast",
  ): boolean {
    if (this.closed) return false;
    if (this.remoteAddr !== undefined && (this.remoteAddr !== src || this.remotePort !== sport)) {
      return false;
    }
    if (kind === "multicast") {
      return (this.localAddr === 0 || this.localAddr === dst) &&
        this.#groups.some((g) => g.group === dst);
    }
    if (kind === "broadcast") return this.localAddr === 0 || this.localAddr === dst;
    return this.localAddr === 0 || this.localAddr === dst;
  }

  /** Queue a received datagram (or drop and count when the receive buffer is full). */
  deliver(data: Uint8Array, from: number, port: number): boolean {
    return this.enqueue(data, sockAddr4(from, port));
  }

  /** Queue a datagram from `addr`, or drop and count it when the receive buffer is full. */
  protected enqueue(data: Uint8Array, addr: SockAddr, hopLimit?: number): boolean {
    const at = this.stack.clock.now();
    if (this.account?.over) {
      // Its holder is over its memory budget (memory_ledger.ts): dropped, as a full buffer.
      this.drops++;
      this.stack.count("udp: over memory budget");
      return false;
    }
    if (
      !this.rq.push({ data, addr, at, hopLimit }, {
        bytes: this.opts.rcvbuf,
        allowOneOversize: true,
      })
    ) {
      this.drops++;
      this.stack.count("udp: rcvbuf-full");
      return false;
    }
    this.wq.wake();
    return true;
  }

  /** Whether asynchronous errors (ICMP) are reported to this socket: it is connected. */
  protected get connected(): boolean {
    return this.remoteAddr !== undefined;
  }

  async recvmsg(len: number, flags: number, ctx: WaitCtx): Promise<RecvResult> {
    const deadline = this.recvDeadline();
    const nonblock = this.nonblock || (flags & abi.MSG_DONTWAIT) !== 0;
    for (;;) {
      const r = this.rq.take(len, flags, this.opts.timestamp);
      if (r) return r;
      if (this.soError && this.connected) {
        const e = this.soError;
        this.soError = 0;
        throw new ErrnoError(errnoName(e), "Cannot receive");
      }
      if (this.closed) throw new ErrnoError("EBADF", "Cannot receive");
      if (nonblock) throw new ErrnoError("EAGAIN", "Cannot receive");
      await this.sleep(deadline, ctx, "Cannot receive");
    }
  }

  onSendError(code: ErrnoCode, dst: number): void {
    // Only connected sockets hear about asynchronous errors (as on Linux without IP_RECVERR).
    if (this.remoteAddr === dst) this.setError(code);
  }

  /** An ICMP error quoting a datagram this socket sent to (dst, dport). */
  icmpError(code: ErrnoCode, dst: number, dport: number): void {
    if (this.remoteAddr === dst && this.remotePort === dport) this.setError(code);
  }

  getsockname(): SockAddr {
    return sockAddr4(this.localAddr, this.localPort);
  }

  getpeername(): SockAddr {
    if (this.remoteAddr === undefined) throw new ErrnoError("ENOTCONN", "Not connected");
    return sockAddr4(this.remoteAddr, this.remotePort);
  }

  shutdown(how: number): void {
    if (this.remoteAddr === undefined) throw new ErrnoError("ENOTCONN", "Cannot shut down");
    if (how < 0 || how > 2) throw new ErrnoError("EINVAL", "Cannot shut down");
    this.wq.wake();
  }

  readiness(): number {
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
      level !== abi.IPPROTO_IP ||
      (name !== abi.IP_ADD_MEMBERSHIP && name !== abi.IP_DROP_MEMBERSHIP)
    ) {
      return false;
    }
    const v = value as { multiaddr?: unknown; interface?: unknown };
    const group = typeof v?.multiaddr === "string" ? parseIPv4(v.multiaddr) : undefined;
    if (group === undefined || (group >>> 28) !== 0xe) {
      throw new ErrnoError("EINVAL", "IP_ADD_MEMBERSHIP takes { multiaddr, interface? }");
    }
    let ifname: string | undefined;
    if (typeof v.interface === "string" && v.interface !== "" && v.interface !== "0.0.0.0") {
      ifname = this.stack.iface(v.interface)?.name ?? this.#ifaceByAddr(v.interface);
      if (!ifname) throw new ErrnoError("ENODEV", `No interface ${v.interface}`);
    } else {
      ifname = this.stack.route4(group)?.iface.name;
      if (!ifname) throw new ErrnoError("ENODEV", "No interface for multicast");
    }
    const iface = this.stack.iface(ifname)!;
    const idx = this.#groups.findIndex((g) => g.group === group && g.iface === ifname);
    if (name === abi.IP_ADD_MEMBERSHIP) {
      if (idx >= 0) throw new ErrnoError("EADDRINUSE", "Already a member");
      this.#groups.push({ group, iface: ifname });
      this.stack.joinGroup4(iface, group, true);
    } else {
      if (idx < 0) throw new ErrnoError("EADDRNOTAVAIL", "Not a member");
      this.#groups.splice(idx, 1);
      this.stack.joinGroup4(iface, group, false);
    }
    return true;
  }

  #ifaceByAddr(text: string): string | undefined {
    const a = parseIPv4(text);
    if (a === undefined) return undefined;
    const r = this.stack.route4(a);
    return r && r.src === a ? r.iface.name : undefined;
  }

  /** Multicast groups this socket joined, for loopback decisions. */
  get groups(): ReadonlyArray<{ group: number; iface: string }> {
    return this.#groups;
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    for (const g of this.#groups) {
      const iface = this.stack.iface(g.iface);
      if (iface) this.stack.joinGroup4(iface, g.group, false);
    }
    this.#groups = [];
    if (this.localPort) this.stack.ports.udp.release(this, this.localPort);
    this.rq.clear();
    this.wq.wake();
  }
}
