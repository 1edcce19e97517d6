/**
 * TCP sockets: the POSIX face of `tcp/` (TcpConnection, TcpListener). Bind, listen with a real
 * backlog, accept, connect (blocking, or EINPROGRESS when nonblocking), send with back-pressure,
 * recv, shutdown, close with SO_LINGER, AF_INET6 (dual-stack unless IPV6_V6ONLY), TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE/INTVL/CNT, TCP_INFO and TCP_CONGESTION.
 */
import * as abi from "../../kernel/abi.ts";
import type { OptValue, RecvResult, SockAddr } from "../../kernel/bus/messages.ts";
import type { Timer } from "../../kernel/clock.ts";
import { Errno, ErrnoError } from "../../kernel/errno.ts";
import { type TcpConnection, type TcpListener } from "../tcp/mod.ts";
import type { PortUser } from "./ports.ts";
import {
  in6Addr,
  inAddr,
  InetSocket,
  sockAddr4,
  sockAddr6,
  SOCKET_BYTES,
  type WaitCtx,
} from "./socket.ts";
import type { TcpSockets } from "../tcp/endpoint.ts";
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
import { SharedSendStorage } from "./shared_send_storage.ts";
import { copyBytes } from "../../kernel/bus/shared_copy.ts";
import {
  SHARE_READ_END,
  SHARE_REVOKED,
  SHARE_WRITE_END,
  type SharedStream,
} from "../../kernel/bus/shared_stream.ts";

/** Longest a reader waiting on its shared rx ring is kept waiting for more bytes. */
export const READER_HOLD_MS = 1;

/**
 * Most bytes one receive may hand out and still be given back with {@link TcpSocket.unread}:
 * libc's read-ahead (libc/direct.ts READ_AHEAD) asks for this much. The netstack keeps at most
 * this many bytes per socket to compare an unread against.
 */
export const UNREAD_MAX = 256 << 10;

/** Default SO_RCVBUF and SO_SNDBUF of a TCP socket. */
export const TCP_DEFAULT_BUF = 1 << 20;

type Phase = "idle" | "listening" | "connecting" | "connected" | "closed";

