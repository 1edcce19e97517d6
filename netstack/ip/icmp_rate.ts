/**
 * Rate limiting for generated ICMP errors (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)): a global
 * token bucket (Linux's icmp_msgs_per_sec 1000 with burst 50) and, optionally, one bucket per
 * destination (Linux's icmp_ratelimit: about one per second each, a burst of 6), so one noisy
 * peer cannot use up the global budget. Per-destination buckets are bounded in number; the
 * least recently used one is forgotten first. Driven by `now` (ms).
 *
 * @example
 * const limit = new IcmpRateLimiter({ perDestination: true });
 * if (limit.allow(dst, now)) sendIcmpError(...);
 */
import { TokenBucket } from "./token_bucket.ts";

/** Tunables, with Linux-like defaults. */
export interface IcmpRateOptions {
  /** Global refill rate in messages per second. Default 1000. */
  ratePerSec: number;
  /** Global burst. Default 50. */
  burst: number;
  /** Also limit each destination separately. Default false. */
  perDestination: boolean;
  /** Per-destination refill rate in messages per second. Default 1. */
  perDestRatePerSec: number;
  /** Per-destination burst. Default 6. */
  perDestBurst: number;
  /** Destinations tracked at once; the least recently used is forgotten. Default 1024. */
  maxDestinations: number;
}

/** The default {@link IcmpRateOptions}. */
export const DEFAULT_ICMP_RATE_OPTIONS: IcmpRateOptions = {
  ratePerSec: 1000,
  burst: 50,
  perDestination: false,
  perDestRatePerSec: 1,
  perDestBurst: 6,
  maxDestinations: 1024,
};

/** Decisions by outcome. */
export interface IcmpRateStats {
  /** Messages allowed. */
  allowed: number;
  /** Refused by the global bucket. */
  limitedGlobal: number;
  /** Refused by the destination's bucket. */
  limitedDestination: number;
}

/** Decides whether an ICMP error may be sent now. */
export class IcmpRateLimiter {
  readonly opts: IcmpRateOptions;
  readonly stats: IcmpRateStats = { allowed: 0, limitedGlobal: 0, limitedDestination: 0 };
  #global?: TokenBucket;
  /** In least-recently-used order (Map insertion order, refreshed on use). */
  #perDest = new Map<string | number, TokenBucket>();

  constructor(opts: Partial<IcmpRateOptions> = {}) {
    this.opts = { ...DEFAULT_ICMP_RATE_OPTIONS, ...opts };
  }

  /** Destinations tracked now. */
  get trackedDestinations(): number {
    return this.#perDest.size;
  }

  /**
   * True when an ICMP error to `dst` (an IPv4 number, or any string key such as an IPv6 hex
   * form) may be sent at `now`; takes a token from each bucket involved only when allowed.
   */
  allow(dst: number | string, now: number): boolean {
    const global = this.#global ??= new TokenBucket(this.opts.ratePerSec, this.opts.burst, now);
    let mine: TokenBucket | undefined;
    if (this.opts.perDestination) {
      const key = typeof dst === "number" ? dst >>> 0 : dst;
      mine = this.#perDest.get(key);
      if (mine) this.#perDest.delete(key);
      else {
        mine = new TokenBucket(this.opts.perDestRatePerSec, this.opts.perDestBurst, now);
        while (this.#perDest.size > 0 && this.#perDest.size >= this.opts.maxDestinations) {
          this.#perDest.delete(this.#perDest.keys().next().value as string | number);
        }
      }
      this.#perDest.set(key, mine);
      if (mine.peek(now) < 1) {
        this.stats.limitedDestination++;
        return false;
      }
    }
    if (!global.take(now)) {
      this.stats.limitedGlobal++;
      return false;
    }
    mine?.take(now);
    this.stats.allowed++;
    return true;
  }
}
