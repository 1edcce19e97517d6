/**
 * AF_LOCAL sockets, stream and datagram, as the kernel serves them: path binding, listen and
 * accept, socketpair, SCM_RIGHTS handle passing, SO_PEERCRED and SCM_CREDENTIALS-style
 * credentials, shutdown, nonblocking mode and SO_RCVTIMEO/SO_SNDTIMEO blocking. A queued message
 * is charged at the memory it keeps to the receiver's buffer and its sender's budget
 * (queue_memory.ts); a path is released when its socket closes (namespace.ts).
 */
import * as abi from "../abi.ts";
import { ErrnoError } from "../errno.ts";
import { type HandleBase, unref } from "../handle.ts";
import type { Creds, OptValue, RecvResult, SockAddr } from "../bus/messages.ts";
import { remaining, waitAny, WaitQueue } from "../wait_queue.ts";
import type { LocalHost } from "./local_host.ts";
import { LocalNamespace } from "./namespace.ts";
import { type MemoryAccount, ownBytes, retainedSize } from "./queue_memory.ts";

/** Default receive buffer, as Linux's net.core.rmem_default. */
export const LOCAL_RCVBUF = 212992;
/** Most datagrams queued on one receiver (net.unix.max_dgram_qlen-like). */
export const LOCAL_MAX_DGRAM_QUEUE = 128;
/** Most handles in one SCM_RIGHTS message (SCM_MAX_FD). */
export const MAX_RIGHTS_PER_MESSAGE = 253;

export { LocalHost, MAX_INFLIGHT_PER_PROCESS } from "./local_host.ts";

/** What a socket call needs to know about its caller. */
export interface Caller {
  creds: Creds;
  signal: AbortSignal;
  /** Install a received handle as a new fd of the caller (takes its own reference). */
  install(h: HandleBase): number;
  /** Resolve one of the caller's fds to its handle (EBADF if not open). */
  resolve(fd: number): HandleBase;
  /** The caller's kernel memory budget: what it sends is charged here until read or dropped. */
  memory: MemoryAccount;
}

/** Handles carried by one message, and the process charged for them. */
interface Rights {
  handles: HandleBase[];
  pid: number;
}

interface Message {
  data: Uint8Array;
  off: number;
  rights?: Rights;
  creds: Creds;
  from?: string;
  /** Bytes charged for it (to the receiver's buffer and the sender's budget). */
  cost: number;
  /** Whom the cost is charged to: the sending process. */
  payer: MemoryAccount;
}

/** One AF_LOCAL socket (an open file description). */
export class LocalSocket implements HandleBase {
  refs = 0;
  nonblock = false;
  readonly wq = new WaitQueue();
  readonly kind = "local" as const;
  path?: string;
  state: "idle" | "listening" | "connected" | "closed" = "idle";
  peer?: LocalSocket;
  peerCreds?: Creds;
  soError = 0;
  #backlog: LocalSocket[] = [];
  #backlogMax = 0;
  #rq: Message[] = [];
  /** Unread bytes in #rq. */
  #rqBytes = 0;
  /** Memory #rq keeps alive, as charged: what the receive buffer limit counts. */
  #rqCost = 0;
  #peerGone = false;
  #resetPending = false;
  #shutRd = false;
  #shutWr = false;
  #rcvbuf = LOCAL_RCVBUF;
  #sndbuf = LOCAL_RCVBUF;
  #rcvtimeo?: number;
  #sndtimeo?: number;
  #passcred = false;
  #listenCreds?: Creds;

  constructor(
    readonly host: LocalHost,
    readonly type: typeof abi.SOCK_STREAM | typeof abi.SOCK_DGRAM,
    readonly owner: Creds,
  ) {
    host.open++;
    host.sockets.add(this);
  }

  /** Two connected sockets (socketpair). */
  static pair(host: LocalHost, type: number, creds: Creds): [LocalSocket, LocalSocket] {
    const t = checkType(type);
    const a = new LocalSocket(host, t, creds);
    const b = new LocalSocket(host, t, creds);
    a.#connectTo(b, creds);
    b.#connectTo(a, creds);
    return [a, b];
  }

