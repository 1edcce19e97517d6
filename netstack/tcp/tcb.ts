/**
 * The transmission control block (RFC 9293 §3.3.1) of a `TcpConnection`: send and
 * receive sequence variables, negotiated options, timers, and everything that sends segments
 * (data, retransmissions, probes, ACKs, window advertisement). Segment arrival and the public
 * API live in connection.ts, which extends this class.
 */

import { TcpFlag, type TcpOptions, tcpOptionsLength, type TcpRepr } from "../wire/tcp.ts";
import type { CongestionControl } from "./congestion/congestion.ts";
import { Cubic } from "./congestion/cubic.ts";
import { NewReno } from "./congestion/newreno.ts";
import { DEFAULT_TCP_OPTIONS, type TcpConnectionOptions, windowShiftFor } from "./options.ts";
import { ReceiveBuffer } from "./receive.ts";
import { RttEstimator } from "./rtt.ts";
import { SackScoreboard } from "./scoreboard.ts";
import { SendBuffer } from "./send.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqMax, seqSub } from "./seqnum.ts";
import { resetReplyFor } from "./reset.ts";
import type { TcpState } from "./state.ts";

const { FIN, SYN, RST, PSH, ACK } = TcpFlag;
/** MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1). */
export const DEFAULT_PEER_MSS = 536;
/** Bytes the timestamp option takes in every segment (RFC 7323 §3). */
export const TS_OVERHEAD = 12;
const MAX_RCV_WINDOW_UNSCALED = 0xffff;

/** Errno names a connection can fail with; the socket layer turns them into SO_ERROR. */
export type TcpErrno = "ECONNREFUSED" | "ECONNRESET" | "ETIMEDOUT";

/** Everything a connection needs at construction. */
export interface TcpConnectionInit {
  /** Our port. */
  localPort: number;
  /** The peer's port. */
  remotePort: number;
  /** Initial send sequence number, e.g. from {@link IsnGenerator}. */
  iss: number;
  /**
   * Called with each outgoing segment; the IP layer adds addresses and checksum. The payload
   * may be a view into the send buffer: valid during the call only (copy it to keep it).
   */
  emit: (seg: TcpRepr) => void;
  /** Called after input/poll/abort so the socket layer can re-check readiness. */
  onChange?: () => void;
  /** Options; missing fields take {@link DEFAULT_TCP_OPTIONS}. */
  options?: Partial<TcpConnectionOptions>;
  /** Offset added to `now` for our TSval (RFC 7323 §5.4 randomisation). Default 0. */
  tsOffset?: number;
}

/** Connection variables, timers and output; see `TcpConnection` for the public API. */
export abstract class TcpControlBlock {
  readonly localPort: number;
  readonly remotePort: number;
  readonly options: TcpConnectionOptions;
  protected _emit: (seg: TcpRepr) => void;
  protected _onChange: (() => void) | undefined;
  protected _state: TcpState = "CLOSED";
  protected _error: TcpErrno | undefined;
  protected _passive = false;
  protected _orphan = false;
  protected _lastNow = 0;

  // Send sequence space (RFC 9293 §3.3.1) plus SND.MAX (highest sent, for go-back after RTO).
  readonly iss: number;
  protected _sndUna: number;
  protected _sndNxt: number;
  protected _sndMax: number;
  protected _sndWnd = 0;
  protected _sndWl1 = 0;
  protected _sndWl2 = 0;
  protected _maxSndWnd = 0;
  protected _finQueued = false;
  protected _finSeq = 0;
  protected _sndBuf: SendBuffer;

  // Receive sequence space.
  protected _irs = 0;
  protected _rcvNxt = 0;
  protected _rcvAdvRight = 0;
  protected _rcvBuf: ReceiveBuffer;
  /** The latest segment with data carried PSH. */
  protected _pushed = false;
  protected _finRcvSeq: number | undefined;
  protected _finReceived = false;

