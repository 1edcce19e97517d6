/**
 * A TCP socket's byte stream: send with back-pressure (blocking, MSG_DONTWAIT), receive
 * (MSG_PEEK, MSG_WAITALL, SHUT_RD), bytes a reader takes back (unread: libc's read-ahead) and
 * when a reader of the shared rx ring is woken. The rings themselves are `tcp_shared_rings.ts`.
 */
import * as abi from "../../kernel/abi.ts";
import type { RecvResult, SockAddr } from "../../kernel/bus/messages.ts";
import type { Timer } from "../../kernel/clock.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { SharedStream } from "../../kernel/bus/shared_stream.ts";
import type { TcpConnection } from "../tcp/mod.ts";
import type { WaitCtx } from "./socket.ts";
import { TcpSocketBase } from "./tcp_socket_base.ts";
import { afterUrgentSend, pumpStopsAtMark, recvUrgent } from "./tcp_urgent.ts";

/** Longest a reader waiting on its shared rx ring is kept waiting for more bytes. */
export const READER_HOLD_MS = 1;

/**
 * Most bytes one receive may hand out and still be given back with {@link TcpStreamSocket.unread}:
 * libc's read-ahead (libc/direct.ts READ_AHEAD) asks for this much. The netstack keeps at most
 * this many bytes per socket to compare an unread against.
 */
export const UNREAD_MAX = 256 << 10;

/** A TCP socket's send and receive paths. */
export abstract class TcpStreamSocket extends TcpSocketBase {
  /** The holder's shared rings, while it uses them (`tcp_shared_rings.ts`). */
  protected _share?: SharedStream;
  /** Bytes put into the shared rx ring since sharing began. */
  protected _rxCommitted = 0;

  /** Move bytes between the shared rings and the connection (`tcp_shared_rings.ts`). */
  abstract pump(): void;

  /** Stop sharing: bytes in the rings go back to the socket (`tcp_shared_rings.ts`). */
  abstract unshare(): void;

  async sendmsg(
    data: Uint8Array,
    flags: number,
    addr: SockAddr | undefined,
    ctx: WaitCtx,
  ): Promise<number> {
    this.settleConnect();
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
        afterUrgentSend(c, flags, n);
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
    this.settleConnect();
    if (this.phase === "listening" || this.phase === "idle") {
      throw new ErrnoError("ENOTCONN", "Cannot receive");
    }
    if (flags & abi.MSG_OOB && this.conn) return recvUrgent(this.conn, len, flags);
    const nonblock = this.nonblock || (flags & abi.MSG_DONTWAIT) !== 0;
    const waitAll = (flags & abi.MSG_WAITALL) !== 0;
    const deadline = this.recvDeadline();
    const parts: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      const c = this.conn;
      if (!c) throw new ErrnoError("ENOTCONN", "Cannot receive");
      this.pump();
      const inRing = this._share?.rxUsed() ?? 0;
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
      if ((c.recvQueue > 0 || this._peeked.length > 0 || inRing > 0) && len > 0) {
        const d = (flags & abi.MSG_PEEK) ? this.#peek(c, len - got) : this.#take(c, len - got);
        parts.push(d);
        got += d.length;
        if (!waitAll || got >= len || (flags & abi.MSG_PEEK) || pumpStopsAtMark(c)) break;
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
    if (inRing >= this._share!.ring / 2 || c.pushed || c.eof || c.error || c.recvQueue > 0) {
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
  protected _peeked: Uint8Array = new Uint8Array(0);

  /**
   * The bytes the last receive took from the stream, who took them, and how far readers of
   * the shared rx ring had read then: what {@link unread} may give back. Any later receive
   * replaces it, so it always ends where the stream is now read to.
   */
  protected _taken?: { pid: number; data: Uint8Array; rxRead: number };

  /** A receive by `pid` of at most `len` bytes took `data` from the stream. */
  #remember(data: Uint8Array, len: number, pid: number | undefined): void {
    this._taken = pid !== undefined && len <= UNREAD_MAX
      ? { pid, data, rxRead: this.#rxRead() }
      : undefined;
  }

  /** Bytes readers took out of the shared rx ring so far (0 when not shared). */
  #rxRead(): number {
    return this._share ? this._rxCommitted - Math.max(0, this._share.rxUsed()) : 0;
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
    const t = this._taken;
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
    this._taken = n < t.data.length
      ? { ...t, data: t.data.subarray(0, t.data.length - n) }
      : undefined;
    this._putBack(tail);
  }

  /** Put `data` back in front of what is still to be read. */
  protected _putBack(data: Uint8Array): void {
    if (data.length === 0) return;
    this._peeked = concat([data, this._peeked], data.length + this._peeked.length);
    this.wq.wake();
  }

  #peek(c: TcpConnection, max: number): Uint8Array {
    if ((this._share?.rxUsed() ?? 0) > 0) return this._share!.rxRead(max, true);
    // Peeked bytes leave the connection (its window opens again), so they are capped at
    // SO_RCVBUF: repeated large peeks cannot pull in more than twice the receive buffer.
    const want = Math.min(max, this.opts.rcvbuf) - this._peeked.length;
    if (want > 0 && c.recvQueue > 0) {
      const more = c.recv(want, true);
      this._peeked = concat([this._peeked, more], this._peeked.length + more.length);
      this.layer.kick(this);
    }
    return this._peeked.slice(0, max);
  }

  #take(c: TcpConnection, max: number): Uint8Array {
    if ((this._share?.rxUsed() ?? 0) > 0) {
      const d = this._share!.rxRead(max);
      this.pump(); // room in rx: refill it (and open the window)
      return d;
    }
    if (this._peeked.length > 0) {
      const d = this._peeked.subarray(0, max);
      this._peeked = this._peeked.subarray(d.length);
      return d;
    }
    const d = c.recv(max);
    this.layer.kick(this);
    return d;
  }
}

/** The bytes of `parts` (`total` of them) in one array. */
export function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Whether `a` and `b` hold the same bytes. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
