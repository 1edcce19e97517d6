/**
 * Time as an input. Protocol and kernel code read the time and ask for wake-ups only through a
 * {@link Clock}; workers use {@link RealClock}, tests use {@link ManualClock} and advance it.
 *
 * Times are milliseconds as floating-point numbers on a monotonic scale starting near 0.
 */
import { clearImmediate, setImmediate } from "node:timers";

/** A scheduled wake-up that can be cancelled. */
export interface Timer {
  /** Cancel the wake-up; cancelling twice or after it fired is harmless. */
  cancel(): void;
}

/** A source of monotonic time and wake-ups. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Call `fn` once, `delayMs` from now (0 or less: as soon as possible, never synchronously). */
  schedule(delayMs: number, fn: () => void): Timer;
}

/**
 * Wall-clock time from `performance.now()` and `setTimeout`, for workers and tools. Zero-delay
 * wake-ups use `setImmediate`: nested `setTimeout(fn, 0)` calls are clamped to 4 ms, which
 * would put a 4 ms stall into every turn of a packet loop.
 */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }

  schedule(delayMs: number, fn: () => void): Timer {
    if (delayMs <= 0) {
      const id = setImmediate(fn);
      return { cancel: () => clearImmediate(id) };
    }
    // setTimeout treats delays over 2^31-1 ms as 1 ms; clamp instead (about 24.8 days).
    const id = setTimeout(fn, Math.min(delayMs, MAX_TIMEOUT));
    return { cancel: () => clearTimeout(id) };
  }
}

/** The longest delay setTimeout honours. */
const MAX_TIMEOUT = 2 ** 31 - 1;

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** A clock that only moves when told to, for deterministic tests and simulation. */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  schedule(delayMs: number, fn: () => void): Timer {
    const p: Pending = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn, live: true };
    this.#pending.push(p);
    return { cancel: () => (p.live = false) };
  }

  /** Number of wake-ups still waiting. */
  get pendingCount(): number {
    return this.#pending.filter((p) => p.live).length;
  }

  /** Time of the earliest pending wake-up, if any. */
  nextAt(): number | undefined {
    let best: number | undefined;
    for (const p of this.#pending) if (p.live && (best === undefined || p.at < best)) best = p.at;
    return best;
  }

  /** Move time forward by `ms`, firing every wake-up that falls due, in time order. */
  advance(ms: number): void {
    this.advanceTo(this.#now + ms);
  }

  /** Move time forward to `t`, firing due wake-ups in order (ones they schedule included). */
  advanceTo(t: number): void {
    for (;;) {
      this.#pending = this.#pending.filter((p) => p.live);
      let next: Pending | undefined;
      for (const p of this.#pending) {
        if (p.at <= t && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) {
          next = p;
        }
      }
      if (!next) break;
      next.live = false;
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = Math.max(this.#now, t);
  }

  /** Fire everything already due without moving time. */
  runDue(): void {
    this.advanceTo(this.#now);
  }
}
