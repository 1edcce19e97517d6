/**
 * libc's direct line to the host's netstack: which fds are INET sockets it may call on
 * straight (socket id, blocking mode), pipelined sends and buffered stream receives.
 *
 * Calls on those sockets skip the kernel (process → netstack → process instead of four hops).
 * A blocking stream send returns as soon as its bytes are on their way, as a kernel's send()
 * returns once its bytes are in the socket buffer: up to {@link PIPELINE_BYTES} may be in flight
 * per socket, the netstack runs them in order, and a failure is reported by the next send on
 * that socket. Every other call on the socket first waits until its sends have landed, so
 * shutdown, close, poll and options never overtake data. Sockets this process got any other
 * way (dup from an unknown fd, SCM_RIGHTS) simply go through the kernel.
 *
 * A stream receive asks for at least {@link READ_AHEAD} bytes and keeps what the caller did not
 * want for the next one, as stdio buffers a read(2): fewer round trips for small reads. Those
 * bytes count as readable for poll(), and go back to the socket (in front of anything newer)
 * before the socket is passed to another process or closed, so nothing is lost on the way.
 *
 * Once a TCP socket has moved {@link SHARE_AFTER} bytes, libc asks for shared rings
 * (kernel/bus/shared_stream.ts): from then on sends copy into the tx ring and receives copy out
 * of the rx ring with no message at all while there is room or data; a message goes only to wait
 * (ring full or empty) or to ring the bell the netstack asked for. The rings are given up before
 * the socket is passed to another process, and the netstack revokes them when it must.
 */
import type { RpcPeer } from "../kernel/bus/rpc.ts";
import type { RecvResult } from "../kernel/bus/messages.ts";
import { MSG_DONTWAIT, MSG_OOB, MSG_PEEK, MSG_WAITALL, SOCK_STREAM } from "../kernel/abi.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { setImmediate } from "node:timers";
import { SHARE_REVOKED, SHARE_WRITE_END, SharedStream } from "../kernel/bus/shared_stream.ts";

/** Most bytes of pipelined sends in flight on one socket. */
export const PIPELINE_BYTES = 1 << 20;
/** Most bytes of small pipelined sends carried by one message. */
export const BATCH_BYTES = 256 << 10;
/** Fewest bytes a stream receive asks the netstack for. */
export const READ_AHEAD = 256 << 10;
/** Bytes a stream socket moves by message before libc asks for shared rings. */
export const SHARE_AFTER = 256 << 10;
/** After a refused share, how many more bytes go by message before libc asks again. */
const SHARE_RETRY = 32 << 10;
/**
 * Most sockets of one process with shared rings at once (each takes 4 MiB of its memory);
 * more bulk sockets than that go by message.
 */
export const MAX_SHARED_SOCKETS = 64;

/** How many of a process's sockets hold shared rings now, and how many may. */
export interface ShareCount {
  shares: number;
  limit: number;
}

/** Posts a structured-clone message (a SharedArrayBuffer) on the direct port. */
export type RawPost = (msg: unknown) => void;

/** What libc knows of one INET socket (shared by fds that dup it). */
export class DirectSocket {
  /** O_NONBLOCK, as this process set it. */
  nonblock: boolean;
  /** SO_SNDTIMEO is set: a send may stop short, so sends are not pipelined. */
  sndtimeo = false;
  /** Bytes of pipelined sends not yet confirmed. */
  inflight = 0;
  /** Handed to another process (SCM_RIGHTS) at some point: no longer this process's alone. */
  passed = false;
  /** A pipelined send's failure, thrown by the next send. */
  error?: ErrnoError;
  readonly #pending = new Set<Promise<void>>();
  /** Sends of this turn not yet posted. */
  #batch?: Uint8Array;
  #batchLen = 0;
  #flushing = false;
  /** Bytes received ahead of the caller, oldest first. */
  #ahead: Uint8Array = new Uint8Array(0);
  /** The receive in progress: receives on one socket run one at a time, in order. */
  #reading: Promise<unknown> = Promise.resolve();
  /** The shared rings, once the netstack took them. */
  share?: SharedStream;
  /** Bytes moved by message, counted until the rings are asked for. */
  #moved = 0;
  /** The one request for shared rings (made or refused). */
  #sharing?: Promise<boolean>;

