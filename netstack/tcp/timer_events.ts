/**
 * What a TCP connection does when one of its timers fires: retransmission timeout (RFC 6298,
 * RFC 5681 §3.1), persist / zero-window probe (RFC 9293 §3.8.6.1) and keepalive (RFC 1122
 * §4.2.3.6). The deadlines themselves live in the control block; `poll` calls these.
 */

import { TcpFlag } from "../wire/tcp.ts";
import { TcpOutput } from "./output.ts";
import { seqAdd, seqSub } from "./seqnum.ts";

const { ACK, RST } = TcpFlag;
/** Linux's TCP_RTO_MAX: how long a peer that shrank its window to zero may stay silent. */
const RTO_MAX_SILENCE = 120_000;

/** The timer layer of a TCP connection. */
export abstract class TcpTimerEvents extends TcpOutput {
  /**
   * Enter TIME-WAIT for 2*MSL (RFC 9293 §3.10.7.4), or, when the host's TIME-WAIT budget is
   * spent, close at once after the ACK owed (Linux's tcp_time_wait: "if we're out of memory,
   * just CLOSE this socket up", counted as TCPTimeWaitOverflow).
   */
  protected _enterTimeWait(now: number): void {
    this._rtoAt = this._persistAt = this._keepaliveAt = undefined;
    if (this.options.timeWaitBuckets && !this.options.timeWaitBuckets.take()) {
      if (this._ackNow) this._out(this._sndMax, ACK, new Uint8Array(0), now);
      this._toClosed();
      return;
    }
    this._state = "TIME-WAIT";
    this._closeAt = now + this.options.timeWaitMs;
  }

  /** RFC 6298 §5.4–5.7: retransmit the earliest unacknowledged segment, back off, go back. */
  protected _onRto(now: number): void {
    this._rtoAt = undefined;
    // Our SYN is unacknowledged (SYN-SENT, SYN-RECEIVED, or FIN-WAIT-1 after close() there):
    // resend the SYN or SYN-ACK, as Linux resends the head of its queue, the SYN itself.
    const handshake = this._sndUna === this.iss && this._state !== "CLOSED";
    const limit = handshake ? this.options.maxSynRetransmits : this.options.maxRetransmits;
    // The peer shrank its window to zero under data in flight (Linux's tcp_retransmit_timer,
    // "receiver dastardly shrinks window"): the resent head segment is the window probe, and
    // the connection times out only when the peer has been silent for TCP_RTO_MAX.
    const shrunk = !handshake && this._sndWnd === 0 && this._sndMax !== this._sndUna &&
      !this._orphan;
    const exhausted = shrunk ? now - this._lastRecvAt > RTO_MAX_SILENCE : this._retries >= limit;
    if (exhausted) {
      this._error = this._passive && handshake ? undefined : "ETIMEDOUT";
      this._toClosed();
      return;
    }
    // RFC 5681 §3.1: ssthresh is set when a segment is first retransmitted by the timer and held
    // on its later timeouts; as Linux's tcp_enter_loss ("reduce ssthresh if it has not yet been
    // made inside this window"), also when the timeout interrupts a fast recovery, which
    // already lowered it. An ACK of new data in between (retries back to 0) starts afresh.
    const repeated = this._retries > 0 || this._inRecovery;
    this._retries++;
    this._stats.retransmits++;
    this._rtt.backoff();
    this._rttSeq = undefined;
    if (handshake) {
      this._sendSyn(now);
    } else {
      this._cc.onRto(now, seqSub(this._sndMax, this._sndUna), repeated);
      this._inRecovery = false;
      this._dupAcks = 0;
      this._recover = this._sndMax; // RFC 6582 §3.2 step 4
      this._scoreboard.clear();
      this._sndNxt = this._sndUna;
      this._highRxt = this._sndUna;
      this._wantOutput = true;
      if (shrunk) this._retransmit(now, this._sndUna);
      this._transmit(now);
      if (this._sndNxt === this._sndUna) {
        // Nothing fit in the peer's window: the persist timer takes over (RFC 9293 §3.8.6.1).
        this._persistAt ??= now + this._rtt.rto;
        return;
      }
    }
    this._rtoAt = now + this._rtt.rto;
  }

  /** Zero-window probe (RFC 9293 §3.8.6.1) or SWS override timeout (§3.8.6.2.1). */
  protected _onPersist(now: number): void {
    this._persistAt = undefined;
    if (this._sndWnd === 0) {
      if (this._probes >= this.options.maxRetransmits) {
        this._error = "ETIMEDOUT";
        return this._toClosed();
      }
      this._probes++;
      this._persistBackoff++;
      this._out(seqAdd(this._sndUna, -1), ACK, new Uint8Array(0), now);
      this._armPersist(now);
    } else {
      this._transmit(now, true);
    }
  }

  /** Keepalive probe (RFC 1122 §4.2.3.6): an old sequence number elicits an ACK. */
  protected _onKeepalive(now: number): void {
    const ka = this.options.keepalive;
    this._keepaliveAt = undefined;
    if (!ka || !(this._state === "ESTABLISHED" || this._state === "CLOSE-WAIT")) return;
    if (this._sndMax !== this._sndUna || this._sndBuf.length > 0) {
      this._keepaliveAt = now + ka.idle; // the RTO and persist timers cover a busy connection
      return;
    }
    const idleFor = now - this._lastRecvAt;
    if (this._probes === 0 && idleFor < ka.idle) {
      this._keepaliveAt = this._lastRecvAt + ka.idle;
      return;
    }
    if (this._probes >= ka.count) {
      // Linux's tcp_keepalive_timer resets the dead connection (tcp_send_active_reset).
      this._out(this._sndMax, RST | ACK, new Uint8Array(0), now);
      this._error = "ETIMEDOUT";
      return this._toClosed();
    }
    this._probes++;
    this._out(seqAdd(this._sndMax, -1), ACK, new Uint8Array(0), now);
    this._keepaliveAt = now + ka.interval;
  }
}
