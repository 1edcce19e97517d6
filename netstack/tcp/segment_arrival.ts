/**
 * Segment arrival (RFC 9293 §3.10.7), state by state: CLOSED, LISTEN, SYN-SENT, and the
 * synchronized states' checks (PAWS, acceptability, RST, SYN, ACK, text, FIN).
 */

import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { TcpAckProcessing } from "./ack.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from "./seqnum.ts";
import { DEFAULT_PEER_MSS, TS_OVERHEAD } from "./tcb.ts";

const { FIN, SYN, RST, ACK, PSH, URG } = TcpFlag;

/** How soon SYN-SENT resends its SYN after an unacceptable ACK (Linux's TCP_TIMEOUT_MIN). */
const SYN_RESEND_SOON_MS = 2;

/** The segment-arrival layer of a TCP connection. */
export abstract class TcpSegmentArrival extends TcpAckProcessing {
  /** Send RST if synchronized and drop everything (the public `abort`, in connection.ts). */
  abstract abort(): void;

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
    this._acceptSyn(seg);
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
        // Linux's tcp_rcv_synsent_state_process: "previous FIN/ACK or RST/ACK might be
        // ignored", so before any retransmission the SYN goes again at once (TCP_TIMEOUT_MIN).
        if (this._retries === 0) this._rtoAt = now + SYN_RESEND_SOON_MS;
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
    this._acceptSyn(seg);
    if (f & ACK) {
      this._ackSyn(now, seg);
      this._state = "ESTABLISHED";
      // Data or FIN on a SYN-ACK is not taken (RFC 9293 §3.10.7.3 would go on to the sixth
      // step): as Linux's tcp_rcv_synsent_state_process without TCP Fast Open, only the SYN is
      // acknowledged and the peer sends the rest again.
      this._ackNow = true;
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
    if (this.#simultaneousSynAck(seg)) {
      // Simultaneous open (RFC 9293 §3.5 figure 8, line 6): the peer's SYN-ACK acknowledges
      // our SYN. Linux's tcp_validate_incoming lets exactly this SYN past the RFC 5961 §4.2
      // challenge; it completes the handshake like the final ACK of a passive open.
      this._ackSyn(now, seg);
      this._state = this._finQueued ? "FIN-WAIT-1" : "ESTABLISHED";
      this._ackNow = true;
      return;
    }
    if (this._state === "TIME-WAIT") return this.#inputTimeWait(now, seg);
    const ts = this._tsOk ? seg.options.timestamp : undefined;
    // A segment without TSopt after timestamps were negotiated is processed like any other,
    // only without PAWS and TS.Recent, as Linux does (tcp_validate_incoming checks PAWS only
    // when saw_tstamp). RFC 7323 §3.2 says a TCP SHOULD silently drop it; Linux does not,
    // and middleboxes that strip options would otherwise stall the connection.
    // RFC 7323 §5.3 PAWS: an older TSval marks a stale duplicate.
    if (ts && !(f & RST) && seqLt(ts.value, this._tsRecent)) {
      this._drop("paws");
      this.#duplicateBelowWindow(seg);
      this._outOfWindowAck(now, seg);
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
        if (!(f & RST)) {
          this.#duplicateBelowWindow(seg);
          this._outOfWindowAck(now, seg);
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
        return this._challengeAck(now);
      }
      return this.#onReset();
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
    if (f & SYN) {
      this._drop("syn-challenge");
      return this._challengeAck(now);
    }
    // Fifth: ACK.
    if (!(f & ACK)) return this._drop("no-ack");
    if (this._state === "SYN-RECEIVED") {
      if (!seqGt(seg.ack, this._sndUna) || seqGt(seg.ack, this._sndNxt)) {
        this._drop("bad-ack");
        return this._out(seg.ack, RST, new Uint8Array(0), now);
      }
      this._ackSyn(now, seg);
      this._state = "ESTABLISHED";
      if (this._finQueued) this._state = "FIN-WAIT-1";
    } else if (!this._processAck(now, seg)) return;
    // Sixth/seventh/eighth: text and FIN.
    let seq = seg.seq;
    if (seqLt(seq, this._rcvNxt)) {
      const cut = Math.min(seqSub(this._rcvNxt, seq), payload.length);
      // Partly a duplicate: D-SACK the part already received (Linux's tcp_data_queue).
      if (cut > 0 && this.#takesText()) this._reportDuplicate(seq, seqAdd(seq, cut));
      payload = payload.subarray(cut);
      seq = seqAdd(seq, cut);
    }
    if (payload.length > 0) this._pushed = (f & PSH) !== 0;
    this.#checkUrgent(seg);
    this.#processText(now, seq, payload, fin);
    this._urgentSync();
  }

  /**
   * Sixth step, the URG bit (RFC 9293 §3.10.7.4; Linux's tcp_urg): a newer urgent pointer moves
   * the mark, and whichever segment carries the marked byte yields it (before its data is
   * queued, so the byte is known even if only the OOB read ever wants it). Ignored once the
   * peer's FIN arrived, as RFC 9293 says for CLOSE-WAIT and later states.
   */
  #checkUrgent(seg: TcpRepr): void {
    const s = this._state;
    if (s !== "ESTABLISHED" && s !== "FIN-WAIT-1" && s !== "FIN-WAIT-2") return;
    const u = this._urgRecv;
    if (seg.flags & URG && u.check(seg.seq, seg.urgent, this._readerSeq(), this._rcvNxt)) {
      this._urgentSync(); // before the data: the sink must not take the marked byte
    }
    u.capture(seg.seq, seg.payload);
  }

  /**
   * The SYN-ACK of a simultaneous open in SYN-RECEIVED, as Linux's tcp_validate_incoming admits
   * it: an active open, no data, SEG.SEQ+1 = RCV.NXT and SEG.ACK = SND.NXT.
   */
  #simultaneousSynAck(seg: TcpRepr): boolean {
    const f = seg.flags;
    return this._state === "SYN-RECEIVED" && !this._passive && (f & (SYN | ACK)) === (SYN | ACK) &&
      !(f & (RST | FIN)) && seg.payload.length === 0 && seqAdd(seg.seq, 1) === this._rcvNxt &&
      seg.ack === this._sndNxt;
  }