/** One TCP socket. */
export class TcpSocket extends InetSocket implements PortUser {
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
  phase: Phase = "idle";
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
  #ownsPort = false;

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
    this.#ownsPort = true;
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
    this.#ownsPort = true;
  }

  override listen(backlog: number): void {
    if (this.phase === "listening") {
      return; // Linux lets listen() be called again to change the backlog; keep the first.
    }
    if (this.phase !== "idle") throw new ErrnoError("EINVAL", "Cannot listen");
    if (this.localPort === 0) {
      this.localPort = this.stack.ports.tcp.bind(this, 0);
      this.#ownsPort = true;
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

  /** Wrap a connection the listener completed into a new socket. */
  #adoptAccepted(conn: TcpConnection, peerKey: string): TcpSocket {
    const { remote, local, scope } = parsePeerKey(peerKey);
    const child = new TcpSocket(this.layer.allocateSid(), this.layer, this.family);
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
          this.#ownsPort = true;
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
      this.#ownsPort = true;
    }
    this.remote6 = dst;
    this.remotePort = port;
    this.remoteScope = scopeId || (isLinkLocal6(dst) ? route.iface.index : 0);
    this.conn = this.layer.connect(this, route);
    this.phase = "connecting";
  }

  /** Move a nonblocking connect forward when the handshake finished (called on readiness). */
  #settleConnect() {
    if (this.phase === "connecting" && this.conn) {
      if (this.conn.error) {
        this.phase = "idle"; // unconnected again: SO_ERROR says why, connect() may be retried
        this.soError = Errno[this.conn.error];
      } else if (this.conn.state !== "SYN-SENT") this.phase = "connected";
    }
  }

  async sendmsg(
    data: Uint8Array,
    flags: number,
    addr: SockAddr | undefined,
    ctx: WaitCtx,
  ): Promise<number> {
    this.#settleConnect();
    if (addr && addr.family !== 0 && this.phase === "connected") {
      throw new ErrnoError("EISCONN", "Cannot send");
    }
    if (this.phase !== "connected" || !this.conn) {
      throw new ErrnoError(this.phase === "connecting" ? "EAGAIN" : "ENOTCONN", "Cannot send");
    }
    // The send buffer is the holder's tx ring while shared: a send by message (the holder
    // learning why tx ended, or a call through the kernel) takes the socket back first.
    this.unshare();
    const nonblock = this.nonblock || (flags & abi.MSG_DONTWAIT) !== 0;
    const deadline = this.sendDeadline();
    let sent = 0;
    while (sent < data.length || data.length === 0) {
      const c = this.conn;
      if (c.error) {
        if (sent > 0) break;
        throw new ErrnoError(c.error, "Cannot send");
      }
      if (c.writeClosed || c.state === "CLOSED") {
        if (sent > 0) break;
        throw new ErrnoError("EPIPE", "Cannot send");
      }
      if (data.length === 0) return 0;
      const n = c.send(data.subarray(sent));
      if (n > 0) {
        sent += n;
        this.layer.kick(this);
        continue;
      }
      if (nonblock) {
        if (sent > 0) break;
        throw new ErrnoError("EAGAIN", "Cannot send");
      }
      try {
        await this.sleep(deadline, ctx, "Cannot send");
      } catch (err) {
        if (sent > 0) break;
        throw err;
      }
    }
    return sent;
  }

  async recvmsg(len: number, flags: number, ctx: WaitCtx, ringOnly = false): Promise<RecvResult> {
    this.#settleConnect();
    if (this.phase === "listening" || this.phase === "idle") {
      throw new ErrnoError("ENOTCONN", "Cannot receive");
    }
    const nonblock = this.nonblock || (flags & abi.MSG_DONTWAIT) !== 0;
    const waitAll = (flags & abi.MSG_WAITALL) !== 0;
    const deadline = this.recvDeadline();
    const parts: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      const c = this.conn;
      if (!c) throw new ErrnoError("ENOTCONN", "Cannot receive");
      this.pump();
      const inRing = this.#share?.rxUsed() ?? 0;
      if (ringOnly && inRing > 0 && got === 0) {
        // The reader takes its bytes from rx itself; tell it when enough are there.
        if (nonblock || this.#wakeReader(c, inRing, deadline)) {
          this.#holdUntil = undefined;
          return { data: new Uint8Array(0), flags: 0, ring: true };
        }
        await this.sleep(undefined, ctx, "Cannot receive"); // #wakeReader armed a timer
        continue;
      }
      // Data first; an error (c.readable is true for it too) is reported below, not as EOF.
      if ((c.recvQueue > 0 || this.#peeked.length > 0 || inRing > 0) && len > 0) {
        const d = (flags & abi.MSG_PEEK) ? this.#peek(c, len - got) : this.#take(c, len - got);
        parts.push(d);
        got += d.length;
        if (!waitAll || got >= len || (flags & abi.MSG_PEEK)) break;
        continue;
      }
      if (got > 0 && !waitAll) break;
      if (c.error) {
        if (got > 0) break;
        throw new ErrnoError(c.error, "Cannot receive");
      }
      if (c.eof || c.state === "CLOSED" || len === 0) break;
      if (nonblock) {
        if (got > 0) break;
        throw new ErrnoError("EAGAIN", "Cannot receive");
      }
      try {
        await this.sleep(deadline, ctx, "Cannot receive");
      } catch (err) {
        if (got > 0) break;
        throw err;
      }
    }
    const data = concat(parts, got);
    if (got > 0 && !(flags & abi.MSG_PEEK)) this.#remember(data, len, ctx.pid);
    return { data, flags: 0 };
  }

  /**
   * Whether a reader waiting on its rx ring (holding `inRing` bytes) should be told now. Every
   * wake costs both threads a switch, so a bulk reader is woken once rx is half full, not per
   * segment; but at once when the peer pushed (it sent all it had: nothing more may come), when
   * nothing more can arrive, or when bytes wait behind a full ring. A deadline (SO_RCVTIMEO)
   * wakes it with what there is, and it never waits past {@link READER_HOLD_MS} for more.
   */
  #wakeReader(c: TcpConnection, inRing: number, deadline: number | undefined): boolean {
    if (inRing >= this.#share!.ring / 2 || c.pushed || c.eof || c.error || c.recvQueue > 0) {
      return true;
    }
    if (c.state !== "ESTABLISHED" && c.state !== "FIN-WAIT-1" && c.state !== "FIN-WAIT-2") {
      return true;
    }
    const now = this.stack.clock.now();
    this.#holdUntil ??= now + READER_HOLD_MS;
    if (now >= this.#holdUntil || (deadline !== undefined && now >= deadline)) return true;
    this.#holdTimer ??= this.stack.clock.schedule(this.#holdUntil - now, () => {
      this.#holdTimer = undefined;
      this.wq.wake();
    });
    return false;
  }

  #holdUntil?: number;
  #holdTimer?: Timer;

  /** Bytes taken from the connection by MSG_PEEK and not yet read. */
  #peeked: Uint8Array = new Uint8Array(0);

  /**
   * The bytes the last receive took from the stream, who took them, and how far readers of
   * the shared rx ring had read then: what {@link unread} may give back. Any later receive
   * replaces it, so it always ends where the stream is now read to.
   */
  #taken?: { pid: number; data: Uint8Array; rxRead: number };

  /** A receive by `pid` of at most `len` bytes took `data` from the stream. */
  #remember(data: Uint8Array, len: number, pid: number | undefined): void {
    this.#taken = pid !== undefined && len <= UNREAD_MAX
      ? { pid, data, rxRead: this.#rxRead() }
      : undefined;
  }

  /** Bytes readers took out of the shared rx ring so far (0 when not shared). */
  #rxRead(): number {
    return this.#share ? this.#rxCommitted - Math.max(0, this.#share.rxUsed()) : 0;
  }

  /**
   * Give back bytes process `pid` read ahead (libc's read-ahead, before the socket is passed
   * on or closed). Only the tail of what this process's last receive took is accepted, compared
   * byte for byte, and only while nothing was read since: the bytes return exactly where they
   * were, so nobody can push bytes of their own (or the peer's, twice) in front of the stream.
   * EINVAL otherwise. Serin's own extension: Linux has no such call.
   */
  unread(data: Uint8Array, pid: number): void {
    if (data.length === 0) return;
    const t = this.#taken;
    const n = data.length;
    const tail = t && n <= t.data.length ? t.data.subarray(t.data.length - n) : undefined;
    if (
      !t || !tail || t.pid !== pid || t.rxRead !== this.#rxRead() || !equalBytes(tail, data)
    ) {
      throw new ErrnoError(
        "EINVAL",
        "Cannot unread: not the last bytes this process received from the socket",
      );
    }
    this.#taken = n < t.data.length
      ? { ...t, data: t.data.subarray(0, t.data.length - n) }
      : undefined;
    this.#putBack(tail);
  }

  /** Put `data` back in front of what is still to be read. */
  #putBack(data: Uint8Array): void {
    if (data.length === 0) return;
    this.#peeked = concat([data, this.#peeked], data.length + this.#peeked.length);
    this.wq.wake();
  }

  #peek(c: TcpConnection, max: number): Uint8Array {
    if ((this.#share?.rxUsed() ?? 0) > 0) return this.#share!.rxRead(max, true);
    // Peeked bytes leave the connection (its window opens again), so they are capped at
    // SO_RCVBUF: repeated large peeks cannot pull in more than twice the receive buffer.
    const want = Math.min(max, this.opts.rcvbuf) - this.#peeked.length;
    if (want > 0 && c.recvQueue > 0) {
      const more = c.recv(want);
      this.#peeked = concat([this.#peeked, more], this.#peeked.length + more.length);
      this.layer.kick(this);
    }
    return this.#peeked.slice(0, max);
  }

  #take(c: TcpConnection, max: number): Uint8Array {
    if ((this.#share?.rxUsed() ?? 0) > 0) {
      const d = this.#share!.rxRead(max);
      this.pump(); // room in rx: refill it (and open the window)
      return d;
    }
    if (this.#peeked.length > 0) {
      const d = this.#peeked.subarray(0, max);
      this.#peeked = this.#peeked.subarray(d.length);
      return d;
    }
    const d = c.recv(max);
    this.layer.kick(this);
    return d;
  }

  // ---- Shared rings (kernel/bus/shared_stream.ts) -----------------------------------------

  /** The holder's shared rings, while it uses them. */
  #share?: SharedStream;
  #pumping = false;
  /** Bytes put into the shared rx ring since sharing began. */
  #rxCommitted = 0;

  /** At every wake: move what the shared rings hold (when shared), then charge the buffers. */
  protected override onWake(): void {
    this.pump();
    this.recharge();
  }

  /**
   * The socket, what its buffers queue and what was put back unread; while shared, the rings
   * at their real size instead of the send buffer (which lives in tx).
   */
  override memoryHeld(): number {
    if (this.listener) return SOCKET_BYTES + this.listener.queuedBytes; // what waits for accept()
    const c = this.conn;
    const sh = this.#share;
    const buffers = c ? c.recvQueue + (sh ? sh.sab.byteLength : c.sendQueue) : 0;
    return SOCKET_BYTES + buffers + this.#peeked.length;
  }

  /** Whether this socket's bytes go through shared rings. */
  get shared(): boolean {
    return this.#share !== undefined;
  }

  override rings(): { size: number; tx: number; rx: number } | undefined {
    const sh = this.#share;
    return sh && { size: sh.ring, tx: Math.max(0, sh.txUsed()), rx: Math.max(0, sh.rxUsed()) };
  }

  /** Let process `pid`, the socket's only holder, move its bytes through `stream`. */
  share(pid: number, stream: SharedStream): void {
    if (this.#share) throw new ErrnoError("EBUSY", "Cannot share: already shared");
    if (this.phase !== "connected" || !this.conn) throw new ErrnoError("ENOTCONN", "Cannot share");
    if (this.owners.size !== 1 || !this.owners.has(pid)) {
      throw new ErrnoError("EBUSY", "Cannot share a socket another process holds");
    }
    if (stream.txUsed() !== 0 || stream.rxUsed() !== 0 || stream.state !== 0) {
      throw new ErrnoError("EINVAL", "Cannot share: rings not empty");
    }
    // What the connection holds moves into tx: from now on the process writes the send
    // buffer itself and segments leave straight from the ring.
    if (!this.conn.shareSendBuffer(new SharedSendStorage(stream), stream.ring)) {
      throw new ErrnoError("EAGAIN", "Cannot share: the send buffer holds more than the ring");
    }
    this.#share = stream;
    this.#rxCommitted = 0;
    this.stack.count("tcp: shared rings");
    this.pump();
    this.conn.receiveSink = (d) => this.#toRing(d);
  }

  /** Put arriving in-order bytes straight into rx (as many as fit); returns how many. */
  #toRing(data: Uint8Array): number {
    const sh = this.#share;
    if (!sh || this.#peeked.length > 0) return 0;
    let n = 0;
    while (n < data.length) {
      const room = sh.rxSpace(data.length - n);
      if (room.length === 0) break;
      copyBytes(room, data.subarray(n, n + room.length));
      sh.rxCommit(room.length);
      this.#rxCommitted += room.length;
      n += room.length;
    }
    return n;
  }

  /**
   * Stop sharing (the socket is being passed on, released, or another process got it). Bytes
   * written to tx join the send buffer; bytes still in rx go back in front of the receive
   * queue. The holder finds the share revoked and goes by message from then on.
   */
  unshare(): void {
    const sh = this.#share;
    if (!sh) return;
    this.#share = undefined;
    const c = this.conn;
    if (c) {
      c.receiveSink = undefined;
      sh.txConsume(c.unshareSendBuffer()); // the bytes it held are its own copies now
      // What the holder wrote since joins them, past SO_SNDBUF if need be.
      for (let u = sh.txUsed(); u > 0; u = sh.txUsed()) {
        const run = sh.txPeek(u);
        c.send(run, true);
        sh.txConsume(run.length);
      }
      this.layer.kick(this);
    }
    // The holder read from rx after its last receive by message: that receive's bytes are no
    // longer the ones just before the read position, so they can no longer be given back.
    const t = this.#taken;
    const rxRead = this.#rxCommitted - Math.max(0, sh.rxUsed());
    if (t) this.#taken = t.rxRead === rxRead ? { ...t, rxRead: 0 } : undefined;
    const used = sh.rxUsed();
    if (used > 0) this.#putBack(sh.rxRead(used));
    sh.setState(SHARE_REVOKED);
    this.wq.wake();
  }

  /** Wait until tx is at most half full or takes no more (the holder's send found it full). */
  async txwait(ctx: WaitCtx): Promise<void> {
    for (;;) {
      this.pump();
      const sh = this.#share;
      if (!sh || sh.state & (SHARE_REVOKED | SHARE_WRITE_END) || this.closed) return;
      if (sh.txUsed() <= sh.ring / 2) return;
      await this.sleep(undefined, ctx, "Cannot send");
    }
  }

  /**
   * Move bytes between the shared rings and the connection: the holder's new tx bytes join the
   * send buffer (which lives in tx: no copy), in-order received bytes go into rx as far as it
   * has room. Where tx runs dry or rx full, the holder is asked to ring the bell when that
   * changes. Runs at every wake of the socket (segments arrived, ACKs freed room), on each bell.
   */
  pump(): void {
    const sh = this.#share;
    const c = this.conn;
    if (!sh || !c || this.#pumping) return;
    this.#pumping = true;
    try {
      let moved = false;
      // tx holds the send buffer and then what the holder wrote since; less than the send
      // buffer means the holder took back bytes the connection already owns.
      let used = sh.txUsed();
      if (used < 0 || used < c.sendQueue) return this.#corrupt();
      // Nothing new. If the send buffer still has unsent bytes, new ones would queue behind them
      // anyway and the ACK that lets those go wakes us: no bell needed. Otherwise ask for one on
      // the holder's next write, and look again (a write may have come before the request).
      if (used === c.sendQueue && c.unsentQueue === 0 && sh.txArmBell(c.sendQueue)) {
        used = sh.txUsed();
        if (used < c.sendQueue) return this.#corrupt();
      }
      // Writing closed or failed: new bytes stay unadopted; the holder's next send goes by
      // message and learns why.
      if (used > c.sendQueue && !c.error && !c.writeClosed) {
        c.adopt(used - c.sendQueue);
        moved = true;
      }
      while (this.#peeked.length === 0 && c.recvQueue > 0) {
        const room = sh.rxSpace(c.recvQueue);
        if (room.length === 0) {
          if (sh.rxUsed() < 0) return this.#corrupt();
          if (sh.rxArmBell()) continue;
          break;
        }
        const got = c.recvInto(room);
        sh.rxCommit(got);
        this.#rxCommitted += got;
        moved = true;
      }
      if (c.error || c.writeClosed || c.state === "CLOSED") sh.setState(SHARE_WRITE_END);
      const drained = c.recvQueue === 0 && this.#peeked.length === 0;
      if (drained && (c.eof || c.error || c.state === "CLOSED")) sh.setState(SHARE_READ_END);
      if (moved) this.layer.kick(this);
    } finally {
      this.#pumping = false;
    }
  }

  /** The holder scribbled over the control words: stop sharing; the connection fails. */
  #corrupt(): void {
    const sh = this.#share!;
    this.conn?.unshareSendBuffer();
    this.#share = undefined;
    if (this.conn) this.conn.receiveSink = undefined;
    sh.setState(SHARE_REVOKED | SHARE_READ_END | SHARE_WRITE_END);
    this.stack.count("tcp: shared ring corrupt");
    this.conn?.abort();
    this.layer.kick(this);
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

  shutdown(how: number): void {
    if (how < 0 || how > 2) throw new ErrnoError("EINVAL", "Cannot shut down");
    if (this.phase === "listening" && this.listener) {
      this.listener.close();
      this.wq.wake();
      return;
    }
    if (this.phase !== "connected" || !this.conn) {
      throw new ErrnoError("ENOTCONN", "Cannot shut down");
    }
    if (how !== abi.SHUT_RD) {
      this.pump(); // what the holder wrote goes before the FIN
      this.conn.shutdownWrite();
      this.layer.kick(this);
    }
    if (how !== abi.SHUT_WR) this.readShut = true;
    this.wq.wake();
  }

  /** SHUT_RD was called. */
  readShut = false;

  readiness(): number {
    this.#settleConnect();
    if (this.phase === "listening") return this.listener?.readable ? abi.POLLIN : 0;
    const c = this.conn;
    if (!c) return this.phase === "closed" ? abi.POLLHUP : abi.POLLOUT;
    let ev = 0;
    if (this.phase === "connecting") return c.error ? abi.POLLERR | abi.POLLOUT : 0;
    this.pump();
    const sh = this.#share;
    const inRing = sh ? sh.rxUsed() !== 0 : false;
    if (c.readable || inRing || this.#peeked.length > 0 || c.eof || this.readShut) ev |= abi.POLLIN;
    if (c.eof) ev |= abi.POLLRDHUP;
    if (sh ? !c.writeClosed && sh.txUsed() < sh.ring : c.writable) ev |= abi.POLLOUT;
    if (c.error) ev |= abi.POLLERR | abi.POLLIN | abi.POLLOUT;
    if (c.state === "CLOSED" || (c.eof && c.writeClosed)) ev |= abi.POLLHUP;
    return ev;
  }

  override queues() {
    return {
      recvQ: (this.conn?.recvQueue ?? this.listener?.queued ?? 0) +
        Math.max(0, this.#share?.rxUsed() ?? 0),
      sendQ: Math.max(this.conn?.sendQueue ?? 0, this.#share?.txUsed() ?? 0),
    };
  }

  override stateName(): string {
    if (this.phase === "listening") return "LISTEN";
    return (this.conn?.state ?? "CLOSE").replace("-", "_");
  }

  protected override setProtocolOption(level: number, name: number, value: OptValue): boolean {
    if (level !== abi.IPPROTO_TCP) return false;
    const num = () => {
      const v = typeof value === "boolean" ? Number(value) : value;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
        throw new ErrnoError("EINVAL", "Bad TCP option value");
      }
      return v;
    };
    switch (name) {
      case abi.TCP_NODELAY:
        this.nodelay = num() !== 0;
        break;
      case abi.TCP_MAXSEG: {
        const v = num();
        if (v < 88 || v > 65495) throw new ErrnoError("EINVAL", "TCP_MAXSEG out of range");
        this.maxseg = v;
        break;
      }
      case abi.TCP_KEEPIDLE:
        this.keepIdle = num() * 1000;
        break;
      case abi.TCP_KEEPINTVL:
        this.keepIntvl = num() * 1000;
        break;
      case abi.TCP_KEEPCNT:
        this.keepCnt = num();
        break;
      case abi.TCP_CONGESTION:
        if (value !== "newreno" && value !== "cubic" && value !== "reno") {
          throw new ErrnoError("ENOENT", `Unknown congestion control ${String(value)}`);
        }
        this.congestion = value === "cubic" ? "cubic" : "newreno";
        break;
      case abi.TCP_CORK:
        num();
        break;
      default:
        throw new ErrnoError("ENOPROTOOPT", `Unknown TCP option ${name}`);
    }
    this.onOptionsChanged();
    return true;
  }

  protected override onOptionsChanged(): void {
    const c = this.conn;
    if (!c) return;
    c.options.nodelay = this.nodelay;
    c.options.keepalive = this.opts.keepalive
      ? { idle: this.keepIdle, interval: this.keepIntvl, count: this.keepCnt }
      : undefined;
  }

  protected override getProtocolOption(level: number, name: number): OptValue | undefined {
    if (level === abi.SOL_SOCKET && name === abi.SO_ACCEPTCONN) {
      return Number(this.phase === "listening");
    }
    if (level === abi.SOL_SOCKET && name === abi.SO_ERROR) {
      this.#settleConnect();
      return undefined;
    }
    if (level !== abi.IPPROTO_TCP) return undefined;
    switch (name) {
      case abi.TCP_NODELAY:
        return Number(this.nodelay);
      case abi.TCP_MAXSEG:
        return this.conn?.mss ?? this.maxseg ?? 536;
      case abi.TCP_KEEPIDLE:
        return this.keepIdle / 1000;
      case abi.TCP_KEEPINTVL:
        return this.keepIntvl / 1000;
      case abi.TCP_KEEPCNT:
        return this.keepCnt;
      case abi.TCP_CONGESTION:
        return this.congestion;
      case abi.TCP_INFO:
        if (!this.conn) throw new ErrnoError("ENOTCONN", "No connection");
        return { ...this.conn.info() };
      default:
        throw new ErrnoError("ENOPROTOOPT", `Unknown TCP option ${name}`);
    }
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.listener) this.listener.close();
    this.unshare(); // bytes still in rx come back as unread ones
    this.#taken = undefined;
    if (this.conn) {
      // Closing with unread data resets the connection (RFC 2525 §2.17, as Linux does).
      const unread = this.#peeked.length > 0;
      if (unread || (this.opts.linger?.onoff && this.opts.linger.linger === 0)) this.conn.abort();
      else this.conn.close();
      this.layer.kick(this);
    }
    this.layer.released(this);
    if (this.#ownsPort) this.stack.ports.tcp.release(this, this.localPort);
    this.phase = "closed";
    this.wq.wake();
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
