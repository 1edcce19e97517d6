/**
 * The fifth step of segment arrival (RFC 9293 §3.10.7.4, "check the ACK field"): new and
 * duplicate ACKs, RTT samples, fast retransmit and recovery (RFC 5681, 6582, 6675), the send
 * window update, and the rate-limited ACKs owed to unacceptable segments (RFC 5961 §7).
 */

import { TcpFlag, type TcpRepr } from "../wire/tcp.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from "./seqnum.ts";
import { TcpTimerEvents } from "./timer_events.ts";

const { FIN, SYN } = TcpFlag;

/** The ACK-processing layer of a TCP connection. */
export abstract class TcpAckProcessing extends TcpTimerEvents {
  /** Fifth step for synchronized states; returns false when the segment must be dropped. */
  protected _processAck(now: number, seg: TcpRepr): boolean {
    const ack = seg.ack;
    if (seqGt(ack, this._sndMax)) {
      this._drop("ack-unsent"); // §3.10.7.4: ACK for something not yet sent
      this._outOfWindowAck(now, seg);
      return false;
    }
    // RFC 5961 §5.2: ACKs older than SND.UNA - MAX.SND.WND are dropped with a challenge ACK
    // (Linux: tcp_ack → tcp_send_challenge_ack).
    if (seqLt(ack, seqAdd(this._sndUna, -Math.max(this._maxSndWnd, 1)))) {
      this._drop("ack-too-old");
      this._challengeAck(now);
      return false;
    }
    const wnd = seg.window * 2 ** this._sndShift;
    let sackChanged = false;
    const sackedBefore = this._sackOk ? this._scoreboard.sackedAbove(this._sndUna) : 0;
    if (this._sackOk && seg.options.sack) {
      sackChanged = this._scoreboard.update(this._sndUna, this._sndMax, seg.options.sack);
    }
    // Bytes this ACK newly reports delivered, cumulatively or selectively (RFC 6937 DeliveredData).
    const advanced = seqGt(ack, this._sndUna);
    const delivered = this._sackOk
      ? (advanced ? seqSub(ack, this._sndUna) : 0) +
        this._scoreboard.sackedAbove(advanced ? ack : this._sndUna) - sackedBefore
      : 0;
    const sackRecovery = this._inRecovery && this._sackOk;
    if (advanced) {
      this.#onNewAck(now, seg, ack);
    } else if (
      ack === this._sndUna && seg.payload.length === 0 && !(seg.flags & (SYN | FIN)) &&
      wnd === this._sndWnd && wnd > 0 && this._sndMax !== this._sndUna &&
      !seqGt(seg.seq, this._sndWl1)
    ) {
      // RFC 5681 §2 duplicate ACK; as Linux's tcp_ack, not one that moves SND.WL1 (the peer
      // sent data since its last ACK: tcp_may_update_window makes it a window update).
      this.#onDupAck(now, sackChanged, delivered);
    }
    if (sackRecovery && this._inRecovery) this.#reduceCwnd(delivered, advanced);
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
    this._urgSend.acked(ack);
    this._softError = undefined; // something got through (Linux's tcp_ack clears sk_err_soft)
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
    // Karn (RFC 6298 §5.7): the backed-off RTO stays until a valid sample clears it, as in
    // Linux's tcp_ack_update_rtt; an ACK of a retransmitted segment gives none.
    this._retries = 0;
    this._dupAcks = 0;
    if (this._inRecovery) {
      if (seqGe(ack, this._recover)) {
        // RFC 6582 §3.2 step 3 (full ACK) / RFC 6675 §5: leave recovery.
        this._inRecovery = false;
        // cwnd = ssthresh: RFC 6582 §3.2 step 3 option 2, as Linux's tcp_end_cwnd_reduction.
        this._cc.cwnd = this._cc.ssthresh;
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
    if (this._rtoAt !== undefined && this._sackOk && this._scoreboard.isSacked(ack)) {
      // The cumulative ACK stopped at data the peer had SACKed: it reneged (RFC 2018 §8). As
      // Linux's tcp_check_sack_reneging, time out after max(SRTT/2, 10 ms), not a whole RTO.
      this._rtoAt = now + Math.max(this._rtt.srtt / 2, 10);
    }
    this._wantOutput = true;
  }

  /**
   * Proportional rate reduction with slow-start reduction bound (RFC 6937 §3, PRR-SSRB, as
   * Linux's tcp_cwnd_reduction) during SACK recovery: cwnd becomes pipe plus what this ACK lets
   * us send, so the flight shrinks towards ssthresh in step with what the peer delivers (and,
   * once below it, grows back by at most what was delivered plus one segment).
   */
  #reduceCwnd(delivered: number, advanced: boolean): void {
    if (delivered <= 0 || this._priorCwnd <= 0) return;
    const mss = this._sndMss;
    this._prrDelivered += delivered;
    const pipe = this._scoreboard.pipe(this._sndUna, this._sndMax, this._highRxt, mss);
    const ssthresh = this._cc.ssthresh;
    let sndcnt: number;
    if (pipe > ssthresh) {
      // In whole segments, as Linux counts: ceil(delivered * ssthresh / RecoverFS) - out.
      const due = Math.ceil(this._prrDelivered * ssthresh / this._priorCwnd / mss) * mss;
      sndcnt = due - this._prrOut;
    } else {
      sndcnt = Math.max(this._prrDelivered - this._prrOut, delivered);
      if (advanced) sndcnt += mss;
      sndcnt = Math.min(ssthresh - pipe, sndcnt);
    }
    // Whole segments only; the fast retransmit that opens recovery always goes out.
    sndcnt = Math.max(Math.floor(sndcnt / mss) * mss, this._prrOut > 0 ? 0 : mss);
    this._cc.cwnd = pipe + sndcnt;
  }

  #onDupAck(now: number, sackChanged: boolean, delivered: number): void {
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
      this._priorCwnd = this._cc.cwnd;
      this._prrDelivered = this._prrOut = 0;
      this._cc.onLoss(now, seqSub(this._sndMax, this._sndUna));
      if (!this._sackOk) this._cc.cwnd = this._cc.ssthresh + 3 * this._sndMss;
      this._highRxt = this._sndUna;
      if (this._sackOk) this.#reduceCwnd(delivered, false);
      this._rttSeq = undefined;
      this._retransmit(now, this._sndUna);
      this._rtoAt = now + this._rtt.rto;
    }
  }

  /** Our SYN was acknowledged: SND.UNA moves past it, window from this segment. */
  protected _ackSyn(now: number, seg: TcpRepr): void {
    this._sndUna = seg.ack;
    if (seqLt(this._sndNxt, seg.ack)) this._sndNxt = seg.ack;
    this._sndWnd = seg.window << (seg.flags & SYN ? 0 : this._sndShift);
    // Passive open: the largest window is the ACK's, as Linux's tcp_create_openreq_child (the
    // SYN's unscaled window says nothing of the scaled ones to come).
    const passive = !(seg.flags & SYN);
    this._maxSndWnd = passive ? this._sndWnd : Math.max(this._maxSndWnd, this._sndWnd);
    this._sndWl1 = seg.seq;
    this._sndWl2 = seg.ack;
    const echo = this._tsOk ? seg.options.timestamp?.echo : undefined;
    if (echo) this._rtt.sample(seqSub(this._tsNow(now), echo));
    else if (this._retries === 0) this._rtt.sample(now - this._rttTime); // Karn: not after RTO
    else this._rtt.noHandshakeSample();
    this._rtt.resetBackoff();
    this._retries = 0;
    this._rtoAt = undefined;
    this._recover = this._highRxt = seg.ack;
    if (this.options.keepalive) this._keepaliveAt = now + this.options.keepalive.idle;
    this._wantOutput = true;
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
  protected _outOfWindowAck(now: number, seg: TcpRepr): void {
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
  protected _challengeAck(now: number): void {
    if (this.#oowRateLimited(now)) return this._drop("challenge-ack-limited");
    if (now - this._challengeWindow >= 1000) {
      this._challengeWindow = now;
      this._challengeCount = 0;
    }
    if (this._challengeCount++ < this.options.challengeAckLimit) this._ackNow = true;
  }
}