  constructor(
    readonly net: RpcPeer,
    readonly sid: number,
    readonly type: number,
    nonblock: boolean,
    readonly raw?: RawPost,
    readonly count: ShareCount = { shares: 0, limit: MAX_SHARED_SOCKETS },
  ) {
    this.nonblock = nonblock;
  }

  /** Ask for shared rings once enough bytes went by message; true while they are in use. */
  async #shared(moved: number): Promise<boolean> {
    if (this.share) {
      if (!(this.share.state & SHARE_REVOKED)) return true;
      this.dropShare(); // revoked for good: another holder, or the socket closed
      return false;
    }
    this.#moved += moved;
    if (this.#moved < SHARE_AFTER || !this.raw || this.passed) return false;
    this.#sharing ??= this.#askShare();
    if (await this.#sharing) return true;
    // Refused: often only for now (the send buffer held more than a ring, bytes were in flight
    // on a loaded machine). Ask again after another SHARE_RETRY bytes, never on every call.
    this.#sharing = undefined;
    this.#moved = SHARE_AFTER - SHARE_RETRY;
    return false;
  }

  async #askShare(): Promise<boolean> {
    await this.drain(); // pipelined sends land before any byte of the ring
    if (this.passed || this.count.shares >= this.count.limit) return false;
    const stream = SharedStream.create();
    try {
      this.raw!({ share: { fd: this.sid, sab: stream.sab } });
      await this.net.call({ op: "share", fd: this.sid });
    } catch {
      return false; // refused (another holder, not connected): messages it stays
    }
    this.share = stream;
    this.count.shares++;
    return true;
  }

  /** Forget the shared rings (given up, revoked, or the socket's last fd closed). */
  dropShare(): void {
    if (!this.share) return;
    this.share = undefined;
    this.count.shares--;
  }

  /** Give the shared rings back before the socket leaves this process (bytes keep their order). */
  async unshare(): Promise<void> {
    await this.#sharing;
    if (!this.share) return;
    this.dropShare();
    await this.net.call({ op: "unshare", fd: this.sid }).catch(() => {});
  }

