/**
 * CUBIC congestion window (RFC 9438): cubic growth around W_max after a loss with beta 0.7 and
 * C = 0.4, a Reno-friendly estimate (§4.3) as a floor, fast convergence (§4.7), and standard
 * slow start below ssthresh.
 */

import { type CongestionControl, initialWindow } from "./congestion.ts";

const BETA = 0.7;
const C = 0.4;

/** RFC 9438 congestion control. */
export class Cubic implements CongestionControl {
  cwnd: number;
  ssthresh = 0x7fff_ffff;
  #mss: number;
  #wMax = 0;
  #k = 0;
  #epoch: number | undefined;
  #wEst = 0;

  constructor(mss: number) {
    this.#mss = mss;
    this.cwnd = initialWindow(mss);
  }

  setMss(mss: number): void {
    if (this.cwnd === initialWindow(this.#mss)) this.cwnd = initialWindow(mss);
    this.#mss = mss;
  }

  onAck(now: number, acked: number, srtt: number): void {
    const mss = this.#mss;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(acked, 2 * mss);
      return;
    }
    if (this.#epoch === undefined) {
      this.#epoch = now;
      const w = this.cwnd / mss;
      if (this.#wMax < w) this.#wMax = w;
      this.#k = Math.cbrt((this.#wMax - w) / C);
      this.#wEst = w;
    }
    const cwndSeg = this.cwnd / mss;
    const t = (now - this.#epoch + srtt) / 1000;
    const target = C * (t - this.#k) ** 3 + this.#wMax;
    // Reno-friendly region (§4.3): alpha = 3(1-beta)/(1+beta) segments per RTT.
    this.#wEst += ((3 * (1 - BETA)) / (1 + BETA)) * (acked / mss) / cwndSeg;
    const goal = Math.max(target, this.#wEst);
    if (goal > cwndSeg) {
      const inc = Math.min(goal - cwndSeg, cwndSeg / 2) / cwndSeg * (acked / mss);
      this.cwnd += Math.max(0, inc * mss);
    }
  }

  onLoss(_now: number, _flight: number): void {
    const w = this.cwnd / this.#mss;
    // Fast convergence (§4.7).
    this.#wMax = w < this.#wMax ? (w * (1 + BETA)) / 2 : w;
    this.ssthresh = Math.max(Math.floor(this.cwnd * BETA), 2 * this.#mss);
    this.cwnd = this.ssthresh;
    this.#epoch = undefined;
  }

  onRto(now: number, flight: number, repeated = false): void {
    if (!repeated) this.onLoss(now, flight); // W_max and ssthresh stay on a repeated timeout
    this.cwnd = this.#mss;
    this.#epoch = undefined;
  }
}