  /**
   * TIME-WAIT (RFC 9293 §3.10.7.4), as Linux's tcp_timewait_state_process: only a bare ACK or
   * RST at exactly RCV.NXT, not PAWS-rejected, is in window (the RST ends TIME-WAIT, the ACK restarts 2*MSL); any
   * other RST is ignored, and anything else (data, a retransmitted FIN, an old ACK) is answered
   * with an ACK (TCP_TW_ACK, limited as out-of-window ACKs are) and, if it carries ACK or is
   * PAWS-rejected, restarts 2*MSL. A SYN that may reopen the connection never gets here (acceptsNewSyn).
   */
  #inputTimeWait(now: number, seg: TcpRepr): void {
    const f = seg.flags;
    const ts = this._tsOk ? seg.options.timestamp : undefined;
    const paws = ts !== undefined && !(f & RST) && seqLt(ts.value, this._tsRecent);
    const bare = seg.payload.length === 0 && !(f & (SYN | FIN));
    if (!paws && seg.seq === this._rcvNxt && (bare || f & RST)) {
      if (f & RST) return this.#onReset();
      if (ts) this._tsRecent = ts.value;
      this._closeAt = now + this.options.timeWaitMs;
      return;
    }
    if (f & RST) return this._drop("time-wait-rst");
    this._drop(paws ? "paws" : "time-wait");
    if (paws || f & ACK) this._closeAt = now + this.options.timeWaitMs;
    this._outOfWindowAck(now, seg);
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

  /**
   * A data segment dropped before the window (RFC 2883 §4.1.1): D-SACK the part of it below
   * RCV.NXT, as Linux's tcp_send_dupack.
   */
  #duplicateBelowWindow(seg: TcpRepr): void {
    if (seg.payload.length === 0 || !seqLt(seg.seq, this._rcvNxt)) return;
    const end = seqAdd(seg.seq, seg.payload.length);
    this._reportDuplicate(seg.seq, seqLt(end, this._rcvNxt) ? end : this._rcvNxt);
  }

  /** States whose segments' text is taken (RFC 9293 §3.10.7.4, seventh step). */
  #takesText(): boolean {
    const s = this._state;
    return s === "ESTABLISHED" || s === "FIN-WAIT-1" || s === "FIN-WAIT-2";
  }

  /** Seventh and eighth steps: queue payload, then the FIN once everything before it is in. */
  #processText(now: number, seq: number, payload: Uint8Array, fin: boolean): void {
    if (!this.#takesText()) return;
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
      if (r.duplicate) {
        this._reportDuplicate(r.duplicate[0], r.duplicate[1]);
        this._ackNow = true;
      }
      accepted = r.accepted;
      this._stats.bytesReceived += r.advanced;
      this._rcvNxt = this._rcvBuf.next;
      if (this._orphan) this._rcvBuf.read(); // nobody will read it
      if (r.outOfOrder || r.filledHole || r.accepted < payload.length) {
        this._ackNow = true; // RFC 5681 §4.2: immediate ACK for out-of-order or hole-filling data
      } else if (r.advanced > 0) {
        this._rcvUnacked += r.advanced;
        const wnd = Math.max(0, seqSub(this._rcvAdvRight, this._rcvNxt));
        if (this._quickAck.dataReceived(now, this._rtt.rto, wnd, this._rcvMssEst)) {
          this._ackNow = true; // quick-ack (quick_ack.ts)
        } else if (this._rcvUnacked >= 2 * this._rcvMssEst) this._ackNow = true;
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
  protected _acceptSyn(seg: TcpRepr): void {
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

  #onReset(): void {
    switch (this._state) {
      case "SYN-RECEIVED":
        if (!this._passive) this._error = "ECONNREFUSED";
        break;
      case "ESTABLISHED":
      case "FIN-WAIT-1":
      case "FIN-WAIT-2":
        this._error = "ECONNRESET";
        break;
      case "CLOSE-WAIT":
        this._error = "EPIPE"; // Linux's tcp_reset: the peer had already closed
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
}