  #connectTo(peer: LocalSocket, peerCreds: Creds) {
    this.peer = peer;
    this.peerCreds = peerCreds;
    this.state = "connected";
  }

  /** Bytes waiting to be read, for netstat-like views. */
  get queued(): number {
    return this.#rqBytes;
  }

  /** Bind to a path owned by `creds` (the binder's, as Linux uses the binder's fsuid). */
  bind(addr: SockAddr, creds: Creds): void {
    if (addr.family !== abi.AF_LOCAL) throw new ErrnoError("EAFNOSUPPORT", "Cannot bind");
    const path = LocalNamespace.check(addr.path);
    if (this.path !== undefined) throw new ErrnoError("EINVAL", `Cannot bind to ${path}`);
    this.host.ns.bind(path, this, creds);
    this.path = path;
  }

  listen(backlog: number, caller: Caller): void {
    if (this.type !== abi.SOCK_STREAM) throw new ErrnoError("EOPNOTSUPP", "Cannot listen");
    if (this.state === "connected") throw new ErrnoError("EINVAL", "Cannot listen");
    if (this.path === undefined) throw new ErrnoError("EINVAL", "Cannot listen: not bound");
    this.state = "listening";
    this.#backlogMax = Math.min(4096, Math.max(1, Math.trunc(backlog) || 1));
    this.#listenCreds = caller.creds;
    this.wq.wake();
  }

  async connect(addr: SockAddr, caller: Caller): Promise<void> {
    if (addr.family !== abi.AF_LOCAL) throw new ErrnoError("EAFNOSUPPORT", "Cannot connect");
    const path = LocalNamespace.check(addr.path);
    const ctx = `Cannot connect to ${path}`;
    const target = this.host.ns.lookup(path, caller.creds);
    if (target.type !== this.type) throw new ErrnoError("EPROTOTYPE", ctx);
    if (this.type === abi.SOCK_DGRAM) {
      this.peer = target;
      this.peerCreds = target.owner;
      this.state = "connected";
      return;
    }
    if (this.state === "connected") throw new ErrnoError("EISCONN", ctx);
    if (this.state === "listening") throw new ErrnoError("EINVAL", ctx);
    const deadline = this.#deadline(this.#sndtimeo);
    for (;;) {
      if (target.state !== "listening") throw new ErrnoError("ECONNREFUSED", ctx);
      if (target.#backlog.length < target.#backlogMax) break;
      if (this.nonblock) throw new ErrnoError("EAGAIN", ctx);
      await this.#sleep([target.wq], deadline, caller, ctx);
    }
    const server = new LocalSocket(this.host, this.type, target.owner);
    server.path = target.path;
    server.#connectTo(this, caller.creds);
    this.#connectTo(server, target.#listenCreds ?? target.owner);
    target.#backlog.push(server);
    target.wq.wake();
    this.wq.wake();
  }

  async accept(caller: Caller): Promise<LocalSocket> {
    if (this.state !== "listening") throw new ErrnoError("EINVAL", "Cannot accept: not listening");
    const deadline = this.#deadline(this.#rcvtimeo);
    for (;;) {
      const s = this.#backlog.shift();
      if (s) {
        this.wq.wake(); // room in the backlog for a blocked connector
        return s;
      }
      if (this.nonblock) throw new ErrnoError("EAGAIN", "Cannot accept");
      await this.#sleep([this.wq], deadline, caller, "Cannot accept");
    }
  }

  async sendmsg(
    data: Uint8Array,
    flags: number,
    addr: SockAddr | undefined,
    rightsFds: number[] | undefined,
    caller: Caller,
  ): Promise<number> {
    const nonblock = this.nonblock || (flags & abi.MSG_DONTWAIT) !== 0;
    if (this.#shutWr) throw new ErrnoError("EPIPE", "Cannot send");
    const rights = this.#collectRights(rightsFds, caller);
    try {
      return this.type === abi.SOCK_DGRAM
        ? await this.#sendDgram(data, addr, rights, nonblock, caller)
        : await this.#sendStream(data, addr, rights, nonblock, caller);
    } catch (err) {
      this.#releaseRights(rights);
      throw err;
    }
  }

  #collectRights(fds: number[] | undefined, caller: Caller): Rights | undefined {
    if (!fds || fds.length === 0) return undefined;
    if (fds.length > MAX_RIGHTS_PER_MESSAGE) throw new ErrnoError("EINVAL", "Too many handles");
    const pid = caller.creds.pid;
    if (
      this.host.inflight + fds.length > this.host.maxInflight ||
      (this.host.inflightBy.get(pid) ?? 0) + fds.length > this.host.maxInflightPerProcess
    ) {
      throw new ErrnoError("ENOBUFS", "Too many handles in flight");
    }
    const handles = fds.map((fd) => caller.resolve(fd));
    for (const h of handles) {
      h.refs++;
      if (h instanceof LocalSocket) h.inflightRefs++;
    }
    this.host.charge(pid, handles.length);
    return { handles, pid };
  }

  #releaseRights(rights: Rights | undefined) {
    if (!rights) return;
    this.host.charge(rights.pid, -rights.handles.length);
    for (const h of rights.handles) {
      if (h instanceof LocalSocket) h.inflightRefs--;
      unref(h);
    }
  }

  /** References to this socket held by queued SCM_RIGHTS messages (not by fds). */
  inflightRefs = 0;

  /** Sockets reachable from this one: those queued in its messages and its pending connections. */
  *children(): IterableIterator<LocalSocket> {
    for (const m of this.#rq) {
      for (const h of m.rights?.handles ?? []) if (h instanceof LocalSocket) yield h;
    }
    yield* this.#backlog;
  }

  /** Drop every queued message and the handles it carries (the cycle collector's sweep). */
  purgeQueue(): void {
    this.#dropAll();
    this.wq.wake();
  }

  /** Drop every queued message: release its handles and give back its charge. */
  #dropAll() {
    for (const m of this.#rq.splice(0)) {
      this.#releaseRights(m.rights);
      this.#uncharge(m);
    }
    this.#rqBytes = 0;
  }

  async #sendDgram(
    data: Uint8Array,
    addr: SockAddr | undefined,
    rights: Rights | undefined,
    nonblock: boolean,
    caller: Caller,
  ): Promise<number> {
    let target: LocalSocket;
    let ctx = "Cannot send";
    if (addr) {
      if (addr.family !== abi.AF_LOCAL) throw new ErrnoError("EAFNOSUPPORT", ctx);
      ctx = `Cannot send to ${addr.path}`;
      target = this.host.ns.lookup(LocalNamespace.check(addr.path), caller.creds);
      if (target.type !== abi.SOCK_DGRAM) throw new ErrnoError("EPROTOTYPE", ctx);
    } else {
      if (!this.peer) throw new ErrnoError("EDESTADDRREQ", ctx);
      target = this.peer;
    }
    if (data.length > this.#sndbuf) throw new ErrnoError("EMSGSIZE", ctx);
    const own = ownBytes(data);
    const cost = retainedSize(own);
    const deadline = this.#deadline(this.#sndtimeo);
    for (;;) {
      if (target.state === "closed") throw new ErrnoError("ECONNREFUSED", ctx);
      if (target.#shutRd) throw new ErrnoError("EPIPE", ctx);
      if (
        target.#rq.length < LOCAL_MAX_DGRAM_QUEUE &&
        (target.#rqCost + cost <= target.#rcvbuf || target.#rq.length === 0)
      ) break;
      if (nonblock) throw new ErrnoError("EAGAIN", ctx);
      await this.#sleep([target.wq], deadline, caller, ctx);
    }
    target.#enqueue(own, cost, rights, caller, this.path);
    return data.length;
  }

  async #sendStream(
    data: Uint8Array,
    addr: SockAddr | undefined,
    rights: Rights | undefined,
    nonblock: boolean,
    caller: Caller,
  ): Promise<number> {
    const ctx = "Cannot send";
    if (addr) throw new ErrnoError("EISCONN", ctx);
    if (this.state !== "connected" || !this.peer) throw new ErrnoError("ENOTCONN", ctx);
    const peer = this.peer;
    const deadline = this.#deadline(this.#sndtimeo);
    let sent = 0;
    while (sent < data.length || (data.length === 0 && sent === 0 && rights)) {
      if (peer.state === "closed" || peer.#shutRd || this.#shutWr) {
        if (sent > 0) return sent;
        throw new ErrnoError("EPIPE", ctx);
      }
      const room = peer.#rcvbuf - peer.#rqCost;
      if (room > 0) {
        const n = Math.min(room, data.length - sent);
        const chunk = ownBytes(data.subarray(sent, sent + n));
        try {
          peer.#enqueue(chunk, retainedSize(chunk), sent === 0 ? rights : undefined, caller);
        } catch (err) {
          if (sent > 0) return sent; // ENOBUFS: the sender's budget is spent
          throw err;
        }
        sent += n;
        if (data.length === 0) break;
        continue;
      }
      if (nonblock) {
        if (sent > 0) return sent;
        throw new ErrnoError("EAGAIN", ctx);
      }
      try {
        await this.#sleep([peer.wq, this.wq], deadline, caller, ctx);
      } catch (err) {
        if (sent > 0) return sent;
        throw err;
      }
    }
    return sent;
  }

  /** Queue `data` here, charging `cost` to the sender's budget first (ENOBUFS beyond it). */
  #enqueue(
    data: Uint8Array,
    cost: number,
    rights: Rights | undefined,
    caller: Caller,
    from?: string,
  ) {
    caller.memory.charge(cost, "AF_LOCAL queue");
    this.#rq.push({ data, off: 0, rights, creds: caller.creds, from, cost, payer: caller.memory });
    this.#rqBytes += data.length;
    this.#rqCost += cost;
    this.host.memory += cost;
    this.wq.wake();
  }

  /** Give back what a message dequeued or dropped was charged. */
  #uncharge(m: Message) {
    this.#rqCost -= m.cost;
    this.host.memory -= m.cost;
    m.payer.uncharge(m.cost);
  }

  async recvmsg(len: number, flags: number, caller: Caller): Promise<RecvResult> {
    const nonblock = this.nonblock || (flags & abi.MSG_DONTWAIT) !== 0;
    if (this.state === "listening" || (this.type === abi.SOCK_STREAM && this.state === "idle")) {
      throw new ErrnoError(this.state === "listening" ? "EINVAL" : "ENOTCONN", "Cannot receive");
    }
    const deadline = this.#deadline(this.#rcvtimeo);
    for (;;) {
      if (this.#rq.length > 0) {
        const r = this.type === abi.SOCK_DGRAM
          ? this.#takeDgram(len, flags, caller)
          : this.#takeStream(len, flags, caller);
        this.wq.wake();
        this.peer?.wq.wake();
        return r;
      }
      if (this.#resetPending) {
        this.#resetPending = false;
        throw new ErrnoError("ECONNRESET", "Cannot receive");
      }
      if (this.#shutRd || this.#eofFromPeer()) return { data: new Uint8Array(0), flags: 0 };
      if (nonblock) throw new ErrnoError("EAGAIN", "Cannot receive");
      await this.#sleep([this.wq], deadline, caller, "Cannot receive");
    }
  }

  #eofFromPeer(): boolean {
    if (this.type !== abi.SOCK_STREAM) return false;
    return this.#peerGone || !this.peer || this.peer.#shutWr || this.peer.state === "closed";
  }

  #deliverAncillary(m: Message, res: RecvResult, peek: boolean, caller: Caller) {
    if (m.rights && !peek) {
      const rights = m.rights;
      m.rights = undefined;
      this.host.charge(rights.pid, -rights.handles.length);
      res.rights = rights.handles.map((h) => {
        if (h instanceof LocalSocket) h.inflightRefs--;
        try {
          return caller.install(h);
        } catch {
          return -1; // EMFILE: the handle is dropped, as Linux sets MSG_CTRUNC.
        } finally {
          unref(h);
        }
      }).filter((fd) => fd >= 0);
    }
    if (this.#passcred) res.creds = m.creds;
  }

  #takeDgram(len: number, flags: number, caller: Caller): RecvResult {
    const peek = (flags & abi.MSG_PEEK) !== 0;
    const m = this.#rq[0];
    const n = Math.min(len, m.data.length);
    const res: RecvResult = {
      data: m.data.slice(0, n),
      flags: n < m.data.length ? abi.MSG_TRUNC : 0,
      addr: { family: abi.AF_LOCAL, path: m.from ?? "" },
    };
    this.#deliverAncillary(m, res, peek, caller);
    if (!peek) {
      this.#rq.shift();
      this.#rqBytes -= m.data.length;
      this.#uncharge(m);
    }
    return res;
  }

  #takeStream(len: number, flags: number, caller: Caller): RecvResult {
    const peek = (flags & abi.MSG_PEEK) !== 0;
    const parts: Uint8Array[] = [];
    const res: RecvResult = { data: new Uint8Array(0), flags: 0 };
    let got = 0;
    let i = 0;
    while (got < len && i < this.#rq.length) {
      const m = this.#rq[i];
      // Ancillary data stays with the bytes it was sent with: stop before a new sender/rights.
      if (got > 0 && (m.rights || (this.#passcred && m.creds.pid !== this.#rq[0].creds.pid))) break;
      if (got === 0) this.#deliverAncillary(m, res, peek, caller);
      const n = Math.min(len - got, m.data.length - m.off);
      parts.push(m.data.subarray(m.off, m.off + n));
      got += n;
      if (!peek) {
        m.off += n;
        this.#rqBytes -= n;
        // A partly read message keeps its whole charge, as Linux frees an skb only once read.
        if (m.off === m.data.length) {
          this.#rq.splice(i, 1);
          this.#uncharge(m);
          continue;
        }
      }
      i++;
    }
    const out = new Uint8Array(got);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    res.data = out;
    return res;
  }

  shutdown(how: number): void {
    if (this.state !== "connected") throw new ErrnoError("ENOTCONN", "Cannot shut down");
    if (how !== abi.SHUT_RD && how !== abi.SHUT_WR && how !== abi.SHUT_RDWR) {
      throw new ErrnoError("EINVAL", "Cannot shut down");
    }
    if (how !== abi.SHUT_WR) this.#shutRd = true;
    if (how !== abi.SHUT_RD) this.#shutWr = true;
    this.wq.wake();
    this.peer?.wq.wake();
  }

  /** Readiness for poll(). */
  readiness(): number {
    let ev = 0;
    if (this.state === "listening") return this.#backlog.length > 0 ? abi.POLLIN : 0;
    if (this.#rq.length > 0 || this.#shutRd || this.#resetPending) ev |= abi.POLLIN;
    if (this.soError) ev |= abi.POLLERR;
    if (this.type === abi.SOCK_STREAM) {
      if (this.state !== "connected") return ev;
      if (this.#eofFromPeer()) ev |= abi.POLLIN | abi.POLLRDHUP;
      const p = this.peer;
      if (!p || p.state === "closed" || p.#shutRd) ev |= abi.POLLOUT | abi.POLLHUP;
      else if (p.#rqCost < p.#rcvbuf && !this.#shutWr) ev |= abi.POLLOUT;
      return ev;
    }
    const t = this.peer;
    if (!t || (t.#rq.length < LOCAL_MAX_DGRAM_QUEUE && t.#rqCost < t.#rcvbuf)) ev |= abi.POLLOUT;
    return ev;
  }

  getsockname(): SockAddr {
    return { family: abi.AF_LOCAL, path: this.path ?? "" };
  }

  getpeername(): SockAddr {
    if (this.state !== "connected" || !this.peer) throw new ErrnoError("ENOTCONN", "No peer");
    return { family: abi.AF_LOCAL, path: this.peer.path ?? "" };
  }

  setsockopt(level: number, name: number, value: OptValue): void {
    if (level !== abi.SOL_SOCKET) throw new ErrnoError("ENOPROTOOPT", "Unknown option level");
    const num = () => {
      const v = typeof value === "boolean" ? Number(value) : value;
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new ErrnoError("EINVAL", "Option value must be a non-negative number");
      }
      return v;
    };
    switch (name) {
      case abi.SO_RCVBUF:
        this.#rcvbuf = Math.min(Math.max(num(), 2048), 16 << 20);
        return;
      case abi.SO_SNDBUF:
        this.#sndbuf = Math.min(Math.max(num(), 2048), 16 << 20);
        return;
      case abi.SO_RCVTIMEO:
        this.#rcvtimeo = num() || undefined;
        return;
      case abi.SO_SNDTIMEO:
        this.#sndtimeo = num() || undefined;
        return;
      case abi.SO_PASSCRED:
        this.#passcred = num() !== 0;
        return;
      case abi.SO_REUSEADDR:
        num();
        return;
      default:
        throw new ErrnoError("ENOPROTOOPT", `Unknown socket option ${name}`);
    }
  }

  getsockopt(level: number, name: number): OptValue {
    if (level !== abi.SOL_SOCKET) throw new ErrnoError("ENOPROTOOPT", "Unknown option level");
    switch (name) {
      case abi.SO_TYPE:
        return this.type;
      case abi.SO_DOMAIN:
        return abi.AF_LOCAL;
      case abi.SO_PROTOCOL:
        return 0;
      case abi.SO_ERROR: {
        const e = this.soError;
        this.soError = 0;
        return e;
      }
      case abi.SO_PEERCRED:
        if (!this.peerCreds) throw new ErrnoError("ENOTCONN", "No peer credentials");
        return { ...this.peerCreds };
      case abi.SO_RCVBUF:
        return this.#rcvbuf;
      case abi.SO_SNDBUF:
        return this.#sndbuf;
      case abi.SO_RCVTIMEO:
        return this.#rcvtimeo ?? 0;
      case abi.SO_SNDTIMEO:
        return this.#sndtimeo ?? 0;
      case abi.SO_PASSCRED:
        return this.#passcred ? 1 : 0;
      case abi.SO_ACCEPTCONN:
        return this.state === "listening" ? 1 : 0;
      default:
        throw new ErrnoError("ENOPROTOOPT", `Unknown socket option ${name}`);
    }
  }

  /** Last reference gone: free queues and their charges, release the path, tell the peer. */
  release(): void {
    if (this.state === "closed") return;
    const hadUnread = this.#rqBytes > 0;
    this.state = "closed";
    this.host.open--;
    this.host.sockets.delete(this);
    if (this.path !== undefined) this.host.ns.detach(this.path, this);
    this.#dropAll();
    for (const embryo of this.#backlog.splice(0)) embryo.release();
    const peer = this.peer;
    this.peer = undefined;
    if (peer && peer.peer === this) {
      peer.#peerGone = true;
      if (hadUnread && this.type === abi.SOCK_STREAM) peer.#resetPending = true;
    }
    peer?.wq.wake();
    this.wq.wake();
  }

  #deadline(timeo: number | undefined): number | undefined {
    return timeo ? this.host.clock.now() + timeo : undefined;
  }

  async #sleep(qs: WaitQueue[], deadline: number | undefined, caller: Caller, ctx: string) {
    const r = await waitAny(
      qs,
      this.host.clock,
      remaining(this.host.clock, deadline),
      caller.signal,
    );
    if (r === "timeout") throw new ErrnoError("EAGAIN", `${ctx}: timed out`);
    if (r === "aborted") throw new ErrnoError("EINTR", ctx);
    if (deadline !== undefined && this.host.clock.now() >= deadline) {
      throw new ErrnoError("EAGAIN", `${ctx}: timed out`);
    }
  }
}

function checkType(type: number): typeof abi.SOCK_STREAM | typeof abi.SOCK_DGRAM {
  if (type === abi.SOCK_STREAM || type === abi.SOCK_DGRAM) return type;
  throw new ErrnoError("ESOCKTNOSUPPORT", "Cannot create local socket");
}

/** Create an unconnected local socket of `type` (SOCK_STREAM or SOCK_DGRAM). */
export function createLocalSocket(host: LocalHost, type: number, creds: Creds): LocalSocket {
  return new LocalSocket(host, checkType(type), creds);
}
