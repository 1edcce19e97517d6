/**
 * A TCP socket's addressing and connection setup: the POSIX face of `tcp/` (TcpConnection,
 * TcpListener) for bind, listen with a real backlog, accept, and connect (blocking, or
 * EINPROGRESS when nonblocking), for AF_INET and AF_INET6 (dual-stack unless IPV6_V6ONLY).
 * Byte I/O is `tcp_stream.ts`, shared rings `tcp_shared_rings.ts`, options and close `tcp_socket.ts`.
 */
import * as abi from "../../kernel/abi.ts";
import type { SockAddr } from "../../kernel/bus/messages.ts";
import { Errno, ErrnoError } from "../../kernel/errno.ts";
import type { TcpConnection, TcpListener } from "../tcp/mod.ts";
import type { PortUser } from "./ports.ts";
import { in6Addr, inAddr, InetSocket, sockAddr4, sockAddr6, type WaitCtx } from "./socket.ts";
import type { TcpEndpoint, TcpSockets } from "../tcp/endpoint.ts";
import { parsePeerKey } from "../tcp/flow_key.ts";
import {
  isLinkLocal6,
  isMulticast6,
  isUnspecified6,
  isV4Mapped,
  mappedFromV4,
  UNSPECIFIED6,
  v4FromMapped,
} from "../ip6/addr6.ts";
import { portKey6 } from "../udp/udp6_socket.ts";

/** Default SO_RCVBUF and SO_SNDBUF of a TCP socket. */
export const TCP_DEFAULT_BUF = 1 << 20;

/** Where a TCP socket is in its life. */
export type TcpPhase = "idle" | "listening" | "connecting" | "connected" | "closed";

/** A TCP socket's addresses, its connection or listener, and how it gets them. */
export abstract class TcpSocketBase extends InetSocket implements PortUser, TcpEndpoint {
  localAddr = 0;
  localPort = 0;
  remoteAddr = 0;
  remotePort = 0;
  /** AF_INET6 sockets: local address (v4-mapped when talking IPv4). */
  local6?: Uint8Array;
  /** AF_INET6 sockets: peer address (v4-mapped for an IPv4 peer). */
  remote6?: Uint8Array;
  /** Interface index of a link-local IPv6 peer. */
  remoteScope = 0;
  phase: TcpPhase = "idle";
  conn?: TcpConnection;
  listener?: TcpListener;
  /** Accepted children share the listener's port instead of claiming it. */
  sharesPort = false;
  nodelay = false;
  maxseg?: number;
  keepIdle = 7_200_000;
  keepIntvl = 75_000;
  keepCnt = 9;
  congestion: "newreno" | "cubic" = "newreno";
  /** Whether this socket claimed its port (accepted children share the listener's). */
  protected _ownsPort = false;

  constructor(sid: number, readonly layer: TcpSockets, family: number = abi.AF_INET) {
    super(sid, layer.stack, abi.SOCK_STREAM, abi.IPPROTO_TCP);
    this.family = family;
    // TCP buffers default larger than datagram ones (Linux autotunes up to several MiB; Serin
    // does not autotune, so it starts at 1 MiB): a 200 KiB window caps a 10 ms path at 160 Mbit/s.
    this.opts.rcvbuf = TCP_DEFAULT_BUF;
    this.opts.sndbuf = TCP_DEFAULT_BUF;
  }

  get proto(): string {
    return this.family === abi.AF_INET6 ? "tcp6" : "tcp";
  }

  /** In state LISTEN (the port table's rules depend on it). */
  get listening(): boolean {
    return this.phase === "listening";
  }

  bind(addr: SockAddr): void {
    if (this.family === abi.AF_INET6) return this.#bind6(addr);
    const a = inAddr(addr, "Cannot bind");
    if (this.localPort !== 0 || this.phase !== "idle") {
      throw new ErrnoError("EINVAL", "Cannot bind: already bound");
    }
    if (a.addr !== 0 && !this.stack.isLocal4(a.addr)) {
      throw new ErrnoError("EADDRNOTAVAIL", "Cannot bind");
    }
    // The port table judges the address being bound: set it first, undo it if refused.
    this.localAddr = a.addr;
    try {
      this.localPort = this.stack.ports.tcp.bind(this, a.port);
    } catch (err) {
      this.localAddr = 0;
      throw err;
    }
    this._ownsPort = true;
  }

