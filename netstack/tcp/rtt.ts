/**
 * Retransmission timeout estimator (RFC 6298): SRTT/RTTVAR smoothing, exponential backoff and
 * the bounds Linux uses (min RTO 200 ms by default, max 60 s). Karn's algorithm is the caller's
 * part: never feed a sample taken from a retransmitted segment unless timestamps disambiguate it.
 */

/** RTO after a handshake that gave no RTT sample (RFC 6298 §5.7, Linux's TCP_TIMEOUT_FALLBACK). */
export const RTO_FALLBACK = 3000;

/** Tuning for {@link RttEstimator}; all values in milliseconds. */
export interface RttOptions {
  /** RTO before the first sample (RFC 6298 §2.1). Default 1000. */
  initialRto?: number;
  /** Lower bound on the RTO. Default 200 (Linux); RFC 6298 suggests 1000. */
  minRto?: number;
  /** Upper bound on the RTO, also after backoff. Default 60000. */
  maxRto?: number;
  /** Clock granularity G. Default 1. */
  granularity?: number;
}

/** Smoothed round-trip time and retransmission timeout of one connection. */
export class RttEstimator {
  #srtt = 0;
  #rttvar = 0;
  #hasSample = false;
  #backoff = 0;
  #initialRto: number;
  readonly #minRto: number;
  readonly #maxRto: number;
  readonly #g: number;

  constructor(options: RttOptions = {}) {
    this.#initialRto = options.initialRto ?? 1000;
    this.#minRto = options.minRto ?? 200;
    this.#maxRto = options.maxRto ?? 60_000;
    this.#g = options.granularity ?? 1;
  }

  /** Smoothed RTT in ms (0 before the first sample). */
  get srtt(): number {
    return this.#srtt;
  }

  /** RTT variation in ms (0 before the first sample). */
  get rttvar(): number {
    return this.#rttvar;
  }

  /** Whether at least one RTT sample was taken. */
  get hasSample(): boolean {
    return this.#hasSample;
  }

  /** Number of consecutive backoffs applied since the last reset. */
  get backoffCount(): number {
    return this.#backoff;
  }

  /** RTO without backoff, clamped to [minRto, maxRto]. */
  get baseRto(): number {
    const raw = this.#hasSample
      ? this.#srtt + Math.max(this.#g, 4 * this.#rttvar)
      : this.#initialRto;
    return Math.min(this.#maxRto, Math.max(this.#minRto, raw));
  }

  /** Current RTO in ms, including exponential backoff (RFC 6298 §5.5), at most maxRto. */
  get rto(): number {
    return Math.min(this.#maxRto, this.baseRto * 2 ** this.#backoff);
  }

  /** Feed one RTT measurement in ms (RFC 6298 §2.2/2.3); also clears the backoff. */
  sample(rtt: number): void {
    const r = Math.max(0, rtt);
    if (!this.#hasSample) {
      this.#srtt = r;
      this.#rttvar = r / 2;
      this.#hasSample = true;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
      this.#srtt = 0.875 * this.#srtt + 0.125 * r;
    }
    this.#backoff = 0;
  }

  /**
   * The handshake ended without an RTT sample (its SYN or SYN-ACK was retransmitted, Karn):
   * until the first sample the RTO is 3 s (RFC 6298 §5.7; Linux's tcp_init_metrics,
   * TCP_TIMEOUT_FALLBACK), or the initial RTO if that is larger.
   */
  noHandshakeSample(): void {
    if (!this.#hasSample) this.#initialRto = Math.max(this.#initialRto, RTO_FALLBACK);
  }

  /** Double the RTO after a retransmission timeout (RFC 6298 §5.5). */
  backoff(): void {
    if (this.baseRto * 2 ** this.#backoff < this.#maxRto) this.#backoff++;
  }

  /** Forget the backoff (new data was acknowledged). */
  resetBackoff(): void {
    this.#backoff = 0;
  }
}
