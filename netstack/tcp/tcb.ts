/**
 * The transmission control block (RFC 9293 §3.3.1) of a `TcpConnection`: send and receive
 * sequence variables, negotiated options, timer deadlines and the small helpers every layer
 * uses. The layers above extend it: output.ts (segments out), timer_events.ts, ack.ts,
 * segment_arrival.ts and connection.ts (the public API).
 */

import type { ErrnoCode } from "../../kernel/errno.ts";
import type { TcpRepr } from "../wire/tcp.ts";
import type { CongestionControl } from "./congestion/congestion.ts";
import { Cubic } from "./congestion/cubic.ts";
import { NewReno } from "./congestion/newreno.ts";
import { DEFAULT_TCP_OPTIONS, type TcpConnectionOptions, windowShiftFor } from "./options.ts";
import { ReceiveBuffer } from "./receive.ts";
import { QuickAck } from "./quick_ack.ts";
import { RttEstimator } from "./rtt.ts";
import { SackScoreboard } from "./scoreboard.ts";
import { SendBuffer } from "./send.ts";
import { UrgentReceive, UrgentSend } from "./urgent.ts";
import { seqAdd, seqGe, seqGt, seqLe, seqLt } from "./seqnum.ts";
import type { TcpState } from "./state.ts";

/** MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1). */
export const DEFAULT_PEER_MSS = 536;
/** Bytes the timestamp option takes in every segment (RFC 7323 §3). */
export const TS_OVERHEAD = 12;

/** An ICMP error a connection records without failing (Linux's sk_err_soft). */
export type IcmpSoftErrno = ErrnoCode;

/**
 * Errno names a connection can fail with; the socket layer turns them into SO_ERROR. EPIPE: a
 * reset in CLOSE-WAIT, as Linux's tcp_reset (the peer had closed; ECONNRESET elsewhere).
 */
export type TcpErrno = "ECONNREFUSED" | "ECONNRESET" | "EPIPE" | "ETIMEDOUT";

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
  protected _error: TcpErrno | IcmpSoftErrno | undefined;
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
  /** End of the last sub-MSS segment of new data sent (Linux's snd_sml, for Minshall's Nagle). */
  protected _sndSml = 0;
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
  /** A duplicate to report in the next ACK's first SACK block (D-SACK, RFC 2883). */
  protected _dsack: [number, number] | undefined;
  protected _finReceived = false;
  /** Urgent data (RFC 9293 §3.8.5): SND.UP, and the received urgent pointer and byte. */
  protected _urgSend = new UrgentSend();
  protected _urgRecv = new UrgentReceive();

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
  protected _quickAck = new QuickAck();
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
  /** Proportional rate reduction (RFC 6937): bytes delivered and sent since recovery began. */
  protected _prrDelivered = 0;
  protected _prrOut = 0;
  /** cwnd when SACK recovery began (RFC 6937 RecoverFS, Linux's prior_cwnd). */
  protected _priorCwnd = 0;
  /** The last ICMP error that did not end the connection (Linux's sk_err_soft). */
  protected _softError: IcmpSoftErrno | undefined;

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
    this._sndSml = this.iss;
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

  protected _toClosed(): void {
    if (this._state === "TIME-WAIT") this.options.timeWaitBuckets?.give();
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

  /** Sequence number of the next byte the reader takes from the receive buffer. */
  protected _copiedSeq(): number {
    return seqAdd(this._rcvBuf.next, -this._rcvBuf.length);
  }

  /** Sequence number of the next byte the reader will see, an OOB byte taken out included. */
  protected _readerSeq(): number {
    const u = this._urgRecv;
    return u.state !== "none" && u.skipped ? u.seq : this._copiedSeq();
  }

  /**
   * After data arrived or was read: without SO_OOBINLINE take the OOB byte out of the stream
   * once it heads the read queue, and keep the receive sink (the reader's ring) from taking
   * anything from the mark on, so reads stop there.
   */
  protected _urgentSync(): void {
    const u = this._urgRecv;
    const copied = this._copiedSeq();
    if (this._rcvBuf.length > 0 && u.takesOut(copied, this.options.oobInline)) {
      this._rcvBuf.read(1);
      u.skipped = true;
    }
    this._rcvBuf.sinkLimit = u.state === "none" ? undefined : u.seq;
  }

  /**
   * Report received bytes [start, end) as a duplicate in the next ACK (RFC 2883 §4; Linux's
   * tcp_dsack_set, or tcp_dsack_extend when one is pending), if SACK was negotiated.
   */
  protected _reportDuplicate(start: number, end: number): void {
    if (!this._sackOk || !seqLt(start, end)) return;
    const d = this._dsack;
    if (d && seqLe(start, d[1]) && seqGe(end, d[0])) {
      this._dsack = [seqLt(start, d[0]) ? start : d[0], seqGt(end, d[1]) ? end : d[1]];
    } else this._dsack = [start, end];
  }

  protected _drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
}
