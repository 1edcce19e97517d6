/**
 * The TCP connection state machine (RFC 9293 §3.3.2, segment arrival §3.10.7), in the style of
 * smoltcp: no I/O and no clock of its own. Segments come in through {@link TcpConnection.input},
 * go out through the `emit` callback, and time is the `now` argument (ms). After calling
 * `send`, `recv`, `shutdownWrite` or `close`, call `poll(now)`; call it again at
 * `nextDeadline()`.
 *
 * @example
 * const c = new TcpConnection({ localPort: 5000, remotePort: 80, iss, emit: (s) => ip.send(s) });
 * c.connect(now);
 * // on each arriving segment: c.input(now, seg); on each wake-up: c.poll(now)
 */

import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqSub } from "./seqnum.ts";
import type { TcpInfo, TcpState } from "./state.ts";
import { type IcmpSoftErrno, type TcpConnectionInit, type TcpErrno, TS_OVERHEAD } from "./tcb.ts";
import { TcpSegmentArrival } from "./segment_arrival.ts";
import { earliest } from "./timers.ts";
import type { SendStorage } from "./send.ts";
import type { UrgentReadError } from "./urgent.ts";

export type { IcmpSoftErrno, TcpConnectionInit, TcpErrno } from "./tcb.ts";

const { SYN, RST, ACK } = TcpFlag;

/**
 * One TCP connection: the public API (RFC 9293 §3.10.1–3.10.6). Segment arrival is in
 * segment_arrival.ts, ACK processing in ack.ts, timers in timer_events.ts, output in
 * output.ts and the variables in tcb.ts, each a layer of this class.
 */
export class TcpConnection extends TcpSegmentArrival {
  /** A connection in CLOSED; call `connect` or `listen` next. */
  constructor(init: TcpConnectionInit) {
    super(init);
  }

  /** RFC 9293 state name. */
  get state(): TcpState {
    return this._state;
  }

  /**
   * Why the connection failed, if it did (becomes SO_ERROR). A timeout reports the last soft
   * ICMP error instead of ETIMEDOUT, as Linux's tcp_write_err (`sk_err_soft ?: ETIMEDOUT`).
   */
  get error(): TcpErrno | IcmpSoftErrno | undefined {
    if (this._error === "ETIMEDOUT" && this._softError) return this._softError;
    return this._error;
  }

  /** The last ICMP error that did not end the connection (Linux's sk_err_soft). */
  get softError(): IcmpSoftErrno | undefined {
    return this._softError;
  }

  /**
   * Whether an ICMP error quoting sequence number `seq` is believable (RFC 5927 §4.1): it must
   * lie in [SND.UNA, SND.NXT], as Linux's tcp_v4_err/tcp_v6_err `between(seq, snd_una, snd_nxt)`
   * (the highest sequence number sent stands for SND.NXT, which a retransmission may rewind).
   */
  icmpSeqAcceptable(seq: number): boolean {
    if (this._state === "CLOSED" || this._state === "LISTEN") return false;
    return seqGe(seq, this._sndUna) && seqLe(seq, this._sndMax);
  }

  /**
   * Record an ICMP error that does not end the connection (RFC 1122 §4.2.3.9: soft in the
   * synchronized states); it is reported only if the connection later times out.
   */
  icmpSoftError(code: IcmpSoftErrno): void {
    this._softError = code;
  }

  /** Bytes can be read, or a read would return EOF or an error. */
  get readable(): boolean {
    return this._rcvBuf.length > 0 || this.eof || this._error !== undefined;
  }

  /** `send` would accept at least one byte. */
  get writable(): boolean {
    return this._canQueue() && this._sndBuf.free > 0;
  }

  /** The peer sent FIN and every byte before it was read. */
  get eof(): boolean {
    return this._finReceived && this._rcvBuf.length === 0;
  }

  /** No more data can be sent (shutdownWrite/close called, or the connection is gone). */
  get writeClosed(): boolean {
    return !this._canQueue();
  }

  /** Bytes waiting to be read. */
  get recvQueue(): number {
    return this._rcvBuf.length;
  }

  /** Bytes in the send buffer (unacknowledged plus unsent). */
  get sendQueue(): number {
    return this._sndBuf.length;
  }

