/**
 * A listening socket (RFC 9293 §3.10.7.2 LISTEN, Linux-style accept queue).
 *
 * The listener owns its children until `accept()` hands them out: half-open connections in
 * SYN-RECEIVED and completed ones waiting in the accept queue. Both are bounded: at most
 * `backlog` completed connections wait (further SYNs and final ACKs are dropped, so the client
 * retries), and at most `maxHalfOpen` connections are half-open. A SYN beyond that is answered
 * with a SYN cookie (RFC 4987 §3.6, syn_cookie.ts) and leaves no state, as Linux's
 * tcp_conn_request does once its SYN queue is full: a SYN flood from spoofed addresses cannot
 * grow memory nor evict a handshake in progress, and a legitimate client completes its
 * handshake from the cookie alone.
 */

import { TcpFlag, type TcpOptions, type TcpRepr } from "../wire/tcp.ts";
import { TcpConnection } from "./connection.ts";
import { DEFAULT_TCP_OPTIONS, type TcpConnectionOptions, windowShiftFor } from "./options.ts";
import { resetReplyFor } from "./reset.ts";
import { seqAdd } from "./seqnum.ts";
import {
  COOKIE_MSS_TABLE,
  COOKIE_PERIOD_MS,
  cookieTimestamp,
  decodeCookieTimestamp,
  MAX_COOKIE_AGE,
  SynCookies,
} from "./syn_cookie.ts";
import { DEFAULT_PEER_MSS } from "./tcb.ts";
import { earliest } from "./timers.ts";

const { SYN, RST, ACK } = TcpFlag;

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
  /**
   * When SYNs get cookies, as Linux's net.ipv4.tcp_syncookies: 1 (default) once the half-open
   * queue is full, 2 for every SYN, 0 never (a SYN beyond the queue is dropped). Read per SYN.
   */
  syncookies?: () => SynCookieMode;
  /** ISN for a new connection, e.g. `(now, p) => isnGen.next(now, ...)` (RFC 6528). */
  isn: (now: number, peer: TcpPeer) => number;
  /** Sends a segment of any child connection (or a RST) towards `peer`. */
  emit: (seg: TcpRepr, peer: TcpPeer) => void;
  /**
   * Options for the connections created, or a function giving them per peer (so the MSS can
   * follow the interface the SYN came in on).
   */
  options?: Partial<TcpConnectionOptions> | ((peer: TcpPeer) => Partial<TcpConnectionOptions>);
  /**
   * SYN cookie and timestamp-offset secret, shared by a host's listeners (seeded under the
   * simulator). Default: one with a fresh random secret.
   */
  cookies?: SynCookies;
  /** The MSS values a cookie to `peer` can encode. Default {@link COOKIE_MSS_TABLE} (IPv4). */
  cookieMssTable?: (peer: TcpPeer) => readonly number[];
  /** Told each drop reason and SYN cookie event, e.g. to count it for `netstat -s`. */
  count?: (what: string) => void;
}

/** A connection handed out by {@link TcpListener.accept}. */
export interface AcceptedConnection {
  conn: TcpConnection;
  peer: TcpPeer;
}

/** Linux's net.ipv4.tcp_syncookies: 0 never, 1 when the half-open queue is full, 2 always. */
export type SynCookieMode = 0 | 1 | 2;

/** SYN cookie counters (Linux's SyncookiesSent / SyncookiesRecv / SyncookiesFailed). */
export interface SynCookieStats {
  /** SYN-ACKs sent with a cookie because the half-open queue was full. */
  sent: number;
  /** Final ACKs whose cookie was valid: a connection was made from it. */
  recv: number;
  /** ACKs checked as cookies and found invalid (answered with RST). */
  failed: number;
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
  /** Segments dropped, by reason ("accept-queue-full", "ack-no-connection", ...). */
  readonly drops: Record<string, number> = {};
  /** SYN cookies sent, accepted and rejected. */
  readonly syncookies: SynCookieStats = { sent: 0, recv: 0, failed: 0 };
  #init: TcpListenerInit;
  #cookies: SynCookies;
  #children = new Map<string, Child>();
  #queue: Child[] = [];
  #halfOpen = 0;
  #closed = false;
  /** When the last cookie was sent: ACKs are checked as cookies only for a while after. */
  #lastCookieAt = -Infinity;