  #bind6(addr: SockAddr): void {
    const a = in6Addr(addr, "Cannot bind");
    if (this.localPort !== 0 || this.phase !== "idle") {
      throw new ErrnoError("EINVAL", "Cannot bind: already bound");
    }
    if (isV4Mapped(a.addr)) {
      const v4 = v4FromMapped(a.addr);
      if (this.opts.v6only) throw new ErrnoError("EINVAL", "Cannot bind a v4-mapped address");
      if (v4 !== 0 && !this.stack.isLocal4(v4)) {
        throw new ErrnoError("EADDRNOTAVAIL", "Cannot bind");
      }
      this.localAddr = v4;
    } else {
      if (!isUnspecified6(a.addr) && !this.layer.stack.isLocal6(a.addr)) {
        throw new ErrnoError("EADDRNOTAVAIL", "Cannot bind");
      }
      this.localAddr = portKey6(a.addr);
    }
    this.local6 = a.addr;
    try {
      this.localPort = this.stack.ports.tcp.bind(this, a.port);
    } catch (err) {
      this.localAddr = 0;
      this.local6 = undefined;
      throw err;
    }
    this._ownsPort = true;
  }

  override listen(backlog: number): void {
    if (this.phase === "listening") {
      return; // Linux lets listen() be called again to change the backlog; keep the first.
    }
    if (this.phase !== "idle") throw new ErrnoError("EINVAL", "Cannot listen");
    if (this.localPort === 0) {
      this.localPort = this.stack.ports.tcp.bind(this, 0);
      this._ownsPort = true;
    } else {
      // Bound beside others with SO_REUSEADDR: only one of them may listen (as Linux's
      // inet_csk_get_port called again by inet_csk_listen_start).
      this.stack.ports.tcp.check(
        this,
        this.localPort,
        `Cannot listen on port ${this.localPort}: address already in use`,
      );
    }
    this.listener = this.layer.listen(this, Math.min(4096, Math.max(1, backlog)));
    this.phase = "listening";
  }

  override async accept(ctx: WaitCtx): Promise<{ socket: InetSocket; addr: SockAddr }> {
    if (this.phase !== "listening" || !this.listener) {
      throw new ErrnoError("EINVAL", "Cannot accept: not listening");
    }
    const deadline = this.recvDeadline();
    for (;;) {
      const a = this.listener.accept();
      if (a) {
        const child = this.#adoptAccepted(a.conn, a.peer.key);
        this.recharge(); // its bytes go to whoever accepted it
        return { socket: child, addr: child.getpeername() };
      }
      if (this.closed) throw new ErrnoError("EBADF", "Cannot accept");
      if (this.nonblock) throw new ErrnoError("EAGAIN", "Cannot accept");
      await this.sleep(deadline, ctx, "Cannot accept");
    }
  }

  /** A new socket of this class for an accepted connection. */
  protected abstract newChild(sid: number): TcpSocketBase;

  /** Wrap a connection the listener completed into a new socket. */
  #adoptAccepted(conn: TcpConnection, peerKey: string): TcpSocketBase {
    const { remote, local, scope } = parsePeerKey(peerKey);
    const child = this.newChild(this.layer.allocateSid());
    if (typeof local === "number" && typeof remote === "number") {
      child.localAddr = local;
      child.remoteAddr = remote;
      if (child.family === abi.AF_INET6) {
        child.local6 = mappedFromV4(local);
        child.remote6 = mappedFromV4(remote);
      }
    } else {
      child.local6 = local as Uint8Array;
      child.remote6 = remote as Uint8Array;
      child.remoteScope = scope;
    }
    child.localPort = this.localPort;
    child.remotePort = conn.remotePort;
    child.sharesPort = true;
    child.conn = conn;
    child.phase = "connected";
    child.nodelay = this.nodelay;
    Object.assign(child.opts, this.opts);
    child.uid = this.uid;
    for (const o of this.owners) child.owners.add(o);
    this.layer.attachAccepted(child, conn, peerKey);
    return child;
  }

  async connect(addr: SockAddr, ctx: WaitCtx): Promise<void> {
    const six = this.family === abi.AF_INET6 ? in6Addr(addr, "Cannot connect") : undefined;
    const mapped = six !== undefined && isV4Mapped(six.addr);
    const a = six
      ? { addr: mapped ? v4FromMapped(six.addr) : -1, port: six.port }
      : inAddr(addr, "Cannot connect");
    const what = `Cannot connect to ${
      addr.family !== 0 && "addr" in addr ? addr.addr : ""
    }:${a.port}`;
    switch (this.phase) {
      case "connected":
        throw new ErrnoError("EISCONN", what);
      case "connecting":
        if (this.nonblock) throw new ErrnoError("EALREADY", what);
        break;
      case "listening":
      case "closed":
        throw new ErrnoError("EINVAL", what);
      case "idle": {
        if (six && !mapped) {
          this.#connect6(six.addr, six.port, six.scopeId, what);
          if (this.nonblock) throw new ErrnoError("EINPROGRESS", what);
          break;
        }
        if (mapped && this.opts.v6only) throw new ErrnoError("ENETUNREACH", what);
        if (a.port === 0 || a.addr === 0 || a.addr === 0xffffffff || (a.addr >>> 28) === 0xe) {
          throw new ErrnoError(a.port === 0 ? "EINVAL" : "ENETUNREACH", what);
        }
        const route = this.stack.route4(a.addr, this.opts.bindToDevice);
        if (!route) throw new ErrnoError("ENETUNREACH", what);
        if (this.localAddr === 0) this.localAddr = route.src;
        if (this.localPort === 0) {
          this.localPort = this.stack.ports.tcp.bind(this, 0, `${a.addr}:${a.port}`);
          this._ownsPort = true;
        }
        this.remoteAddr = a.addr;
        this.remotePort = a.port;
        if (six) {
          this.local6 = mappedFromV4(this.localAddr);
          this.remote6 = six.addr;
        }
        this.conn = this.layer.connect(this, route);
        this.phase = "connecting";
        if (this.nonblock) throw new ErrnoError("EINPROGRESS", what);
      }
    }
    const deadline = this.sendDeadline();
    for (;;) {
      const c = this.conn!;
      // A failed attempt leaves the socket unconnected: connect() may be tried again, as on Linux.
      if (c.error) {
        this.phase = "idle";
        this.soError = 0;
        throw new ErrnoError(c.error, what);
      }
      if (c.state !== "SYN-SENT" && c.state !== "CLOSED") {
        this.phase = "connected";
        return;
      }
      if (c.state === "CLOSED") {
        this.phase = "idle";
        throw new ErrnoError("ECONNREFUSED", what);
      }
      await this.sleep(deadline, ctx, what);
    }
  }

  /** Start an active open to [dst]:port over IPv6. */
  #connect6(dst: Uint8Array, port: number, scopeId: number, what: string) {
    if (port === 0 || isUnspecified6(dst) || isMulticast6(dst)) {
      throw new ErrnoError(port === 0 ? "EINVAL" : "ENETUNREACH", what);
    }
    if (this.local6 && isV4Mapped(this.local6)) throw new ErrnoError("ENETUNREACH", what);
    const route = this.layer.stack.route6(dst, { device: this.opts.bindToDevice, scopeId });
    if (!route) throw new ErrnoError("ENETUNREACH", what);
    if (!this.local6 || isUnspecified6(this.local6)) {
      if (isUnspecified6(route.src)) throw new ErrnoError("EADDRNOTAVAIL", what);
      this.local6 = route.src;
    }
    if (this.localPort === 0) {
      this.localAddr = portKey6(this.local6);
      this.localPort = this.stack.ports.tcp.bind(this, 0, `${dst.join(",")}:${port}`);
      this._ownsPort = true;
    }
    this.remote6 = dst;
    this.remotePort = port;
    this.remoteScope = scopeId || (isLinkLocal6(dst) ? route.iface.index : 0);
    this.conn = this.layer.connect(this, route);
    this.phase = "connecting";
  }

  /** Move a nonblocking connect forward when the handshake finished (called on readiness). */
  protected settleConnect(): void {
    if (this.phase === "connecting" && this.conn) {
      if (this.conn.error) {
        this.phase = "idle"; // unconnected again: SO_ERROR says why, connect() may be retried
        this.soError = Errno[this.conn.error];
      } else if (this.conn.state !== "SYN-SENT") this.phase = "connected";
    }
  }

  getsockname(): SockAddr {
    if (this.family === abi.AF_INET6) return sockAddr6(this.local6 ?? UNSPECIFIED6, this.localPort);
    return sockAddr4(this.localAddr, this.localPort);
  }

  getpeername(): SockAddr {
    if (this.phase !== "connected" && this.phase !== "connecting") {
      throw new ErrnoError("ENOTCONN", "Not connected");
    }
    if (this.family === abi.AF_INET6) {
      return sockAddr6(
        this.remote6 ?? mappedFromV4(this.remoteAddr),
        this.remotePort,
        this.remoteScope,
      );
    }
    return sockAddr4(this.remoteAddr, this.remotePort);
  }

  override stateName(): string {
    if (this.phase === "listening") return "LISTEN";
    return (this.conn?.state ?? "CLOSE").replace("-", "_");
  }
}
