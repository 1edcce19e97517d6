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

import type { ErrnoCode } from "../../kernel/errno.ts";
import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from "./seqnum.ts";
import type { TcpInfo, TcpState } from "./state.ts";
import {
  DEFAULT_PEER_MSS,
  TcpConnectionInit,
  TcpControlBlock,
  type TcpErrno,
  TS_OVERHEAD,
} from "./tcb.ts";
import { earliest } from "./timers.ts";
import type { SendStorage } from "./send.ts";

export type { TcpConnectionInit, TcpErrno } from "./tcb.ts";

const { FIN, SYN, RST, ACK, PSH } = TcpFlag;

/** An ICMP error a connection records without failing (Linux's sk_err_soft). */
export type IcmpSoftErrno = ErrnoCode;

/** One TCP connection: the public API and segment arrival processing (RFC 9293 §3.10). */
export class TcpConnection extends TcpControlBlock {
  /** A connection in CLOSED; call `connect` or `listen` next. */
  constructor(init: TcpConnectionInit) {
    super(init);
  }

  // ---- Public state -------------------------------------------------------------------------

  /** RFC 9293 state name. */
  get state(): TcpState {
    return this._state;
  }

  /**
   * Why the connection failed, if it did (becomes SO_ERROR). A timeout reports the last soft
   * ICMP error instead of ETIMEDOUT, as Linux's tcp_write_err (`sk_err_soft ?: ETIMEDOUT`).
   */
  get error(): TcpErrno | IcmpSoftErrno | undefined {
    if (this._error === "ETIMEDOUT" && this.#softError) return this.#softError;
    return this._error;
  }

  /** The last ICMP error that did not end the connection (Linux's sk_err_soft). */
  get softError(): IcmpSoftErrno | undefined {
    return this.#softError;
  }

  #softError: IcmpSoftErrno | undefined;

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
    this.#softError = code;
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
   * Yes if its timestamp is newer (RFC 6191) or, without timestamps, its sequence number lies
   * beyond RCV.NXT (RFC 1122 §4.2.2.13). The dispatcher then drops this connection.
   */
  acceptsNewSyn(seg: TcpRepr): boolean {
    const f = seg.flags;
    if (this._state !== "TIME-WAIT" || !(f & SYN) || f & (ACK | RST)) return false;
    const ts = seg.options.timestamp;
    if (this._tsOk && ts) return seqGt(ts.value, this._tsRecent);
    return seqGt(seg.seq, this._rcvNxt);
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

  // ---- User calls (RFC 9293 §3.10.1–3.10.6) -------------------------------------------------

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
    this.#acceptSyn(syn);
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

  /** Take up to `max` bytes received in order. */
  recv(max = Infinity): Uint8Array {
    const out = this._rcvBuf.read(max);
    this.#afterRead(out.length);
    return out;
  }

  /** Move up to `dest.length` bytes received in order into `dest`; returns the count. */
  recvInto(dest: Uint8Array): number {
    const n = this._rcvBuf.readInto(dest);
    this.#afterRead(n);
    return n;
  }

  /** A read freed `n` bytes: offer the larger window once it is worth a segment. */
  #afterRead(n: number): void {
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

  // ---- Segment arrival (RFC 9293 §3.10.7) ---------------------------------------------------

  /** Process one arriving segment addressed to this connection. */
  input(now: number, seg: TcpRepr): void {
    this._lastNow = now;
    this._stats.segsIn++;
    switch (this._state) {
      case "CLOSED":
        this.#inputClosed(seg);
        break;
      case "LISTEN":
        this.#inputListen(now, seg);
        break;
      case "SYN-SENT":
        this.#inputSynSent(now, seg);
        break;
      case "SYN-RECEIVED":
      case "ESTABLISHED":
      case "FIN-WAIT-1":
      case "FIN-WAIT-2":
      case "CLOSE-WAIT":
      case "CLOSING":
      case "LAST-ACK":
      case "TIME-WAIT":
        this.#inputSynchronized(now, seg);
        break;
      default:
        this._state satisfies never;
    }
    this._flush(now);
    this._onChange?.();
  }

  /** §3.10.7.1: a closed connection answers everything but RST with RST. */
  #inputClosed(seg: TcpRepr): void {
    this._drop("closed");
    if (seg.flags & RST) return;
    this._sendResetFor(seg);
  }

  /** §3.10.7.2: LISTEN. */
  #inputListen(now: number, seg: TcpRepr): void {
    if (seg.flags & RST) return this._drop("listen-rst");
    if (seg.flags & ACK) {
      this._drop("listen-ack");
      return this._sendResetFor(seg);
    }
    if (!(seg.flags & SYN)) return this._drop("listen-no-syn");
    this.#acceptSyn(seg);
    this._sndUna = this.iss;
    this._sndNxt = this._sndMax = seqAdd(this.iss, 1);
    this._state = "SYN-RECEIVED";
    this._sendSyn(now);
    this._rtoAt = now + this._rtt.rto;
  }