  /**
   * Where in-order data goes straight away when nothing is queued before it (see
   * ReceiveBuffer.sink); undefined: everything is buffered here until `recv`.
   */
  set receiveSink(sink: ((data: Uint8Array) => number) | undefined) {
    this._rcvBuf.sink = sink;
  }

  /**
   * The latest segment with data carried PSH: the peer sent all it had queued, so a reader
   * waiting for more than this should be woken now rather than when more arrives.
   */
  get pushed(): boolean {
    return this._pushed;
  }

  /** Bytes in the send buffer never transmitted yet (held back by the windows or Nagle). */
  get unsentQueue(): number {
    return Math.max(0, this._sndBuf.length - Math.max(0, seqSub(this._sndNxt, this._dataStart())));
  }

  /** Effective send MSS (payload bytes per segment). */
  get mss(): number {
    return this._sndMss;
  }

  /**
   * TIME-WAIT only: may a new SYN for this 4-tuple end this connection and go to the listener?
   * Yes if its sequence number lies beyond RCV.NXT (RFC 1122 §4.2.2.13) or its timestamp is
   * newer (RFC 6191), unless PAWS rejects it. The dispatcher then calls `forget`.
   */
  acceptsNewSyn(seg: TcpRepr): boolean {
    const f = seg.flags;
    if (this._state !== "TIME-WAIT" || !(f & SYN) || f & (ACK | RST)) return false;
    const ts = this._tsOk ? seg.options.timestamp : undefined;
    // Linux's tcp_timewait_state_process: not PAWS-rejected (a TSval more than 1 older than
    // TS.Recent, TCP_PAWS_WINDOW), and either beyond RCV.NXT or with a newer TSval.
    if (ts && seqSub(this._tsRecent, ts.value) > 1) return false;
    return seqGt(seg.seq, this._rcvNxt) || (ts !== undefined && seqGt(ts.value, this._tsRecent));
  }

  /**
   * The dispatcher drops this connection to reuse its 4-tuple (a new SYN or connect while it
   * is in TIME-WAIT): it closes without a segment, giving back its TIME-WAIT bucket.
   */
  forget(): void {
    this._toClosed();
  }

  /**
   * The path MTU shrank (RFC 1191, RFC 8201 §5.4: an ICMP "fragmentation needed", a "packet too
   * big", or EMSGSIZE from the IP layer): `mss` is the largest payload it leaves without TCP
   * options (Linux's __tcp_mtu_to_mss). The send MSS drops to it less the options every segment
   * carries (never rises) and TSO stops (Linux's tcp_sync_mss). With `resend` (the report was
   * about this connection's segment) what is in flight was lost: it is sent again at once at the
   * new size from SND.UNA, the congestion window untouched (tcp_simple_retransmit: not
   * congestion, only the unit changed). True if the MSS changed.
   */
  pathMtuReduced(now: number, mss: number, resend = true): boolean {
    const target = Math.max(1, Math.floor(mss) - (this._tsOk ? TS_OVERHEAD : 0));
    if (target >= this._sndMss) return false;
    this._sndMss = target;
    this._cc.setMss(target);
    this.options.gsoMax = 0; // a path narrower than the link: segments leave at the MSS again
    if (resend && this._sendsData() && this._sndMax !== this._sndUna) {
      this._lastNow = now;
      this._inRecovery = false;
      this._dupAcks = 0;
      this._recover = this._sndMax;
      this._scoreboard.clear();
      this._rttSeq = undefined; // Karn: no RTT sample from what is sent again
      this._sndNxt = this._sndUna;
      this._highRxt = this._sndUna;
      this._stats.retransmits++;
      this._transmit(now);
      this._rtoAt = now + this._rtt.rto;
    }
    return true;
  }

  /** Statistics for TCP_INFO. */
  info(): TcpInfo {
    return {
      state: this._state,
      srtt: this._rtt.srtt,
      rttvar: this._rtt.rttvar,
      rto: this._rtt.rto,
      cwnd: this._cc.cwnd,
      ssthresh: this._cc.ssthresh,
      sndMss: this._sndMss,
      rcvMss: this._rcvMssEst,
      sndWnd: this._sndWnd,
      rcvWnd: Math.max(0, seqSub(this._rcvAdvRight, this._rcvNxt)),
      unacked: seqSub(this._sndMax, this._sndUna),
      inRecovery: this._inRecovery,
      backoff: this._rtt.backoffCount,
      ...this._stats,
    };
  }