  // Negotiated options.
  protected _sndMss = DEFAULT_PEER_MSS;
  protected _sndShift = 0;
  protected _rcvShift: number;
  protected _sackOk = false;
  protected _scaleOk = false;
  protected _tsOk = false;
  protected _tsRecent = 0;
  protected _lastAckSent = 0;
  protected _tsOffset: number;

  // Timers (absolute ms) and their counters.
  protected _rtoAt: number | undefined;
  protected _delackAt: number | undefined;
  protected _persistAt: number | undefined;
  protected _keepaliveAt: number | undefined;
  protected _closeAt: number | undefined; // TIME-WAIT or orphaned FIN-WAIT-2 expiry
  protected _retries = 0;
  protected _probes = 0;
  protected _persistBackoff = 0;
  protected _lastRecvAt = 0;
  protected _ackNow = false;
  protected _wantOutput = false;
  protected _rcvUnacked = 0;
  protected _rcvMssEst = DEFAULT_PEER_MSS;
  protected _challengeWindow = 0;
  protected _challengeCount = 0;

  // RTT measurement and loss recovery.
  protected _rtt: RttEstimator;
  protected _rttSeq: number | undefined;
  protected _rttTime = 0;
  protected _cc: CongestionControl;
  protected _dupAcks = 0;
  protected _inRecovery = false;
  protected _recover: number;
  protected _highRxt: number;
  protected _scoreboard = new SackScoreboard();

  protected _stats = {
    retransmits: 0,
    bytesSent: 0,
    bytesReceived: 0,
    bytesAcked: 0,
    segsIn: 0,
    segsOut: 0,
  };
  /** Segments dropped, by reason (e.g. "paws", "unacceptable", "bad-ack"). */
  readonly drops: Record<string, number> = {};

  constructor(init: TcpConnectionInit) {
    this.localPort = init.localPort;
    this.remotePort = init.remotePort;
    this.options = { ...DEFAULT_TCP_OPTIONS, ...init.options };
    this._emit = init.emit;
    this._onChange = init.onChange;
    this.iss = init.iss >>> 0;
    this._sndUna = this.iss;
    this._sndNxt = this.iss;
    this._sndMax = this.iss;
    this._recover = this.iss;
    this._highRxt = this.iss;
    this._tsOffset = init.tsOffset ?? 0;
    this._sndBuf = new SendBuffer(this.options.sndBuf);
    this._rcvBuf = new ReceiveBuffer(this.options.rcvBuf, this.options.maxOutOfOrderRanges);
    this._rcvShift = this.options.windowScale ? windowShiftFor(this.options.rcvBuf) : 0;
    this._rtt = new RttEstimator({
      initialRto: this.options.initialRto,
      minRto: this.options.minRto,
      maxRto: this.options.maxRto,
    });
    const mss = Math.min(this.options.mss, DEFAULT_PEER_MSS);
    this._cc = this.options.congestion === "cubic" ? new Cubic(mss) : new NewReno(mss);
  }

  protected _enterTimeWait(now: number): void {
    this._state = "TIME-WAIT";
    this._rtoAt = this._persistAt = this._keepaliveAt = undefined;
    this._closeAt = now + this.options.timeWaitMs;
  }

  protected _toClosed(): void {
    this._state = "CLOSED";
    this._rtoAt =
      this._delackAt =
      this._persistAt =
      this._keepaliveAt =
        undefined;
    this._closeAt = undefined;
    this._ackNow = this._wantOutput = false;
    this._sndBuf.clear();
    this._scoreboard.clear();
  }

  // ---- Timers -------------------------------------------------------------------------------

  /** RFC 6298 §5.4–5.7: retransmit the earliest unacknowledged segment, back off, go back. */
  protected _onRto(now: number): void {
    this._rtoAt = undefined;
    const handshake = this._state === "SYN-SENT" || this._state === "SYN-RECEIVED";
    const limit = handshake ? this.options.maxSynRetransmits : this.options.maxRetransmits;
    if (this._retries >= limit) {
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
      this._error = "ETIMEDOUT";
      return this._toClosed();
    }
    this._probes++;
    this._out(seqAdd(this._sndMax, -1), ACK, new Uint8Array(0), now);
    this._keepaliveAt = now + ka.interval;
  }