  constructor(init: TcpListenerInit) {
    this.localPort = init.localPort;
    this.backlog = Math.max(1, init.backlog);
    this.maxHalfOpen = Math.max(1, init.maxHalfOpen ?? Math.max(this.backlog, 256));
    this.#init = init;
    this.#cookies = init.cookies ?? new SynCookies();
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
      const finalAck = child.conn.state === "SYN-RECEIVED" && f & ACK && !(f & (SYN | RST));
      if (finalAck && this.#queue.length >= this.backlog) {
        return this.#drop("accept-queue-full"); // Linux: drop the ACK, the SYN-ACK is retried
      }
      child.conn.input(now, seg);
      this.#update(key, child);
      return;
    }
    if (seg.flags & RST) return this.#drop("rst-no-connection");
    if (seg.flags & ACK) {
      if (!(seg.flags & SYN) && this.#fromCookie(now, seg, peer, key)) return;
      this.#drop("ack-no-connection");
      return this.#reset(seg, peer);
    }
    if (!(seg.flags & SYN)) return this.#drop("no-syn");
    if (this.#queue.length >= this.backlog) return this.#drop("accept-queue-full");
    // A handshake in progress is never evicted: beyond the bound, SYNs get cookies instead.
    const mode = this.#init.syncookies?.() ?? 1;
    if (mode === 2) return this.#sendCookie(now, seg, peer);
    if (this.#halfOpen >= this.maxHalfOpen) {
      return mode === 1 ? this.#sendCookie(now, seg, peer) : this.#drop("syn-queue-full");
    }
    const conn = this.#connection(peer, this.#init.isn(now, peer));
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

  /** A child connection; its timestamps start at a secret offset (RFC 7323 §5.4). */
  #connection(peer: TcpPeer, iss: number): TcpConnection {
    return new TcpConnection({
      localPort: this.localPort,
      remotePort: peer.port,
      iss,
      tsOffset: this.#cookies.tsOffset(this.#tuple(peer)),
      emit: (s) => this.#init.emit(s, peer),
      options: this.#options(peer),
    });
  }

  #options(peer: TcpPeer): Partial<TcpConnectionOptions> | undefined {
    const o = this.#init.options;
    return typeof o === "function" ? o(peer) : o;
  }