  /** Active open: send SYN and enter SYN-SENT. */
  connect(now: number): void {
    if (this._state !== "CLOSED") return;
    this._lastNow = now;
    this._sndUna = this.iss;
    this._sndNxt = this._sndMax = seqAdd(this.iss, 1);
    this._state = "SYN-SENT";
    this._sendSyn(now);
    this._rtoAt = now + this._rtt.rto;
  }

  /** Passive open: enter LISTEN; the next SYN moves to SYN-RECEIVED. */
  listen(): void {
    if (this._state !== "CLOSED") return;
    this._passive = true;
    this._state = "LISTEN";
  }

  /**
   * Passive open completed by a SYN cookie (RFC 4987 §3.6, Linux's tcp_get_cookie_sock): `syn`
   * is the peer's SYN as the cookie rebuilt it, our ISS the cookie, and `ack` the segment that
   * returned it. No SYN-ACK is sent, and none is timed: its send time was not kept.
   */
  openFromCookie(now: number, syn: TcpRepr, ack: TcpRepr): void {
    if (this._state !== "CLOSED") return;
    this._passive = true;
    this._lastNow = now;
    this._acceptSyn(syn);
    this._sndUna = this.iss;
    this._sndNxt = this._sndMax = seqAdd(this.iss, 1);
    this._state = "SYN-RECEIVED";
    this._retries = 1; // Karn: no RTT sample from the handshake but a timestamp echo
    this.input(now, ack);
  }

  /** Queue bytes for sending; returns how many were taken (0: buffer full or writing closed). */
  send(data: Uint8Array, beyondCapacity = false): number {
    if (!this._canQueue()) return 0;
    const n = this._sndBuf.write(data, beyondCapacity);
    if (n > 0) this._wantOutput = true;
    return n;
  }

  /**
   * Keep the send buffer in `storage` (a shared ring of `capacity` bytes) from now on; false if
   * what it holds does not fit there.
   */
  shareSendBuffer(storage: SendStorage, capacity: number): boolean {
    return this._sndBuf.moveTo(storage, capacity);
  }

  /** Back to a send buffer of the connection's own (SO_SNDBUF); returns the bytes it held. */
  unshareSendBuffer(): number {
    this._sndBuf.moveToOwn(this.options.sndBuf);
    return this._sndBuf.length;
  }

  /** `n` more bytes the owner of the send buffer's storage wrote there join it (no copy). */
  adopt(n: number): void {
    if (n <= 0 || !this._canQueue()) return;
    this._sndBuf.adopt(n);
    this._wantOutput = true;
  }

