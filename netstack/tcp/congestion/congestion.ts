/**
 * The interface a congestion controller offers the connection. The connection owns loss
 * detection and recovery (fast retransmit, SACK or NewReno); the controller owns cwnd growth
 * and the size of the reduction.
 */

/** A congestion-window algorithm (NewReno, CUBIC). */
export interface CongestionControl {
  /** Congestion window in bytes. */
  cwnd: number;
  /** Slow-start threshold in bytes. */
  ssthresh: number;
  /** New data was cumulatively acknowledged outside loss recovery. */
  onAck(now: number, acked: number, srtt: number): void;
  /** Loss detected by duplicate ACKs / SACK: set ssthresh, cwnd = ssthresh (RFC 5681 §3.2). */
  onLoss(now: number, flight: number): void;
  /**
   * Retransmission timeout: cwnd = one segment, and ssthresh per RFC 5681 eq. 4 unless
   * `repeated` (a later timeout of the same loss episode: ssthresh is held, RFC 5681 §3.1).
   */
  onRto(now: number, flight: number, repeated?: boolean): void;
  /** Sender MSS changed (after the handshake). */
  setMss(mss: number): void;
}

/** Initial window per RFC 6928: min(10*MSS, max(2*MSS, 14600)). */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14600));
}