  // ---- Output -------------------------------------------------------------------------------

  protected _flush(now: number): void {
    if (this._wantOutput) this._transmit(now);
    this._wantOutput = false;
    if (this._ackNow && this._state !== "CLOSED" && this._state !== "LISTEN") {
      // Pure ACKs carry SND.MAX: after a go-back SND.NXT may lie left of the peer's window.
      this._out(this._sndMax, ACK, new Uint8Array(0), now);
    }
    this._ackNow = false;
    const ka = this.options.keepalive;
    if (ka && this._keepaliveAt === undefined && this._state === "ESTABLISHED") {
      this._keepaliveAt = this._lastRecvAt + ka.idle;
    }
  }

  /** Send new data (and FIN) as the windows, Nagle and SWS avoidance allow; SACK recovery. */
  protected _transmit(now: number, force = false): void {
    if (!this._sendsData()) return;
    const mss = this._currentMss();
    // With TSO, new data goes out in whole multiples of the MSS (the link cuts them); not while
    // recovering from loss, where segments are the unit that gets lost and resent. The link cuts
    // at its own MTU, so not either when a smaller peer MSS or path MTU is what limits us.
    const fixed = this._tsOk ? TS_OVERHEAD : 0;
    const gso = this._sndMss + fixed >= this.options.mss ? this.options.gsoMax : 0;
    const seg = gso > mss && !this._inRecovery ? Math.floor(gso / mss) * mss : mss;
    const sackRecovery = this._inRecovery && this._sackOk;
    if (sackRecovery) {
      // RFC 6675 §5 step (C): retransmit lost pieces while pipe allows.
      for (let i = 0; i < 1000; i++) {
        const pipe = this._scoreboard.pipe(this._sndUna, this._sndMax, this._highRxt, mss);
        if (this._cc.cwnd - pipe < mss) return;
        const next = this._scoreboard.nextLost(this._sndUna, this._sndMax, this._highRxt, mss);
        if (!next) break;
        this._retransmit(now, next[0], next[1]);
      }
    }
    for (let i = 0; i < 100_000; i++) {
      const dataStart = this._dataStart();
      const off = seqSub(this._sndNxt, dataStart);
      const unsent = this._sndBuf.length - off;
      const finPending = this._finQueued && seqLe(this._sndNxt, this._dataEnd());
      if (unsent <= 0 && !finPending) break;
      const flight = sackRecovery
        ? this._scoreboard.pipe(this._sndUna, this._sndMax, this._highRxt, mss)
        : seqSub(this._sndNxt, this._sndUna);
      const wndRoom = seqSub(seqAdd(this._sndUna, this._sndWnd), this._sndNxt);
      // RFC 3042 limited transmit: the first two duplicate ACKs each release one new segment.
      const limited = !this._inRecovery && this._dupAcks < 3 ? this._dupAcks * mss : 0;
      const cwndRoom = Math.floor(this._cc.cwnd + limited - flight);
      let len = Math.max(0, Math.min(seg, unsent, wndRoom, cwndRoom));
      // A super-segment the windows cut short still ends on a whole piece (the link cuts it
      // into MSS-sized segments; a runt would follow), unless it ends the data.
      if (len > mss && len < unsent) len -= len % mss;
      if (force) len = Math.max(0, Math.min(mss, unsent, wndRoom));
      const fin = finPending && len === unsent && (cwndRoom > 0 || force || unsent === 0);
      if (len === 0 && !fin) {
        if (unsent > 0 && flight === 0 && this._persistAt === undefined) this._armPersist(now);
        break;
      }
      // Sender SWS avoidance and Nagle (RFC 9293 §3.8.6.2.1).
      if (len < mss && !fin && !force) {
        const allQueued = len === unsent;
        const nagleOk = this.options.nodelay || flight === 0;
        const bigEnough = this._maxSndWnd > 0 && len >= this._maxSndWnd / 2;
        if (!(allQueued && nagleOk) && !bigEnough) {
          if (flight === 0 && this._persistAt === undefined) this._armPersist(now);
          break;
        }
      }
      this._sendRange(now, this._sndNxt, len, fin);
      force = false;
      if (fin) break;
    }
  }

