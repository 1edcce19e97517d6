/**
 * Shared rings (kernel/bus/shared_stream.ts): the socket's only holder writes the send buffer
 * and reads received bytes itself, in memory it shares with the netstack, instead of by message.
 * Sharing starts, moves bytes at each wake (`pump`), and ends (`unshare`) here.
 */
import { ErrnoError } from "../../kernel/errno.ts";
import { copyBytes } from "../../kernel/bus/shared_copy.ts";
import {
  SHARE_READ_END,
  SHARE_REVOKED,
  SHARE_WRITE_END,
  type SharedStream,
} from "../../kernel/bus/shared_stream.ts";
import type { WaitCtx } from "./socket.ts";
import { SharedSendStorage } from "./shared_send_storage.ts";
import { TcpStreamSocket } from "./tcp_stream.ts";
import { pumpStopsAtMark } from "./tcp_urgent.ts";

/** A TCP socket that can move its bytes through shared rings. */
export abstract class TcpSharedRingsSocket extends TcpStreamSocket {
  #pumping = false;

  /** Whether this socket's bytes go through shared rings. */
  get shared(): boolean {
    return this._share !== undefined;
  }

  override rings(): { size: number; tx: number; rx: number } | undefined {
    const sh = this._share;
    return sh && { size: sh.ring, tx: Math.max(0, sh.txUsed()), rx: Math.max(0, sh.rxUsed()) };
  }

  /** Let process `pid`, the socket's only holder, move its bytes through `stream`. */
  share(pid: number, stream: SharedStream): void {
    if (this._share) throw new ErrnoError("EBUSY", "Cannot share: already shared");
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
    this._share = stream;
    this._rxCommitted = 0;
    this.stack.count("tcp: shared rings");
    this.pump();
    this.conn.receiveSink = (d) => this.#toRing(d);
  }

  /** Put arriving in-order bytes straight into rx (as many as fit); returns how many. */
  #toRing(data: Uint8Array): number {
    const sh = this._share;
    if (!sh || this._peeked.length > 0) return 0;
    let n = 0;
    while (n < data.length) {
      const room = sh.rxSpace(data.length - n);
      if (room.length === 0) break;
      copyBytes(room, data.subarray(n, n + room.length));
      sh.rxCommit(room.length);
      this._rxCommitted += room.length;
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
    const sh = this._share;
    if (!sh) return;
    this._share = undefined;
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
    const t = this._taken;
    const rxRead = this._rxCommitted - Math.max(0, sh.rxUsed());
    if (t) this._taken = t.rxRead === rxRead ? { ...t, rxRead: 0 } : undefined;
    const used = sh.rxUsed();
    if (used > 0) this._putBack(sh.rxRead(used));
    sh.setState(SHARE_REVOKED);
    this.wq.wake();
  }

  /** Wait until tx is at most half full or takes no more (the holder's send found it full). */
  async txwait(ctx: WaitCtx): Promise<void> {
    for (;;) {
      this.pump();
      const sh = this._share;
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
    const sh = this._share;
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
      while (this._peeked.length === 0 && c.recvQueue > 0 && !pumpStopsAtMark(c)) {
        const room = sh.rxSpace(c.recvQueue);
        if (room.length === 0) {
          if (sh.rxUsed() < 0) return this.#corrupt();
          if (sh.rxArmBell()) continue;
          break;
        }
        const got = c.recvInto(room);
        sh.rxCommit(got);
        this._rxCommitted += got;
        moved = true;
      }
      if (c.error || c.writeClosed || c.state === "CLOSED") sh.setState(SHARE_WRITE_END);
      const drained = c.recvQueue === 0 && this._peeked.length === 0;
      if (drained && (c.eof || c.error || c.state === "CLOSED")) sh.setState(SHARE_READ_END);
      if (moved) this.layer.kick(this);
    } finally {
      this.#pumping = false;
    }
  }

  /** The holder scribbled over the control words: stop sharing; the connection fails. */
  #corrupt(): void {
    const sh = this._share!;
    this.conn?.unshareSendBuffer();
    this._share = undefined;
    if (this.conn) this.conn.receiveSink = undefined;
    sh.setState(SHARE_REVOKED | SHARE_READ_END | SHARE_WRITE_END);
    this.stack.count("tcp: shared ring corrupt");
    this.conn?.abort();
    this.layer.kick(this);
  }
}