  /**
   * A stream send through the shared tx ring; undefined when it must go by message (no rings,
   * flags or SO_SNDTIMEO that need the netstack).
   */
  async sendShared(data: Uint8Array, flags: number): Promise<number | undefined> {
    if (this.type !== SOCK_STREAM || this.sndtimeo || (flags & ~MSG_DONTWAIT) !== 0) {
      return undefined;
    }
    if (!(await this.#shared(data.length))) return undefined;
    const sh = this.share!;
    const nonblock = this.nonblock || (flags & MSG_DONTWAIT) !== 0;
    let sent = 0;
    while (sent < data.length && !(sh.state & (SHARE_REVOKED | SHARE_WRITE_END))) {
      const n = sh.txWrite(data.subarray(sent));
      if (n > 0) {
        sent += n;
        if (sh.txTakeBell()) this.net.emit({ op: "bell", fd: this.sid });
        continue;
      }
      if (nonblock) break;
      try {
        await this.net.call({ op: "txwait", fd: this.sid });
      } catch (err) {
        if (sent > 0) break;
        throw err;
      }
    }
    if (sent > 0) return sent;
    if (sh.state & SHARE_REVOKED) return undefined;
    if (sh.state & SHARE_WRITE_END) {
      // The connection takes no more: the netstack's own send says why (EPIPE, ECONNRESET…).
      return await this.net.call({ op: "sendmsg", fd: this.sid, data, flags }) as number;
    }
    throw new ErrnoError("EAGAIN", "Cannot send");
  }

  /** A stream receive from the shared rx ring, waiting by message only when it is empty. */
  async #recvShared(len: number, flags: number): Promise<RecvResult | undefined> {
    for (;;) {
      const sh = this.share;
      if (!sh || sh.state & SHARE_REVOKED) return undefined;
      const data = sh.rxRead(len);
      if (data.length > 0) {
        if (sh.rxUsed() <= sh.ring / 2 && sh.rxTakeBell()) {
          this.net.emit({ op: "bell", fd: this.sid });
        }
        return { data, flags: 0 };
      }
      const r = await this.net.call({ op: "rxwait", fd: this.sid, len, flags }) as RecvResult;
      if (!r.ring) return r;
    }
  }

  /** Whether a send with `flags` may return before the netstack confirms it. */
  pipelines(flags: number): boolean {
    return this.type === SOCK_STREAM && !this.nonblock && !this.sndtimeo && flags === 0;
  }

  /** Wait until every pipelined send has landed (its failure stays for the next send). */
  async drain(): Promise<void> {
    this.flush();
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /** Throw (once) the failure of an earlier pipelined send. */
  throwError(): void {
    const e = this.error;
    if (!e) return;
    this.error = undefined;
    throw e;
  }

  /** Bytes received ahead and not yet read. */
  get buffered(): number {
    return this.#ahead.length;
  }

  /**
   * A stream receive (other sockets and flags go to the netstack unchanged). MSG_OOB goes
   * straight there too: the urgent byte is not in the stream read ahead, and it never waits.
   */
  recv(len: number, flags: number): Promise<RecvResult> {
    const call = (n: number, f: number) =>
      this.net.call({ op: "recvmsg", fd: this.sid, len: n, flags: f }) as Promise<RecvResult>;
    if (this.type !== SOCK_STREAM || len <= 0 || flags & MSG_OOB) return call(len, flags);
    const run = this.#reading.then(() => this.#recv(call, len, flags));
    this.#reading = run.catch(() => {});
    return run;
  }

  async #recv(
    call: (n: number, f: number) => Promise<RecvResult>,
    len: number,
    flags: number,
  ): Promise<RecvResult> {
    if (this.#ahead.length > 0) {
      const data = this.#ahead.slice(0, len);
      if (!(flags & MSG_PEEK)) this.#ahead = this.#ahead.subarray(data.length);
      if (!(flags & MSG_WAITALL) || (flags & MSG_PEEK) || data.length === len) {
        return { data, flags: 0 };
      }
      try {
        const rest = await call(len - data.length, flags);
        return { data: join(data, rest.data), flags: 0 };
      } catch {
        return { data, flags: 0 }; // the error shows again on the next call, as on Linux
      }
    }
    if (flags & ~MSG_DONTWAIT) return await call(len, flags);
    if (await this.#shared(0)) {
      const r = await this.#recvShared(len, flags);
      if (r) return r;
    }
    const r = await call(Math.max(len, READ_AHEAD), flags);
    this.#moved += r.data.length;
    if (r.data.length > len) {
      this.#ahead = r.data.subarray(len);
      r.data = r.data.subarray(0, len);
    }
    return r;
  }

  /**
   * Give bytes received ahead back to the socket (before it leaves this process's hands). A
   * receive still waiting is not waited for: closing or exiting must not hang on a quiet peer.
   * The netstack takes back only the tail of this process's last receive on the socket, with
   * nothing read since (EINVAL otherwise), which is exactly what `#ahead` holds.
   */
  async unread(): Promise<void> {
    if (this.#ahead.length === 0) return;
    const data = this.#ahead;
    this.#ahead = new Uint8Array(0);
    await this.net.call({ op: "unread", fd: this.sid, data });
  }

  /**
   * Queue `data` to be sent without waiting for the netstack, once room is free; returns its
   * length. Sends made in one turn of the event loop travel together, up to
   * {@link BATCH_BYTES} per message, so a loop of small sends costs few messages.
   */
  async pipeline(data: Uint8Array): Promise<number> {
    const n = data.length;
    while (this.inflight > 0 && this.inflight + n > PIPELINE_BYTES) {
      this.flush();
      await Promise.race(this.#pending);
    }
    this.throwError();
    this.inflight += n;
    if (n >= BATCH_BYTES) {
      this.flush();
      this.#post(data); // encoded (copied) before this returns: the caller may reuse it
      return n;
    }
    if (this.#batchLen + n > BATCH_BYTES) this.flush();
    this.#batch ??= new Uint8Array(BATCH_BYTES);
    this.#batch.set(data, this.#batchLen);
    this.#batchLen += n;
    if (!this.#flushing) {
      this.#flushing = true;
      setImmediate(() => this.flush());
    }
    return n;
  }

  /** Post the sends queued in this turn now. */
  flush(): void {
    this.#flushing = false;
    if (this.#batchLen === 0) return;
    const data = this.#batch!.subarray(0, this.#batchLen);
    this.#batchLen = 0;
    this.#post(data); // encoded (copied) before this returns, so the batch is free again
  }

  #post(data: Uint8Array): void {
    const n = data.length;
    const p: Promise<void> = this.net.call({ op: "sendmsg", fd: this.sid, data, flags: 0 }).then(
      (sent) => {
        if ((sent as number) < n) {
          this.error ??= new ErrnoError("EPIPE", "Cannot send: the connection closed");
        }
      },
      (err) => {
        this.error ??= err instanceof ErrnoError ? err : new ErrnoError("EIO", String(err));
      },
    ).finally(() => {
      this.inflight -= n;
      this.#pending.delete(p);
    });
    this.#pending.add(p);
  }
}

/** The fds this process can reach its netstack with directly. */
export class DirectNet {
  readonly #fds = new Map<number, DirectSocket>();

  /** Sockets holding shared rings now, at most `maxShares` ({@link MAX_SHARED_SOCKETS}). */
  readonly sharing: ShareCount;

  constructor(readonly rpc: RpcPeer, readonly raw?: RawPost, maxShares = MAX_SHARED_SOCKETS) {
    this.sharing = { shares: 0, limit: maxShares };
  }

  /** The socket behind `fd`, when it is reachable directly. */
  get(fd: unknown): DirectSocket | undefined {
    return typeof fd === "number" ? this.#fds.get(fd) : undefined;
  }

  /** How many fds name each socket. */
  readonly #names = new Map<DirectSocket, number>();

  #set(fd: number, s: DirectSocket | undefined): void {
    this.forget(fd);
    if (!s) return;
    this.#fds.set(fd, s);
    this.#names.set(s, (this.#names.get(s) ?? 0) + 1);
  }

  /** Record that `fd` is socket `sid`. */
  add(fd: number, sid: number, type: number, nonblock: boolean): void {
    this.#set(fd, new DirectSocket(this.rpc, sid, type, nonblock, this.raw, this.sharing));
  }

  /** `to` now names the same socket as `from` (dup). */
  dup(from: number, to: number): void {
    this.#set(to, this.#fds.get(from));
  }

  /** Whether some fd still names `s`. */
  holds(s: DirectSocket): boolean {
    return this.#names.has(s);
  }

  /** `fd` is closed or about to be reused. */
  forget(fd: number): void {
    const s = this.#fds.get(fd);
    if (!s) return;
    this.#fds.delete(fd);
    const n = this.#names.get(s)! - 1;
    if (n > 0) this.#names.set(s, n);
    else {
      this.#names.delete(s);
      s.dropShare(); // the netstack gives the rings up when it releases the socket
    }
  }

  /** Before exit: let every socket's pipelined sends land and give back bytes read ahead. */
  async drainAll(): Promise<void> {
    await Promise.all([...this.#names.keys()].map((s) => s.drain().then(() => s.unread())));
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
