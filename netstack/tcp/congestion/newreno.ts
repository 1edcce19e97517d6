/**
 * NewReno congestion window (RFC 5681 slow start and congestion avoidance; the recovery part of
 * RFC 6582 lives in the connection). Slow start uses appropriate byte counting with L = 2*MSS
 * (RFC 3465); congestion avoidance grows cwnd by one MSS per cwnd of acknowledged bytes.
 */

import { type CongestionControl, initialWindow } from "./congestion.ts";

/** RFC 5681 congestion control. */
export class NewReno implements CongestionControl {
  cwnd: number;
  ssthresh = 0x7fff_ffff;
  #mss: number;
  #acc = 0;

  constructor(mss: number) {
    this.#mss = mss;
    this.cwnd = initialWindow(mss);
  }

  setMss(mss: number): void {
    if (this.cwnd === initialWindow(this.#mss)) this.cwnd = initialWindow(mss);
    this.#mss = mss;
  }

  onAck(_now: number, acked: number, _srtt: number): void {
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * this.#mss);
      return;
    }
    this.#acc += acked;
    if (this.#acc >= this.cwnd) {
      this.#acc -= this.cwnd;
      this.cwnd += this.#mss;
    }
  }

  onLoss(_now: number, flight: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.#mss);
    this.cwnd = this.ssthresh;
    this.#acc = 0;
  }

  onRto(_now: number, flight: number, repeated = false): void {
    if (!repeated) this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.#mss);
    this.cwnd = this.#mss;
    this.#acc = 0;
  }
}