  /** The connection's 4-tuple as the cookie and offset hashes take it. */
  #tuple(peer: TcpPeer): string {
    return `${peer.key}|${peer.port}|${this.localPort}`;
  }

  /**
   * Answer a SYN with a cookie SYN-ACK and keep nothing (Linux's tcp_conn_request with
   * want_cookie). Without timestamps there is nowhere to keep the window scale and SACK, so the
   * SYN-ACK offers neither (Linux clears the options too).
   */
  #sendCookie(now: number, syn: TcpRepr, peer: TcpPeer): void {
    const o = { ...DEFAULT_TCP_OPTIONS, ...this.#options(peer) };
    const p = syn.options;
    const ts = o.timestamps && p.timestamp !== undefined;
    const scale = ts && o.windowScale && p.windowScale !== undefined;
    const sack = ts && o.sack && p.sackPermitted === true;
    const tuple = this.#tuple(peer);
    const table = this.#init.cookieMssTable?.(peer) ?? COOKIE_MSS_TABLE;
    const cookie = this.#cookies.make(now, tuple, syn.seq, p.mss ?? DEFAULT_PEER_MSS, table);
    const options: TcpOptions = { mss: o.mss };
    if (scale) options.windowScale = windowShiftFor(o.rcvBuf);
    if (sack) options.sackPermitted = true;
    if (ts) {
      const tsNow = Math.floor(now + this.#cookies.tsOffset(tuple)) >>> 0;
      const value = cookieTimestamp(tsNow, scale ? p.windowScale : undefined, sack);
      options.timestamp = { value, echo: p.timestamp!.value };
    }
    this.#lastCookieAt = now;
    this.#count("syncookies sent");
    this.syncookies.sent++;
    this.#init.emit({
      srcPort: this.localPort,
      dstPort: peer.port,
      seq: cookie.isn,
      ack: seqAdd(syn.seq, 1),
      flags: SYN | ACK,
      window: Math.min(o.rcvBuf, 0xffff), // never scaled in a SYN (RFC 7323 §2.2)
      urgent: 0,
      options,
      payload: new Uint8Array(0),
    }, peer);
  }

  /**
   * An ACK that matched no child: if cookies were sent lately (Linux's
   * tcp_synq_no_recent_overflow), check ack - 1 as one and, if valid, make the connection in
   * ESTABLISHED (Linux's cookie_v4_check). True when the segment was handled here.
   */
  #fromCookie(now: number, ack: TcpRepr, peer: TcpPeer, key: string): boolean {
    if (now - this.#lastCookieAt > MAX_COOKIE_AGE * COOKIE_PERIOD_MS) return false;
    const tuple = this.#tuple(peer);
    const peerIsn = seqAdd(ack.seq, -1);
    const iss = seqAdd(ack.ack, -1);
    const table = this.#init.cookieMssTable?.(peer) ?? COOKIE_MSS_TABLE;
    const mss = this.#cookies.check(now, tuple, peerIsn, iss, table);
    const echo = ack.options.timestamp?.echo;
    const ts = echo === undefined
      ? { windowScale: undefined, sack: false }
      : decodeCookieTimestamp(echo);
    const o = { ...DEFAULT_TCP_OPTIONS, ...this.#options(peer) };
    // Options the cookie says we offered must be ones this listener offers (cookie_v4_check).
    const valid = mss !== undefined && ts !== undefined &&
      (ts.windowScale === undefined || o.windowScale) && (!ts.sack || o.sack) &&
      (echo === undefined || o.timestamps);
    if (!valid) {
      this.syncookies.failed++;
      this.#count("syncookies failed");
      return false;
    }
    if (this.#queue.length >= this.backlog) {
      this.#drop("accept-queue-full"); // Linux: ListenOverflows; the peer's retransmission retries
      return true;
    }
    const syn: TcpRepr = {
      srcPort: peer.port,
      dstPort: this.localPort,
      seq: peerIsn,
      ack: 0,
      flags: SYN,
      window: ack.window, // unscaled, as a SYN's; the ACK's own window replaces it at once
      urgent: 0,
      options: {
        mss,
        windowScale: ts.windowScale,
        sackPermitted: ts.sack || undefined,
        timestamp: ack.options.timestamp
          ? { value: ack.options.timestamp.value, echo: 0 }
          : undefined,
      },
      payload: new Uint8Array(0),
    };
    const conn = this.#connection(peer, iss);
    conn.openFromCookie(now, syn, ack);
    if (conn.state === "SYN-RECEIVED" || conn.state === "CLOSED") {
      this.syncookies.failed++;
      this.#count("syncookies failed");
      return false;
    }
    this.syncookies.recv++;
    this.#count("syncookies recv");
    const child: Child = { conn, peer, queued: true };
    this.#children.set(key, child);
    this.#queue.push(child);
    return true;
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

  #reset(seg: TcpRepr, peer: TcpPeer): void {
    const rst = resetReplyFor(seg);
    if (rst) this.#init.emit(rst, peer);
  }

  #drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    this.#count(`listen ${reason}`);
  }

  #count(what: string): void {
    this.#init.count?.(what);
  }
}
