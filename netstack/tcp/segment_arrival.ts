/**
 * Segment arrival (RFC 9293 §3.10.7), state by state: CLOSED, LISTEN, SYN-SENT, and the
 * synchronized states' checks (PAWS, acceptability, RST, SYN, ACK, text, FIN).
 */

import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { TcpAckProcessing } from "./ack.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from "./seqnum.ts";
import { DEFAULT_PEER_MSS, TS_OVERHEAD } from "./tcb.ts";

const { FIN, SYN, RST, ACK, PSH, URG } = TcpFlag;

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
    // A segment without TSopt after timestamps were negotiated is processed like any other,
    // only without PAWS and TS.Recent, as Linux does (tcp_validate_incoming checks PAWS only
    // when saw_tstamp). RFC 7323 §3.2 says a TCP SHOULD silently drop it; Linux does not,
    // and middleboxes that strip options would otherwise stall the connection.
    // RFC 7323 §5.3 PAWS: an older TSval marks a stale duplicate.
    if (ts && !(f & RST) && seqLt(ts.value, this._tsRecent)) {
      this._drop("paws");
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
        if (!(f & RST)) this._outOfWindowAck(now, seg);
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
}
