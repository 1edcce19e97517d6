/**
 * TCP sockets: bind, listen, accept and connect (`tcp_socket_base.ts`), send and receive
 * (`tcp_stream.ts`), shared rings (`tcp_shared_rings.ts`), TCP options (`tcp_options.ts`); here
 * what a socket reports and how it ends: readiness, queues, shutdown, close with SO_LINGER.
 */
import * as abi from "../../kernel/abi.ts";
import type { OptValue } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import { SOCKET_BYTES } from "./socket.ts";
import { TcpSharedRingsSocket } from "./tcp_shared_rings.ts";
import { applyTcpOptions, getTcpOption, setTcpOption } from "./tcp_options.ts";
import { urgentReadiness } from "./tcp_urgent.ts";

export { TCP_DEFAULT_BUF } from "./tcp_socket_base.ts";
export { READER_HOLD_MS, UNREAD_MAX } from "./tcp_stream.ts";

/** One TCP socket. */
export class TcpSocket extends TcpSharedRingsSocket {
  protected newChild(sid: number): TcpSocket {
    return new TcpSocket(sid, this.layer, this.family);
  }

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
    const sh = this._share;
    const buffers = c ? c.recvQueue + (sh ? sh.sab.byteLength : c.sendQueue) : 0;
    return SOCKET_BYTES + buffers + this._peeked.length;
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
    this.settleConnect();
    if (this.phase === "listening") return this.listener?.readable ? abi.POLLIN : 0;
    const c = this.conn;
    if (!c) return this.phase === "closed" ? abi.POLLHUP : abi.POLLOUT;
    let ev = 0;
    if (this.phase === "connecting") return c.error ? abi.POLLERR | abi.POLLOUT : 0;
    this.pump();
    const sh = this._share;
    const inRing = sh ? sh.rxUsed() !== 0 : false;
    if (c.readable || inRing || this._peeked.length > 0 || c.eof || this.readShut) ev |= abi.POLLIN;
    if (c.eof) ev |= abi.POLLRDHUP;
    ev |= urgentReadiness(c);
    if (sh ? !c.writeClosed && sh.txUsed() < sh.ring : c.writable) ev |= abi.POLLOUT;
    if (c.error) ev |= abi.POLLERR | abi.POLLIN | abi.POLLOUT;
    if (c.state === "CLOSED" || (c.eof && c.writeClosed)) ev |= abi.POLLHUP;
    return ev;
  }

  override queues() {
    return {
      recvQ: (this.conn?.recvQueue ?? this.listener?.queued ?? 0) +
        Math.max(0, this._share?.rxUsed() ?? 0),
      sendQ: Math.max(this.conn?.sendQueue ?? 0, this._share?.txUsed() ?? 0),
    };
  }

  protected override setProtocolOption(level: number, name: number, value: OptValue): boolean {
    if (level !== abi.IPPROTO_TCP) return false;
    setTcpOption(this, name, value);
    this.onOptionsChanged();
    return true;
  }

  protected override onOptionsChanged(): void {
    applyTcpOptions(this);
  }

  protected override getProtocolOption(level: number, name: number): OptValue | undefined {
    if (level === abi.SOL_SOCKET && name === abi.SO_ACCEPTCONN) {
      return Number(this.phase === "listening");
    }
    if (level === abi.SOL_SOCKET && name === abi.SO_ERROR) {
      this.settleConnect();
      return undefined;
    }
    if (level !== abi.IPPROTO_TCP) return undefined;
    return getTcpOption(this, name);
  }

  release(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.listener) this.listener.close();
    this.unshare(); // bytes still in rx come back as unread ones
    this._taken = undefined;
    if (this.conn) {
      // Closing with unread data resets the connection (RFC 2525 §2.17, as Linux does).
      const unread = this._peeked.length > 0;
      if (unread || (this.opts.linger?.onoff && this.opts.linger.linger === 0)) this.conn.abort();
      else this.conn.close();
      this.layer.kick(this);
    }
    this.layer.released(this);
    if (this._ownsPort) this.stack.ports.tcp.release(this, this.localPort);
    this.phase = "closed";
    this.wq.wake();
  }
}