  /**
   * Take up to `max` bytes received in order; a read stops at an urgent mark. `peek`: the
   * caller keeps the bytes for a MSG_PEEK, so passing the mark does not forget the urgent byte
   * (Linux's peek_seq leaves copied_seq, and so urg_data, alone).
   */
  recv(max = Infinity, peek = false): Uint8Array {
    const out = this._rcvBuf.read(this.#beforeRead(max, peek));
    this.#afterRead(out.length, peek);
    return out;
  }

  /** Move up to `dest.length` bytes received in order into `dest`; returns the count. */
  recvInto(dest: Uint8Array): number {
    const n = this._rcvBuf.readInto(dest.subarray(0, this.#beforeRead(dest.length)));
    this.#afterRead(n);
    return n;
  }

  /**
   * Mark the data queued so far as urgent (`send(MSG_OOB)`, Linux's tcp_mark_urg): SND.UP goes
   * just past it, and the segments up to there carry URG (RFC 9293 §3.8.5, RFC 6093).
   */
  markUrgent(): void {
    if (!this._canQueue()) return;
    this._urgSend.mark(this._dataEnd());
    this._wantOutput = true;
  }

  /**
   * `recv(MSG_OOB)` as Linux's tcp_recv_urg: the out-of-band byte, or EINVAL (none, already
   * read, or SO_OOBINLINE) or EAGAIN (the pointer came, its byte not yet). `peek` keeps it.
   */
  recvUrgent(peek = false): number | UrgentReadError {
    return this._urgRecv.read(this.options.oobInline, peek);
  }

  /** An urgent byte waits to be read (POLLPRI). */
  get urgentPending(): boolean {
    return this._urgRecv.state === "valid";
  }

  /** The reader stands at the urgent mark (SIOCATMARK): the next byte is the urgent one. */
  get atUrgentMark(): boolean {
    return this._urgRecv.atMark(this._readerSeq());
  }

  /** A normal read begins: step past a mark it stands at; how much of `max` it may take. */
  #beforeRead(max: number, peek = false): number {
    if (!peek) this._urgRecv.passMark(this._copiedSeq(), this.options.oobInline);
    this._urgentSync();
    return Math.min(max, this._urgRecv.readLimit(this._copiedSeq()));
  }

  /** A read freed `n` bytes: offer the larger window once it is worth a segment. */
  #afterRead(n: number, peek = false): void {
    if (n > 0 && !peek) {
      this._urgRecv.passMark(this._copiedSeq(), this.options.oobInline);
      this._urgentSync();
    }
    if (n > 0 && this._synchronized()) {
      const cur = Math.max(0, seqSub(this._rcvAdvRight, this._rcvNxt));
      const threshold = Math.min(this._rcvBuf.capacity / 2, 2 * this.options.mss);
      if (this._rcvBuf.window - cur >= threshold && !this._finReceived) {
        this._ackNow = true; // window update
      }
    }
  }

  /** Half-close (SHUT_WR): send FIN after the queued data. */
  shutdownWrite(): void {
    switch (this._state) {
      case "LISTEN":
      case "SYN-SENT":
        this._toClosed();
        return;
      case "SYN-RECEIVED":
      case "ESTABLISHED":
        this.#queueFin();
        this._state = "FIN-WAIT-1";
        break;
      case "CLOSE-WAIT":
        this.#queueFin();
        this._state = "LAST-ACK";
        break;
      case "CLOSED":
      case "FIN-WAIT-1":
      case "FIN-WAIT-2":
      case "CLOSING":
      case "LAST-ACK":
      case "TIME-WAIT":
        return;
      default:
        return this._state satisfies never;
    }
    this._wantOutput = true;
  }

  #queueFin(): void {
    this._finSeq = this._dataEnd();
    this._finQueued = true;
  }

  /** Full close: like shutdownWrite, but unread data resets the connection (RFC 2525 §2.17). */
  close(): void {
    this._orphan = true;
    if (this._rcvBuf.length > 0) return this.abort();
    this.shutdownWrite();
    if (this._state === "FIN-WAIT-2") this._closeAt = this._lastNow + this.options.finWait2Ms;
  }

  /** Abort (SO_LINGER 0): send RST if synchronized and drop everything now. */
  abort(): void {
    if (this._synchronized() || this._state === "SYN-RECEIVED") {
      this._out(this._sndMax, RST | ACK, new Uint8Array(0), this._lastNow);
    }
    this._toClosed();
    this._onChange?.();
  }

  /** When `poll` must next be called (absolute ms), or undefined if nothing is pending. */
  nextDeadline(): number | undefined {
    if (this._ackNow || this._wantOutput) return this._lastNow;
    return earliest(this._rtoAt, this._delackAt, this._persistAt, this._keepaliveAt, this._closeAt);
  }

  /** Run timers that are due and send whatever is permitted. */
  poll(now: number): void {
    this._lastNow = now;
    if (this._closeAt !== undefined && now >= this._closeAt) {
      this._toClosed();
      this._onChange?.();
      return;
    }
    if (this._rtoAt !== undefined && now >= this._rtoAt) this._onRto(now);
    if (this._persistAt !== undefined && now >= this._persistAt) this._onPersist(now);
    if (this._keepaliveAt !== undefined && now >= this._keepaliveAt) this._onKeepalive(now);
    if (this._delackAt !== undefined && now >= this._delackAt) this._ackNow = true;
    this._flush(now);
    this._onChange?.();
  }
}
