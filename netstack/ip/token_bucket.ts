/** A token bucket driven by `now` (ms): `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(readonly rate: number, readonly burst: number, now: number) {
    this.#tokens = burst;
    this.#last = now;
  }

  /** Tokens available at `now` (fractional), without taking any. */
  peek(now: number): number {
    const elapsed = Math.max(0, now - this.#last);
    return Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.rate);
  }

  /** Take one token if there is one. */
  take(now: number): boolean {
    // A clock that steps back refills nothing (and never drains the bucket).
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed / 1000) * this.rate);
    this.#last = Math.max(this.#last, now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
