/**
 * Everything a TCP connection sends (RFC 9293 §3.8.6, §3.10.7): new data as the windows, Nagle
 * and SWS avoidance allow, retransmissions, SYNs, ACKs, the window it advertises, and RSTs for
 * segments that belong to no connection.
 */

import { TcpFlag, type TcpOptions, tcpOptionsLength, type TcpRepr } from "../wire/tcp.ts";
import { resetReplyFor } from "./reset.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqMax, seqSub } from "./seqnum.ts";
import { DEFAULT_PEER_MSS, TcpControlBlock, TS_OVERHEAD } from "./tcb.ts";

const { FIN, SYN, RST, PSH, ACK, URG } = TcpFlag;
const MAX_RCV_WINDOW_UNSCALED = 0xffff;

/** The output layer of a TCP connection: segments out, built from the control block. */
export abstract class TcpOutput extends TcpControlBlock {
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
    const fullMss = this._sndMss + fixed >= this.options.mss &&
      this._halfWindowMss() === this._sndMss;
    const gso = fullMss ? this.options.gsoMax : 0;
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
        // Minshall's Nagle, as Linux's tcp_nagle_check: a small segment waits only while an
        // earlier small one is unacknowledged (RFC 1122 §4.2.3.4 allows it); tcp_nagle_test:
        // no Nagle in urgent mode.
        const smallInFlight = seqGt(this._sndSml, this._sndUna) &&
          seqLe(this._sndSml, this._sndNxt);
        const nagleOk = this.options.nodelay || !smallInFlight || this._urgSend.up !== undefined;
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
    if (isNew && len > 0) this._quickAck.dataSent(now, this.options.delayedAckMs);
    // tcp_minshall_update: remember where the last segment shorter than the MSS ended (a
    // super-segment's tail piece counts too).
    if (isNew && len % this._currentMss() !== 0) this._sndSml = end;
    if (this._inRecovery) this._prrOut += len;
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
    const synAck = this._state !== "SYN-SENT"; // their SYN came: SYN-RECEIVED, or closed there
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
    if (this._sackOk && ack && (this._rcvBuf.hasHoles || this._dsack)) {
      // A D-SACK block goes first (RFC 2883 §4), the ordinary blocks after it.
      const max = this._tsOk ? 3 : 4;
      const d = this._dsack ? [this._dsack] : [];
      options.sack = [...d, ...this._rcvBuf.sackBlocks(max - d.length)];
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
    const mss = this._halfWindowMss();
    if (!this._sackOk || !(this._rcvBuf.hasHoles || this._dsack)) return mss;
    const fixed = this._tsOk ? TS_OVERHEAD : 0;
    const extra = tcpOptionsLength(this.#segmentOptions(0, true)) - fixed;
    return Math.max(1, mss - extra);
  }

  /**
   * The send MSS bounded to half the largest window the peer offered (the whole of it when
   * that is at most 536 bytes), as Linux's tcp_bound_to_half_wnd: a window of under two MSS
   * still carries two segments, so the ACK clock keeps going (RFC 9293 §3.8.6.2.1 leaves the
   * segment size to the sender). Never below 68 bytes of segment less the TCP header.
   */
  protected _halfWindowMss(): number {
    const max = this._maxSndWnd;
    const cutoff = max > DEFAULT_PEER_MSS ? Math.floor(max / 2) : max;
    if (cutoff === 0 || this._sndMss <= cutoff) return this._sndMss;
    const header = 20 + (this._tsOk ? TS_OVERHEAD : 0);
    return Math.max(cutoff, 68 - header);
  }

  protected _emitSeg(seq: number, flags: number, payload: Uint8Array, o: TcpOptions): void {
    const window = flags & RST ? 0 : this._advertise((flags & SYN) !== 0);
    if (o.sack) this._dsack = undefined; // reported once (Linux's tcp_options_write)
    if (flags & ACK) {
      if (this._rcvUnacked > 0) this._quickAck.ackSent();
      this._lastAckSent = this._rcvNxt;
      this._delackAt = undefined;
      this._rcvUnacked = 0;
      this._ackNow = false;
    }
    const urgent = flags & (SYN | RST) ? undefined : this._urgSend.pointerFor(seq, this._sndNxt);
    if (urgent !== undefined) flags |= URG;
    this._stats.segsOut++;
    this._emit({
      srcPort: this.localPort,
      dstPort: this.remotePort,
      seq: seq >>> 0,
      ack: flags & ACK ? this._rcvNxt : 0,
      flags,
      window,
      urgent: urgent ?? 0,
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
}
