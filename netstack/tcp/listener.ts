/**
 * A listening socket (RFC 9293 §3.10.7.2 LISTEN, Linux-style accept queue).
 *
 * The listener owns its children until `accept()` hands them out: half-open connections in
 * SYN-RECEIVED and completed ones waiting in the accept queue. Both are bounded: at most
 * `backlog` completed connections wait (further SYNs and final ACKs are dropped, so the client
 * retries), and at most `maxHalfOpen` connections are half-open; a SYN beyond that evicts the
 * oldest half-open one silently, so a SYN flood from spoofed addresses cannot grow memory and
 * a legitimate client still gets through.
 */

import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { TcpConnection } from "./connection.ts";
import type { TcpConnectionOptions } from "./options.ts";
import { resetReplyFor } from "./reset.ts";
import { earliest } from "./timers.ts";

/** The remote end of a connection: an opaque address key from the IP layer and a port. */
export interface TcpPeer {
  /** Opaque, stable identifier of the remote address (and local address if needed). */
  key: string;
  port: number;
}

/** Construction parameters of a {@link TcpListener}. */
export interface TcpListenerInit {
  localPort: number;
  /** Most completed connections waiting for accept() (listen(2) backlog). */
  backlog: number;
  /** Most half-open (SYN-RECEIVED) connections. Default max(backlog, 256). */
  maxHalfOpen?: number;
  /** ISN for a new connection, e.g. `(now, p) => isnGen.next(now, ...)` (RFC 6528). */
  isn: (now: number, peer: TcpPeer) => number;
  /** Sends a segment of any child connection (or a RST) towards `peer`. */
  emit: (seg: TcpRepr, peer: TcpPeer) => void;
  /**
   * Options for the connections created, or a function giving them per peer (so the MSS can
   * follow the interface the SYN came in on).
   */
  options?: Partial<TcpConnectionOptions> | ((peer: TcpPeer) => Partial<TcpConnectionOptions>);
}

/** A connection handed out by {@link TcpListener.accept}. */
export interface AcceptedConnection {
  conn: TcpConnection;
  peer: TcpPeer;
}

interface Child {
  conn: TcpConnection;
  peer: TcpPeer;
  queued: boolean;
}

/** A passive-open endpoint with a bounded accept queue and bounded half-open table. */
export class TcpListener {
  readonly localPort: number;
  readonly backlog: number;
  readonly maxHalfOpen: number;
  /** Segments dropped, by reason ("accept-queue-full", "syn-evicted", ...). */
  readonly drops: Record<string, number> = {};
  #init: TcpListenerInit;
  #children = new Map<string, Child>();
  #queue: Child[] = [];
  #halfOpen = 0;
  #closed = false;

  constructor(init: TcpListenerInit) {
    this.localPort = init.localPort;
    this.backlog = Math.max(1, init.backlog);
    this.maxHalfOpen = Math.max(1, init.maxHalfOpen ?? Math.max(this.backlog, 256));
    this.#init = init;
  }

  /** Connections in SYN-RECEIVED. */
  get halfOpen(): number {
    return this.#halfOpen;
  }

  /** Completed connections waiting for accept(). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Bytes received by connections waiting for accept() (charged to the listener's holder). */
  get queuedBytes(): number {
    let n = 0;
    for (const c of this.#queue) n += c.conn.recvQueue;
    return n;
  }

  /** All children held (half-open plus queued). */
  get size(): number {
    return this.#children.size;
  }

  /** accept() would return a connection. */
  get readable(): boolean {
    return this.#queue.length > 0;
  }

  /** Process a segment for this port that matched no accepted connection. */
  input(now: number, seg: TcpRepr, peer: TcpPeer): void {
    if (this.#closed) return this.#reset(seg, peer);
    const key = `${peer.key}|${peer.port}`;
    const child = this.#children.get(key);
    if (child) {
      const f = seg.flags;
      const finalAck = child.conn.state === "SYN-RECEIVED" && f & TcpFlag.ACK &&
        !(f & (TcpFlag.SYN | TcpFlag.RST));
      if (finalAck && this.#queue.length >= this.backlog) {
        return this.#drop("accept-queue-full"); // Linux: drop the ACK, the SYN-ACK is retried
      }
      child.conn.input(now, seg);
      this.#update(key, child);
      return;
    }
    if (seg.flags & TcpFlag.RST) return this.#drop("rst-no-connection");
    if (seg.flags & TcpFlag.ACK) {
      this.#drop("ack-no-connection");
      return this.#reset(seg, peer);
    }
    if (!(seg.flags & TcpFlag.SYN)) return this.#drop("no-syn");
    if (this.#queue.length >= this.backlog) return this.#drop("accept-queue-full");
    if (this.#halfOpen >= this.maxHalfOpen) this.#evictOldestHalfOpen();
    const conn = new TcpConnection({
      localPort: this.localPort,
      remotePort: peer.port,
      iss: this.#init.isn(now, peer),
      emit: (s) => this.#init.emit(s, peer),
      options: typeof this.#init.options === "function"
        ? this.#init.options(peer)
        : this.#init.options,
    });
    conn.listen();
    conn.input(now, seg);
    const fresh: Child = { conn, peer, queued: false };
    if (conn.state !== "SYN-RECEIVED") return;
    this.#children.set(key, fresh);
    this.#halfOpen++;
  }

  /** Take the oldest completed connection, if any. */
  accept(): AcceptedConnection | undefined {
    const child = this.#queue.shift();
    if (!child) return undefined;
    this.#children.delete(`${child.peer.key}|${child.peer.port}`);
    return { conn: child.conn, peer: child.peer };
  }

  /** Run the children's timers (SYN-ACK retransmission, delayed ACKs of queued ones). */
  poll(now: number): void {
    for (const [key, child] of [...this.#children]) {
      const d = child.conn.nextDeadline();
      if (d !== undefined && d <= now) {
        child.conn.poll(now);
        this.#update(key, child);
      }
    }
  }

  /** When poll must next run, or undefined. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const child of this.#children.values()) best = earliest(best, child.conn.nextDeadline());
    return best;
  }

  /** Stop listening: reset every child not yet accepted. */
  close(): void {
    this.#closed = true;
    for (const child of this.#children.values()) child.conn.abort();
    this.#children.clear();
    this.#queue = [];
    this.#halfOpen = 0;
  }

  #update(key: string, child: Child): void {
    const s = child.conn.state;
    if (s === "CLOSED") {
      this.#children.delete(key);
      if (child.queued) this.#queue.splice(this.#queue.indexOf(child), 1);
      else this.#halfOpen--;
      return;
    }
    if (!child.queued && s !== "SYN-RECEIVED" && s !== "LISTEN") {
      child.queued = true;
      this.#halfOpen--;
      this.#queue.push(child);
    }
  }

  #evictOldestHalfOpen(): void {
    for (const [key, child] of this.#children) {
      if (child.queued) continue;
      this.#children.delete(key);
      this.#halfOpen--;
      this.#drop("syn-evicted");
      return;
    }
  }

  #reset(seg: TcpRepr, peer: TcpPeer): void {
    const rst = resetReplyFor(seg);
    if (rst) this.#init.emit(rst, peer);
  }

  #drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
}