  /** Resend up to `max` bytes from `seq` (plus our FIN if it ends there). */
  protected _retransmit(now: number, seq: number, max = this._sndMss): void {
    max = Math.min(max, this._currentMss()); // a segment sized before SACK blocks were due
    const end = this._finQueued ? seqAdd(this._dataEnd(), 1) : this._dataEnd();
    const room = seqSub(end, seq);
    if (room <= 0) return;
    const dataLeft = seqSub(this._dataEnd(), seq);
    const len = Math.max(0, Math.min(max, dataLeft));
    const fin = this._finQueued && len === dataLeft;
    if (len === 0 && !fin) return;
    this._stats.retransmits++;
    this._sendRange(now, seq, len, fin);
    if (seqGt(seqAdd(seq, len), this._highRxt)) this._highRxt = seqAdd(seq, len);
  }

  protected _sendRange(now: number, seq: number, len: number, fin: boolean): void {
    const payload = this._sndBuf.view(seqSub(seq, this._dataStart()), len);
    let flags = ACK;
    if (fin) flags |= FIN;
    if (len > 0 && seqAdd(seq, len) === this._dataEnd()) flags |= PSH;
    const end = seqAdd(seq, len + (fin ? 1 : 0));
    const isNew = seqGe(seq, this._sndMax);
    if (isNew) this._stats.bytesSent += len;
    if (isNew && this._rttSeq === undefined && !this._tsOk) {
      this._rttSeq = end;
      this._rttTime = now;
    }
    this._out(seq, flags, payload, now);
    if (seq === this._sndNxt) this._sndNxt = end;
    this._sndMax = seqMax(this._sndMax, end);
    this._rtoAt ??= now + this._rtt.rto;
    this._persistAt = undefined;
  }

  protected _armPersist(now: number): void {
    const base = Math.max(this._rtt.rto, 200);
    this._persistAt = now + Math.min(this.options.maxRto, base * 2 ** this._persistBackoff);
  }

  protected _sendSyn(now: number): void {
    const options: TcpOptions = { mss: this.options.mss };
    const synAck = this._state === "SYN-RECEIVED";
    if (this.options.windowScale && (!synAck || this._scaleOk)) {
      options.windowScale = this._rcvShift;
    }
    if (this.options.sack && (!synAck || this._sackOk)) options.sackPermitted = true;
    if (this.options.timestamps && (!synAck || this._tsOk)) {
      options.timestamp = { value: this._tsNow(now), echo: synAck ? this._tsRecent : 0 };
    }
    if (this._retries === 0) this._rttTime = now;
    this._emitSeg(this.iss, synAck ? SYN | ACK : SYN, new Uint8Array(0), options);
  }

  /** Emit a non-SYN segment with the usual ACK, window, timestamp and SACK fields. */
  protected _out(seq: number, flags: number, payload: Uint8Array, now: number): void {
    this._emitSeg(seq, flags, payload, this.#segmentOptions(now, (flags & ACK) !== 0));
  }

  /** Options of a non-SYN segment: the timestamp, and SACK blocks while we hold a hole. */
  #segmentOptions(now: number, ack: boolean): TcpOptions {
    const options: TcpOptions = {};
    if (this._tsOk) options.timestamp = { value: this._tsNow(now), echo: this._tsRecent };
    if (this._sackOk && ack && this._rcvBuf.hasHoles) {
      options.sack = this._rcvBuf.sackBlocks(this._tsOk ? 3 : 4);
    }
    return options;
  }