  /** §3.10.7.3: SYN-SENT. */
  #inputSynSent(now: number, seg: TcpRepr): void {
    const f = seg.flags;
    if (f & ACK) {
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this._sndNxt)) {
        this._drop("bad-ack");
        if (!(f & RST)) this._out(seg.ack, RST, new Uint8Array(0), now);
        return;
      }
    }
    if (f & RST) {
      // RFC 5961 §3.2: only an RST acknowledging our SYN is believed.
      if (f & ACK) {
        this._error = "ECONNREFUSED";
        this._toClosed();
      } else this._drop("rst-no-ack");
      return;
    }
    if (!(f & SYN)) return this._drop("no-syn");
    this.#acceptSyn(seg);
    if (f & ACK) {
      this.#ackSyn(now, seg);
      this._state = "ESTABLISHED";
      this._ackNow = true;
      if (seg.payload.length > 0 || f & FIN) {
        this.#processText(now, seqAdd(seg.seq, 1), seg.payload, (f & FIN) !== 0);
      }
    } else {
      // Simultaneous open (§3.5, figure 8): answer with SYN-ACK using the same ISS.
      this._state = "SYN-RECEIVED";
      this._sendSyn(now);
      this._rtoAt = now + this._rtt.rto;
    }
  }

  /** §3.10.7.4: SYN-RECEIVED and all synchronized states. */
  #inputSynchronized(now: number, seg: TcpRepr): void {
    const f = seg.flags;
    if (this._state === "SYN-RECEIVED" && f & SYN && !(f & (ACK | RST)) && seg.seq === this._irs) {
      this._sendSyn(now); // the peer retransmitted its SYN: our SYN-ACK was lost
      return;
    }
    const ts = this._tsOk ? seg.options.timestamp : undefined;
    // RFC 7323 §5.3 PAWS: an older TSval marks a stale duplicate.
    if (ts && !(f & RST) && seqLt(ts.value, this._tsRecent)) {
      this._drop("paws");
      this.#outOfWindowAck(now, seg);
      return;
    }
    // First: acceptability test.
    const segLen = seg.payload.length + (f & SYN ? 1 : 0) + (f & FIN ? 1 : 0);
    const rcvWnd = Math.max(0, seqSub(this._rcvAdvRight, this._rcvNxt));
    let payload = seg.payload;
    let fin = (f & FIN) !== 0;
    if (!this.#acceptable(seg.seq, segLen, rcvWnd)) {
      if (rcvWnd === 0 && seg.seq === this._rcvNxt && !(f & SYN)) {
        payload = payload.subarray(0, 0); // zero window: still take ACK and RST (§3.10.7.4)
        fin = false;
        if (seg.payload.length > 0) this._ackNow = true;
      } else {
        this._drop("unacceptable");
        if (!(f & RST)) this.#outOfWindowAck(now, seg);
        if (this._state === "TIME-WAIT" && f & FIN) {
          this._closeAt = now + this.options.timeWaitMs; // retransmitted FIN: restart 2MSL
        }
        return;
      }
    }
    this._lastRecvAt = now;
    this._probes = 0;
    if (ts && seqLe(seg.seq, this._lastAckSent)) this._tsRecent = ts.value;
    // Second: RST (RFC 5961 §3.2: only the exact RCV.NXT resets; else challenge ACK).
    if (f & RST) {
      if (seg.seq !== this._rcvNxt) {
        this._drop("rst-challenge");
        return this.#challengeAck(now);
      }
      return this.#onReset();
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
    if (f & SYN) {
      this._drop("syn-challenge");
      return this.#challengeAck(now);
    }
    // Fifth: ACK.
    if (!(f & ACK)) return this._drop("no-ack");
    if (this._state === "SYN-RECEIVED") {
      if (!seqGt(seg.ack, this._sndUna) || seqGt(seg.ack, this._sndNxt)) {
        this._drop("bad-ack");
        return this._out(seg.ack, RST, new Uint8Array(0), now);
      }
      this.#ackSyn(now, seg);
      this._state = "ESTABLISHED";
      if (this._finQueued) this._state = "FIN-WAIT-1";
    } else if (!this.#processAck(now, seg)) return;
    // Sixth/seventh/eighth: text and FIN.
    let seq = seg.seq;
    if (seqLt(seq, this._rcvNxt)) {
      const cut = Math.min(seqSub(this._rcvNxt, seq), payload.length);
      payload = payload.subarray(cut);
      seq = seqAdd(seq, cut);
    }
    if (payload.length > 0) this._pushed = (f & PSH) !== 0;
    this.#processText(now, seq, payload, fin);
  }

  #acceptable(seq: number, len: number, wnd: number): boolean {
    const nxt = this._rcvNxt;
    // A segment without data may start at the right edge of the window we offered, as in
    // Linux's tcp_sequence (!after(seq, rcv_nxt + window)); RFC 9293 wants it before the edge.
    // A peer that filled our window (its data lost, or not taken for want of room) sends its
    // ACKs from there: rejecting them deadlocks a bidirectional transfer.
    if (len === 0) return seqGe(seq, nxt) && seqLe(seq, seqAdd(nxt, wnd));
    if (wnd === 0) return false;
    const last = seqAdd(seq, len - 1);
    const inWnd = (s: number) => seqGe(s, nxt) && seqLt(s, seqAdd(nxt, wnd));
    return inWnd(seq) || inWnd(last);
  }

  /** Fifth step for synchronized states; returns false when the segment must be dropped. */
  #processAck(now: number, seg: TcpRepr): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this._sndMax)) {
      this._drop("ack-unsent"); // §3.10.7.4: ACK for something not yet sent
      this.#outOfWindowAck(now, seg);
      return false;
    }
    // RFC 5961 §5.2: ACKs older than SND.UNA - MAX.SND.WND are dropped with a challenge ACK
    // (Linux: tcp_ack → tcp_send_challenge_ack).
    if (seqLt(ack, seqAdd(this._sndUna, -Math.max(this._maxSndWnd, 1)))) {
      this._drop("ack-too-old");
      this.#challengeAck(now);
      return false;
    }
    const wnd = seg.window * 2 ** this._sndShift;
    let sackChanged = false;
    if (this._sackOk && seg.options.sack) {
      sackChanged = this._scoreboard.update(this._sndUna, this._sndMax, seg.options.sack);
    }
    if (seqGt(ack, this._sndUna)) {
      this.#onNewAck(now, seg, ack);
    } else if (
      ack === this._sndUna && seg.payload.length === 0 && !(seg.flags & (SYN | FIN)) &&
      wnd === this._sndWnd && wnd > 0 && this._sndMax !== this._sndUna
    ) {
      this.#onDupAck(now, sackChanged);
    }
    // Window update (§3.10.7.4, SND.WL1/SND.WL2 rule).
    if (
      seqLt(this._sndWl1, seg.seq) ||
      (this._sndWl1 === seg.seq && seqLe(this._sndWl2, ack))
    ) {
      this._sndWnd = wnd;
      this._sndWl1 = seg.seq;
      this._sndWl2 = ack;
      this._maxSndWnd = Math.max(this._maxSndWnd, wnd);
      if (wnd > 0) {
        this._persistAt = undefined;
        this._persistBackoff = 0;
        this._wantOutput = true;
      }
    }
    // State-specific parts of the fifth step.
    const finAcked = this._finQueued && seqGt(this._sndUna, this._dataEnd());
    switch (this._state) {
      case "FIN-WAIT-1":
        if (finAcked) {
          this._state = "FIN-WAIT-2";
          if (this._orphan) this._closeAt = now + this.options.finWait2Ms;
        }
        break;
      case "CLOSING":
        if (finAcked) this._enterTimeWait(now);
        break;
      case "LAST-ACK":
        if (finAcked) {
          this._toClosed();
          return false;
        }
        break;
      case "TIME-WAIT":
        return false;
      case "ESTABLISHED":
      case "CLOSE-WAIT":
      case "FIN-WAIT-2":
      case "CLOSED":
      case "LISTEN":
      case "SYN-SENT":
      case "SYN-RECEIVED":
        break;
      default:
        this._state satisfies never;
    }
    return true;
  }

  #onNewAck(now: number, seg: TcpRepr, ack: number): void {
    const acked = seqSub(ack, this._sndUna);
    let data = acked;
    if (this._sndUna === this.iss) data--; // our SYN
    if (this._finQueued && seqGt(ack, this._dataEnd())) data--; // our FIN
    data = Math.max(0, Math.min(data, this._sndBuf.length));
    this._sndBuf.consume(data);
    this._stats.bytesAcked += data;
    this._sndUna = ack;
    this.#softError = undefined; // something got through (Linux's tcp_ack clears sk_err_soft)
    if (seqLt(this._sndNxt, ack)) this._sndNxt = ack;
    // RTT sample: TSecr (RFC 7323 §4.1) or one timed segment (Karn's rule, RFC 6298 §3).
    const echo = this._tsOk ? seg.options.timestamp?.echo : undefined;
    if (echo !== undefined && echo !== 0) {
      this._rtt.sample(seqSub(this._tsNow(now), echo));
      this._rttSeq = undefined;
    } else if (this._rttSeq !== undefined && seqGe(ack, this._rttSeq)) {
      this._rtt.sample(now - this._rttTime);
      this._rttSeq = undefined;
    }
    this._rtt.resetBackoff();
    this._retries = 0;
    this._dupAcks = 0;
    if (this._inRecovery) {
      if (seqGe(ack, this._recover)) {
        // RFC 6582 §3.2 step 3 (full ACK) / RFC 6675 §5: leave recovery.
        this._inRecovery = false;
        const flight = seqSub(this._sndMax, this._sndUna);
        this._cc.cwnd = this._sackOk
          ? this._cc.ssthresh
          : Math.min(this._cc.ssthresh, Math.max(flight, this._sndMss) + this._sndMss);
      } else if (!this._sackOk) {
        // RFC 6582 §3.2 step 5 (partial ACK): retransmit the next hole, deflate cwnd.
        this._retransmit(now, this._sndUna);
        const back = acked >= this._sndMss ? this._sndMss : 0;
        this._cc.cwnd = Math.max(this._cc.cwnd - acked + back, this._sndMss);
      }
    } else {
      this._cc.onAck(now, data, this._rtt.srtt);
    }
    if (seqLt(this._highRxt, ack)) this._highRxt = ack;
    this._rtoAt = this._sndUna === this._sndMax ? undefined : now + this._rtt.rto;
    this._wantOutput = true;
  }

  #onDupAck(now: number, sackChanged: boolean): void {
    this._dupAcks++;
    this._wantOutput = true;
    if (this._inRecovery) {
      if (!this._sackOk) this._cc.cwnd += this._sndMss; // RFC 6582 §3.2 step 4
      this._wantOutput = true;
      return;
    }
    const lost = this._sackOk && sackChanged && this._scoreboard.isLost(this._sndUna, this._sndMss);
    if ((this._dupAcks >= 3 || lost) && seqGe(this._sndUna, this._recover)) {
      // RFC 5681 §3.2 / RFC 6582 §3.2 step 2 / RFC 6675 §5: enter fast recovery.
      this._inRecovery = true;
      this._recover = this._sndMax;
      this._cc.onLoss(now, seqSub(this._sndMax, this._sndUna));
      if (!this._sackOk) this._cc.cwnd = this._cc.ssthresh + 3 * this._sndMss;
      this._highRxt = this._sndUna;
      this._rttSeq = undefined;
      this._retransmit(now, this._sndUna);
      this._rtoAt = now + this._rtt.rto;
    }
  }

  /** Seventh and eighth steps: queue payload, then the FIN once everything before it is in. */
  #processText(now: number, seq: number, payload: Uint8Array, fin: boolean): void {
    const takesText = this._state === "ESTABLISHED" || this._state === "FIN-WAIT-1" ||
      this._state === "FIN-WAIT-2";
    if (!takesText) return;
    let accepted = 0;
    if (payload.length > 0 && this._orphan && seqGt(seqAdd(seq, payload.length), this._rcvNxt)) {
      // New data for a connection the application closed: nobody can ever read it, so the
      // peer is told with a reset (RFC 1122 §4.2.2.13, as Linux does) instead of being ACKed.
      this.abort();
      return;
    }
    if (payload.length > 0) {
      this._rcvMssEst = Math.max(this._rcvMssEst, Math.min(payload.length, this.options.mss));
      const r = this._rcvBuf.insert(seq, payload);
      accepted = r.accepted;
      this._stats.bytesReceived += r.advanced;
      this._rcvNxt = this._rcvBuf.next;
      if (this._orphan) this._rcvBuf.read(); // nobody will read it
      if (r.outOfOrder || r.filledHole || r.accepted < payload.length) {
        this._ackNow = true; // RFC 5681 §4.2: immediate ACK for out-of-order or hole-filling data
      } else if (r.advanced > 0) {
        this._rcvUnacked += r.advanced;
        if (this._rcvUnacked >= 2 * this._rcvMssEst) this._ackNow = true;
        else this._delackAt ??= now + this.options.delayedAckMs;
      }
    }
    if (fin && accepted === payload.length) this._finRcvSeq = seqAdd(seq, payload.length);
    if (this._finRcvSeq === undefined || this._rcvNxt !== this._finRcvSeq) return;
    // Eighth step: FIN.
    this._finReceived = true;
    this._rcvNxt = seqAdd(this._rcvNxt, 1);
    this._ackNow = true;
    switch (this._state) {
      case "SYN-RECEIVED":
      case "ESTABLISHED":
        this._state = "CLOSE-WAIT";
        break;
      case "FIN-WAIT-1":
        if (seqGt(this._sndUna, this._dataEnd())) this._enterTimeWait(now);
        else this._state = "CLOSING";
        break;
      case "FIN-WAIT-2":
        this._enterTimeWait(now);
        break;
      case "TIME-WAIT":
        this._closeAt = now + this.options.timeWaitMs;
        break;
      case "CLOSE-WAIT":
      case "CLOSING":
      case "LAST-ACK":
      case "CLOSED":
      case "LISTEN":
      case "SYN-SENT":
        break;
      default:
        this._state satisfies never;
    }
  }

  /** Read the peer's SYN options (RFC 9293 §3.7.1, RFC 7323, RFC 2018). */
  #acceptSyn(seg: TcpRepr): void {
    const o = seg.options;
    this._irs = seg.seq;
    this._rcvNxt = seqAdd(seg.seq, 1);
    this._rcvBuf.reset(this._rcvNxt);
    this._lastAckSent = this._rcvNxt;
    this._rcvAdvRight = seqAdd(this._rcvNxt, Math.min(this._rcvBuf.window, 0xffff));
    const bothScale = this.options.windowScale && o.windowScale !== undefined;
    this._scaleOk = bothScale;
    this._sndShift = bothScale ? Math.min(14, o.windowScale ?? 0) : 0;
    if (!bothScale) this._rcvShift = 0;
    this._sackOk = this.options.sack && o.sackPermitted === true;
    this._tsOk = this.options.timestamps && o.timestamp !== undefined;
    if (this._tsOk && o.timestamp) this._tsRecent = o.timestamp.value;
    const peerMss = o.mss ?? DEFAULT_PEER_MSS;
    this._sndMss = Math.max(64, Math.min(peerMss, this.options.mss)) -
      (this._tsOk ? TS_OVERHEAD : 0);
    this._cc.setMss(this._sndMss);
    this._sndWnd = seg.window; // never scaled in a SYN (RFC 7323 §2.2)
    this._maxSndWnd = Math.max(this._maxSndWnd, this._sndWnd);
    this._sndWl1 = seg.seq;
    this._lastRecvAt = this._lastNow;
  }

  /** Our SYN was acknowledged: SND.UNA moves past it, window from this segment. */
  #ackSyn(now: number, seg: TcpRepr): void {
    this._sndUna = seg.ack;
    if (seqLt(this._sndNxt, seg.ack)) this._sndNxt = seg.ack;
    this._sndWnd = seg.window << (seg.flags & SYN ? 0 : this._sndShift);
    this._maxSndWnd = Math.max(this._maxSndWnd, this._sndWnd);
    this._sndWl1 = seg.seq;
    this._sndWl2 = seg.ack;
    const echo = this._tsOk ? seg.options.timestamp?.echo : undefined;
    if (echo) this._rtt.sample(seqSub(this._tsNow(now), echo));
    else if (this._retries === 0) this._rtt.sample(now - this._rttTime); // Karn: not after RTO
    this._rtt.resetBackoff();
    this._retries = 0;
    this._rtoAt = undefined;
    this._recover = this._highRxt = seg.ack;
    if (this.options.keepalive) this._keepaliveAt = now + this.options.keepalive.idle;
    this._wantOutput = true;
  }

  #onReset(): void {
    switch (this._state) {
      case "SYN-RECEIVED":
        if (!this._passive) this._error = "ECONNREFUSED";
        break;
      case "ESTABLISHED":
      case "FIN-WAIT-1":
      case "FIN-WAIT-2":
      case "CLOSE-WAIT":
        this._error = "ECONNRESET";
        break;
      case "CLOSING":
      case "LAST-ACK":
      case "TIME-WAIT":
      case "CLOSED":
      case "LISTEN":
      case "SYN-SENT":
        break;
      default:
        this._state satisfies never;
    }
    this._toClosed();
  }

  /**
   * The ACK owed to a segment dropped as unacceptable, stale (PAWS) or acknowledging what was
   * never sent (RFC 9293 §3.10.7.4), limited as Linux's tcp_oow_rate_limited: a segment that
   * occupies sequence space (data or FIN) and carries no SYN is answered every time ("data
   * packets without SYNs are not likely part of an ACK loop": a peer retransmitting old data
   * gets one ACK each); pure ACKs and SYNs get at most one per 500 ms per connection
   * (tcp_invalid_ratelimit; RFC 5961 §7), so two desynchronised ends cannot ACK each other's
   * ACKs forever (a spoofed in-window segment can start exactly that).
   */
  #outOfWindowAck(now: number, seg: TcpRepr): void {
    const occupiesSpace = seg.payload.length > 0 || (seg.flags & FIN) !== 0;
    if (occupiesSpace && !(seg.flags & SYN)) {
      this._ackNow = true;
      return;
    }
    if (this.#oowRateLimited(now)) return this._drop("oow-ack-limited");
    this._ackNow = true;
  }

  /**
   * Linux's __tcp_oow_rate_limited: true within 500 ms of the last ACK this limit let through;
   * otherwise it lets this one through and restarts the 500 ms.
   */
  #oowRateLimited(now: number): boolean {
    if (now - this.#lastOutOfWindowAck < 500) return true;
    this.#lastOutOfWindowAck = now;
    return false;
  }

  #lastOutOfWindowAck = -Infinity;

  /**
   * RFC 5961 §3.2/§4.2/§5.2 challenge ACK, limited per §7 as Linux's tcp_send_challenge_ack:
   * first by the per-connection 500 ms limit out-of-window ACKs share, then by
   * `challengeAckLimit` per second (Linux's host-wide tcp_challenge_ack_limit).
   */
  #challengeAck(now: number): void {
    if (this.#oowRateLimited(now)) return this._drop("challenge-ack-limited");
    if (now - this._challengeWindow >= 1000) {
      this._challengeWindow = now;
      this._challengeCount = 0;
    }
    if (this._challengeCount++ < this.options.challengeAckLimit) this._ackNow = true;
  }
}