  /**
   * Payload bytes a data segment sent now may carry, as Linux's tcp_current_mss: the send MSS
   * (which already leaves room for the timestamp option every segment carries) less the room
   * of the SACK blocks it carries while we hold a hole. The MSS counts no TCP or IP options
   * (RFC 9293 §3.7.1, RFC 6691 §2), so the sender takes them out of the payload; otherwise a
   * full segment with SACK blocks exceeds the path MTU and dies under DF.
   */
  protected _currentMss(): number {
    if (!this._sackOk || !this._rcvBuf.hasHoles) return this._sndMss;
    const fixed = this._tsOk ? TS_OVERHEAD : 0;
    const extra = tcpOptionsLength(this.#segmentOptions(0, true)) - fixed;
    return Math.max(1, this._sndMss - extra);
  }

  protected _emitSeg(seq: number, flags: number, payload: Uint8Array, o: TcpOptions): void {
    const window = flags & RST ? 0 : this._advertise((flags & SYN) !== 0);
    if (flags & ACK) {
      this._lastAckSent = this._rcvNxt;
      this._delackAt = undefined;
      this._rcvUnacked = 0;
      this._ackNow = false;
    }
    this._stats.segsOut++;
    this._emit({
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq: seq >>> 0,
      ack: flags & ACK ? this._rcvNxt : 0,
      flags,
      window,
      urgent: 0,
      options: o,
      payload,
    });
  }

  /** Window field to send, with receiver SWS avoidance (RFC 9293 §3.8.6.2.2); never shrinks. */
  protected _advertise(syn: boolean): number {
    const free = this._rcvBuf.window;
    if (syn) {
      const w = Math.min(free, MAX_RCV_WINDOW_UNSCALED);
      this._rcvAdvRight = seqAdd(this._rcvNxt, w);
      return w;
    }
    const cur = Math.max(0, seqSub(this._rcvAdvRight, this._rcvNxt));
    let wnd = cur;
    const threshold = Math.min(this._rcvBuf.capacity / 2, this.options.mss);
    if (free - cur >= threshold) wnd = free;
    if (wnd < cur) wnd = cur;
    const shift = this._rcvShift;
    let field = Math.min(Math.floor(wnd / 2 ** shift), 0xffff);
    if (field * 2 ** shift < cur) field = Math.min(Math.ceil(cur / 2 ** shift), 0xffff);
    this._rcvAdvRight = seqMax(this._rcvAdvRight, seqAdd(this._rcvNxt, field * 2 ** shift));
    return field;
  }

  /** RST in reply to a segment that belongs to no connection (RFC 9293 §3.10.7.1). */
  protected _sendResetFor(seg: TcpRepr): void {
    const rst = resetReplyFor(seg);
    if (!rst) return;
    this._stats.segsOut++;
    this._emit(rst);
  }

  // ---- Helpers ------------------------------------------------------------------------------

  protected _tsNow(now: number): number {
    return Math.floor(now + this._tsOffset) >>> 0;
  }

  /** Sequence number of send-buffer offset 0. */
  protected _dataStart(): number {
    return this._sndUna === this.iss ? seqAdd(this.iss, 1) : this._sndUna;
  }

  /** Sequence number just past the last queued byte (where our FIN goes). */
  protected _dataEnd(): number {
    return this._finQueued ? this._finSeq : seqAdd(this._dataStart(), this._sndBuf.length);
  }

  protected _canQueue(): boolean {
    const s = this._state;
    return !this._finQueued &&
      (s === "ESTABLISHED" || s === "CLOSE-WAIT" || s === "SYN-SENT" || s === "SYN-RECEIVED");
  }

  protected _sendsData(): boolean {
    const s = this._state;
    return s === "ESTABLISHED" || s === "CLOSE-WAIT" || s === "FIN-WAIT-1" || s === "CLOSING" ||
      s === "LAST-ACK";
  }

  protected _synchronized(): boolean {
    const s = this._state;
    return s !== "CLOSED" && s !== "LISTEN" && s !== "SYN-SENT" && s !== "SYN-RECEIVED";
  }

  protected _drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
}
