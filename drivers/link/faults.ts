/**
 * A fault-injecting cable wrapper, like Linux netem: loss, duplication, reordering, corruption,
 * fixed delay and a rate limit, applied independently to frames in both directions. All random
 * choices come from a seeded {@link Prng}, and all timing from the {@link Clock} passed in, so a
 * run with the same seed, clock and traffic behaves identically.
 *
 * Each frame goes through these stages, in order:
 *
 *     loss → corrupt → reorder → duplicate → rate limit → delay → far side
 *
 * - reorder: with probability `reorder` a frame is held back and released right after the next
 *   frame, or after `reorderHoldMs` if no frame follows.
 * - corrupt: flips one random bit in one random byte after the 14-byte Ethernet header (frames
 *   with no payload are never corrupted).
 * - rate limit: a token bucket of `rateBurstBytes`; frames that do not fit wait in a FIFO of
 *   up to `rateQueueFrames` frames, and frames beyond that are dropped.
 * - delay: every frame arrives `delayMs` after it leaves the rate limiter, plus or minus up to
 *   `jitterMs` (uniform, as netem's default distribution); with jitter, frames may overtake
 *   each other, as they do under netem.
 * - bursty loss (Gilbert–Elliott, as netem's `loss gemodel p r`): with `geP` set, the link is in
 *   a good or a bad state; good → bad with probability `geP` per frame, bad → good with `geR`.
 *   Every frame in the bad state is lost; in the good state `loss` applies.
 *
 * A wrapper's options can be changed while frames flow ({@link FaultyPort.configure}): `tc
 * qdisc change` for the cable. A wrapper with no fault configured passes frames straight on.
 *
 * @example
 * const port = withFaults(sw.connect(), "loss=0.05,delay=10ms,rate=100mbit,seed=1", clock);
 * port.send(frame);
 * console.log(port.stats.out.lost);
 */

import type { Clock, Timer } from "../../kernel/clock.ts";
import type { LinkPort } from "./port.ts";
import { Prng } from "./prng.ts";

/** Ethernet header length; corruption only touches bytes after it. */
const ETH_HEADER_LEN = 14;

/** What to inject. Every field is optional; the default is no fault at all. */
export interface FaultOptions {
  /** Probability a frame is lost, 0..1. Default 0. Spec key `loss`. */
  loss?: number;
  /** Probability a frame is delivered twice, 0..1. Default 0. Spec key `dup`. */
  dup?: number;
  /** Probability a frame is held back behind the next one, 0..1. Default 0. Spec `reorder`. */
  reorder?: number;
  /** Probability one bit of a frame's payload is flipped, 0..1. Default 0. Spec `corrupt`. */
  corrupt?: number;
  /** Fixed one-way delay in ms. Default 0 (delivered synchronously). Spec key `delay`. */
  delayMs?: number;
  /** Delay varies uniformly by up to ± this many ms (at least 0 in all). Spec key `jitter`. */
  jitterMs?: number;
  /** Gilbert–Elliott bursty loss: good → bad per frame, 0..1. Default off. Spec key `gep`. */
  geP?: number;
  /** Gilbert–Elliott: bad → good per frame, 0..1. Default 1 when `geP` is set. Spec `ger`. */
  geR?: number;
  /** Longest a reordered frame waits for a successor, in ms. Default 1. Spec key `hold`. */
  reorderHoldMs?: number;
  /** Rate limit in bits per second; undefined = unlimited. Spec key `rate`. */
  rateBitsPerSec?: number;
  /** Frames that may wait for the rate limiter before drops. Default 1000. Spec `limit`. */
  rateQueueFrames?: number;
  /** Token bucket size in bytes. Default: 1 ms at the rate, at least 1514. Spec `burst`. */
  rateBurstBytes?: number;
  /** PRNG seed, an unsigned 32-bit integer. Default 1. Spec key `seed`. */
  seed?: number;
}

/** Counters for one direction of a fault-injecting wrapper. */
export interface FaultDirectionStats {
  /** Frames that entered this direction. */
  frames: number;
  /** Frames (duplicates included) handed to the far side. */
  delivered: number;
  lost: number;
  duplicated: number;
  /** Held frames that were overtaken by a later frame. */
  reordered: number;
  corrupted: number;
  /** Frames dropped because the rate limiter's queue was full. */
  rateDropped: number;
  /** Frames dropped because the wrapper was closed or no handler was registered. */
  closedDropped: number;
}

/** Counters of a {@link withFaults} wrapper: `out` = frames sent, `in` = frames received. */
export interface FaultStats {
  out: FaultDirectionStats;
  in: FaultDirectionStats;
}

/** A port with faults injected, its counters, and a way to change the faults while it runs. */
export type FaultyPort = LinkPort & {
  readonly stats: FaultStats;
  /**
   * Replace the faults: `out` for frames sent, `inbound` (default: the same) for frames
   * received. Frames already held keep their place. Throws {@link FaultSpecError} on bad options.
   */
  configure(out: FaultOptions, inbound?: FaultOptions): void;
};

/** A fault spec string or option that is malformed or out of range. */
export class FaultSpecError extends Error {
  override name = "FaultSpecError";
}

type _SpecKey =
  | "loss"
  | "dup"
  | "reorder"
  | "corrupt"
  | "delay"
  | "jitter"
  | "gep"
  | "ger"
  | "hold"
  | "rate"
  | "limit"
  | "burst"
  | "seed";

const _SPEC_KEYS: readonly _SpecKey[] = [
  "loss",
  "dup",
  "reorder",
  "corrupt",
  "delay",
  "jitter",
  "gep",
  "ger",
  "hold",
  "rate",
  "limit",
  "burst",
  "seed",
];

/**
 * Parse `key=value` pairs separated by commas into {@link FaultOptions}.
 *
 * Probabilities are decimals in 0..1 or percentages (`5%`); durations take `us`, `ms` or `s`
 * (a bare number is ms); rates take `bit`, `kbit`, `mbit` or `gbit` (decimal multiples; a bare
 * number is bit/s). Throws {@link FaultSpecError} on unknown keys, repeats or bad values.
 *
 * @example
 * parseFaultSpec("loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=10ms,rate=100mbit,seed=1")
 */
export function parseFaultSpec(spec: string): FaultOptions {
  const opts: FaultOptions = {};
  const seen = new Set<string>();
  const fail = (why: string): never => {
    throw new FaultSpecError(`Cannot parse fault spec "${spec}": ${why}`);
  };
  for (const raw of spec.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) fail(`"${part}" is not of the form key=value`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!_isSpecKey(key)) fail(`unknown key "${key}" (known keys: ${_SPEC_KEYS.join(", ")})`);
    if (seen.has(key)) fail(`key "${key}" given twice`);
    seen.add(key);
    const bad = (what: string): never => fail(`bad value "${value}" for ${key}: ${what}`);
    const k = key as _SpecKey;
    switch (k) {
      case "loss":
      case "dup":
      case "reorder":
      case "corrupt":
        opts[k] = _parseProbability(value) ?? bad("expected a probability in 0..1 or 0%..100%");
        break;
      case "delay":
        opts.delayMs = _parseDuration(value) ?? bad("expected a duration like 10ms, 500us, 1s");
        break;
      case "jitter":
        opts.jitterMs = _parseDuration(value) ?? bad("expected a duration like 5ms");
        break;
      case "gep":
        opts.geP = _parseProbability(value) ?? bad("expected a probability in 0..1 or 0%..100%");
        break;
      case "ger":
        opts.geR = _parseProbability(value) ?? bad("expected a probability in 0..1 or 0%..100%");
        break;
      case "hold":
        opts.reorderHoldMs = _parseDuration(value) ?? bad("expected a duration like 1ms");
        break;
      case "rate": {
        const r = _parseRate(value);
        if (r === undefined || r <= 0) bad("expected a positive rate like 100mbit");
        opts.rateBitsPerSec = r;
        break;
      }
      case "limit":
        opts.rateQueueFrames = _parseCount(value, 0) ?? bad("expected a whole number of frames");
        break;
      case "burst":
        opts.rateBurstBytes = _parseCount(value, 1) ?? bad("expected a positive whole byte count");
        break;
      case "seed":
        opts.seed = _parseCount(value, 0, 0xffff_ffff) ??
          bad("expected an integer in 0..4294967295");
        break;
      default: {
        const never: never = k;
        fail(`unhandled key ${never}`);
      }
    }
  }
  return opts;
}

/** Check a {@link FaultOptions} object; throws {@link FaultSpecError} naming the bad field. */
export function validateFaultOptions(o: FaultOptions): void {
  const bad = (field: string, why: string): never => {
    throw new FaultSpecError(`Invalid fault option ${field}: ${why}`);
  };
  for (const f of ["loss", "dup", "reorder", "corrupt", "geP", "geR"] as const) {
    const v = o[f];
    if (v !== undefined && !(v >= 0 && v <= 1)) bad(f, `${v} is not a probability in 0..1`);
  }
  for (const f of ["delayMs", "jitterMs", "reorderHoldMs"] as const) {
    const v = o[f];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) bad(f, `${v} is not a duration`);
  }
  const r = o.rateBitsPerSec;
  if (r !== undefined && !(r > 0 && Number.isFinite(r))) bad("rateBitsPerSec", `${r} is not > 0`);
  const q = o.rateQueueFrames;
  if (q !== undefined && !(Number.isInteger(q) && q >= 0)) bad("rateQueueFrames", `${q}`);
  const b = o.rateBurstBytes;
  if (b !== undefined && !(Number.isInteger(b) && b >= 1)) bad("rateBurstBytes", `${b}`);
  const s = o.seed;
  if (s !== undefined && !(Number.isInteger(s) && s >= 0 && s <= 0xffff_ffff)) bad("seed", `${s}`);
}

/**
 * Wrap `port` so frames in both directions suffer the faults in `opts` (an options object or
 * a spec string for {@link parseFaultSpec}). Throws {@link FaultSpecError} on bad options.
 */
export function withFaults(
  port: LinkPort,
  opts: FaultOptions | string,
  clock: Clock,
): FaultyPort {
  const o = typeof opts === "string" ? parseFaultSpec(opts) : opts;
  validateFaultOptions(o);
  const seed = o.seed ?? 1;
  const stats: FaultStats = { out: _emptyStats(), in: _emptyStats() };
  let handler: ((frame: Uint8Array) => void) | undefined;
  let closed = false;
  const outbound = new _Pipeline(o, clock, new Prng(seed), stats.out, (f) => {
    port.send(f);
    return true;
  });
  const inbound = new _Pipeline(o, clock, new Prng(seed ^ 0x9e37_79b9), stats.in, (f) => {
    if (!handler) return false;
    handler(f);
    return true;
  });
  port.onFrame((f) => {
    if (closed) {
      stats.in.closedDropped++;
      return;
    }
    inbound.push(f);
  });
  return {
    stats,
    send(frame: Uint8Array): void {
      if (closed) {
        stats.out.closedDropped++;
        return;
      }
      outbound.push(frame);
    },
    onFrame(h: (frame: Uint8Array) => void): void {
      handler = h;
    },
    configure(out: FaultOptions, inOpts: FaultOptions = out): void {
      validateFaultOptions(out);
      validateFaultOptions(inOpts);
      outbound.configure(out);
      inbound.configure(inOpts);
    },
    close(): void {
      if (closed) return;
      closed = true;
      handler = undefined;
      outbound.stop();
      inbound.stop();
      port.close();
    },
  };
}

/** One direction's stages; see the module comment for their order. */
class _Pipeline {
  #o: FaultOptions;
  /** No fault configured and nothing held or queued: frames go straight out. */
  #idle = false;
  /** Gilbert–Elliott state: true while bad. */
  #geBad = false;
  readonly #clock: Clock;
  readonly #rng: Prng;
  readonly #stats: FaultDirectionStats;
  readonly #out: (frame: Uint8Array) => boolean;
  #stopped = false;
  // reorder
  #held: Uint8Array | undefined;
  #holdTimer: Timer | undefined;
  // rate limit (token bucket, in bits)
  #rate: number | undefined;
  #capacityBits = 0;
  #queueLimit = 0;
  #tokens = 0;
  #lastRefill: number;
  #rateQueue: Uint8Array[] = [];
  #rateTimer: Timer | undefined;
  // delay (FIFO: the delay is constant, so arrival order equals departure order)
  #delayQueue: Array<{ at: number; frame: Uint8Array }> = [];
  #delayTimer: Timer | undefined;

  constructor(
    o: FaultOptions,
    clock: Clock,
    rng: Prng,
    stats: FaultDirectionStats,
    out: (frame: Uint8Array) => boolean,
  ) {
    this.#o = o;
    this.#clock = clock;
    this.#rng = rng;
    this.#stats = stats;
    this.#out = out;
    this.#lastRefill = clock.now();
    this.configure(o);
  }

  /** Take new options; queued frames stay queued (the rate queue drains at the new rate). */
  configure(o: FaultOptions): void {
    this.#o = o;
    this.#rate = o.rateBitsPerSec;
    const burst = o.rateBurstBytes ?? Math.max(1514, Math.ceil((this.#rate ?? 0) / 8 / 1000));
    this.#capacityBits = burst * 8;
    this.#queueLimit = o.rateQueueFrames ?? 1000;
    this.#tokens = this.#capacityBits;
    this.#lastRefill = this.#clock.now();
    if (o.geP === undefined) this.#geBad = false;
    if (this.#rate === undefined && this.#rateQueue.length > 0) {
      this.#rateTimer?.cancel();
      this.#rateTimer = undefined;
      const queued = this.#rateQueue;
      this.#rateQueue = [];
      for (const f of queued) this.#delay(f);
    } else if (this.#rateTimer) {
      this.#rateTimer.cancel();
      this.#rateTimer = undefined;
      this.#armRateTimer();
    }
    this.#idle = !o.loss && !o.dup && !o.reorder && !o.corrupt && !o.delayMs && !o.jitterMs &&
      o.geP === undefined && this.#rate === undefined;
  }

  push(frame: Uint8Array): void {
    const s = this.#stats;
    s.frames++;
    if (
      this.#idle && !this.#held && this.#rateQueue.length === 0 && this.#delayQueue.length === 0
    ) {
      return this.#emit(frame);
    }
    if (this.#lose()) {
      s.lost++;
      return;
    }
    if (frame.length > ETH_HEADER_LEN && this.#rng.chance(this.#o.corrupt ?? 0)) {
      const at = ETH_HEADER_LEN + this.#rng.nextInt(frame.length - ETH_HEADER_LEN);
      frame[at] ^= 1 << this.#rng.nextInt(8);
      s.corrupted++;
    }
    const held = this.#held;
    if (held) {
      this.#held = undefined;
      this.#holdTimer?.cancel();
      this.#holdTimer = undefined;
      this.#duplicate(frame);
      s.reordered++;
      this.#duplicate(held);
      return;
    }
    if (this.#rng.chance(this.#o.reorder ?? 0)) {
      this.#held = frame;
      this.#holdTimer = this.#clock.schedule(this.#o.reorderHoldMs ?? 1, () => {
        this.#holdTimer = undefined;
        const f = this.#held;
        this.#held = undefined;
        if (f) this.#duplicate(f);
      });
      return;
    }
    this.#duplicate(frame);
  }

  /** Whether this frame is lost: plain loss, or the Gilbert–Elliott chain's bad state. */
  #lose(): boolean {
    const o = this.#o;
    if (o.geP !== undefined) {
      this.#geBad = this.#geBad ? !this.#rng.chance(o.geR ?? 1) : this.#rng.chance(o.geP);
      if (this.#geBad) return true;
    }
    return this.#rng.chance(o.loss ?? 0);
  }

  stop(): void {
    this.#stopped = true;
    this.#holdTimer?.cancel();
    this.#rateTimer?.cancel();
    this.#delayTimer?.cancel();
    this.#held = undefined;
    this.#rateQueue = [];
    this.#delayQueue = [];
  }

  #duplicate(frame: Uint8Array): void {
    const copy = this.#rng.chance(this.#o.dup ?? 0) ? frame.slice() : undefined;
    this.#limit(frame);
    if (copy) {
      this.#stats.duplicated++;
      this.#limit(copy);
    }
  }

  #limit(frame: Uint8Array): void {
    if (this.#rate === undefined) return this.#delay(frame);
    if (this.#rateQueue.length === 0 && this.#take(frame)) return this.#delay(frame);
    if (this.#rateQueue.length >= this.#queueLimit) {
      this.#stats.rateDropped++;
      return;
    }
    this.#rateQueue.push(frame);
    this.#armRateTimer();
  }

  /** Spend tokens for `frame` if the bucket allows it now. */
  #take(frame: Uint8Array): boolean {
    const rate = this.#rate ?? Infinity;
    const now = this.#clock.now();
    this.#tokens = Math.min(
      this.#capacityBits,
      this.#tokens + (now - this.#lastRefill) * rate / 1000,
    );
    this.#lastRefill = now;
    const need = Math.min(frame.length * 8, this.#capacityBits);
    if (this.#tokens + 1e-6 < need) return false;
    this.#tokens -= frame.length * 8; // may go below 0 for frames bigger than the bucket
    return true;
  }

  #armRateTimer(): void {
    if (this.#rateTimer || this.#rateQueue.length === 0) return;
    const head = this.#rateQueue[0];
    const need = Math.min(head.length * 8, this.#capacityBits);
    const waitMs = Math.max(0, (need - this.#tokens) * 1000 / (this.#rate ?? Infinity));
    this.#rateTimer = this.#clock.schedule(waitMs, () => {
      this.#rateTimer = undefined;
      while (this.#rateQueue.length > 0 && this.#take(this.#rateQueue[0])) {
        const f = this.#rateQueue.shift();
        if (f) this.#delay(f);
        if (this.#stopped) return;
      }
      this.#armRateTimer();
    });
  }

  #delay(frame: Uint8Array): void {
    const j = this.#o.jitterMs ?? 0;
    const d = Math.max(
      0,
      (this.#o.delayMs ?? 0) + (j > 0 ? (this.#rng.nextFloat() * 2 - 1) * j : 0),
    );
    if (d <= 0 && this.#delayQueue.length === 0) return this.#emit(frame);
    const q = this.#delayQueue;
    // Ordered by arrival time. Without jitter a frame never overtakes one sent before it, even
    // when the delay was just lowered: it waits for the tail.
    const at = j > 0 ? this.#clock.now() + d : Math.max(this.#clock.now() + d, q.at(-1)?.at ?? 0);
    let i = q.length;
    while (i > 0 && q[i - 1].at > at) i--;
    q.splice(i, 0, { at, frame });
    if (i === 0) {
      this.#delayTimer?.cancel();
      this.#delayTimer = undefined;
    }
    if (!this.#delayTimer) this.#armDelayTimer();
  }

  #armDelayTimer(): void {
    const head = this.#delayQueue[0];
    if (!head) return;
    this.#delayTimer = this.#clock.schedule(head.at - this.#clock.now(), () => {
      this.#delayTimer = undefined;
      const now = this.#clock.now();
      while (this.#delayQueue.length > 0 && this.#delayQueue[0].at <= now) {
        const item = this.#delayQueue.shift();
        if (item) this.#emit(item.frame);
        if (this.#stopped) return;
      }
      this.#armDelayTimer();
    });
  }

  #emit(frame: Uint8Array): void {
    if (this.#stopped || !this.#out(frame)) {
      this.#stats.closedDropped++;
      return;
    }
    this.#stats.delivered++;
  }
}

function _emptyStats(): FaultDirectionStats {
  return {
    frames: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    rateDropped: 0,
    closedDropped: 0,
  };
}

function _isSpecKey(k: string): k is _SpecKey {
  return (_SPEC_KEYS as readonly string[]).includes(k);
}

const _NUMBER = /^(\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?/i;

/** Split "10ms" into [10, "ms"]; undefined if it does not start with a plain number. */
function _numberAndUnit(s: string): [number, string] | undefined {
  const m = _NUMBER.exec(s);
  if (!m) return undefined;
  const n = Number(m[0]);
  if (!Number.isFinite(n)) return undefined;
  return [n, s.slice(m[0].length).trim().toLowerCase()];
}

function _parseProbability(s: string): number | undefined {
  const nu = _numberAndUnit(s);
  if (!nu) return undefined;
  const [n, unit] = nu;
  const p = unit === "%" ? n / 100 : unit === "" ? n : NaN;
  return p >= 0 && p <= 1 ? p : undefined;
}

const _DURATION_MS: Record<string, number> = { "": 1, us: 0.001, ms: 1, s: 1000 };

function _parseDuration(s: string): number | undefined {
  const nu = _numberAndUnit(s);
  if (!nu) return undefined;
  return Object.hasOwn(_DURATION_MS, nu[1]) ? nu[0] * _DURATION_MS[nu[1]] : undefined;
}

const _RATE_BITS: Record<string, number> = {
  "": 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
};

function _parseRate(s: string): number | undefined {
  const nu = _numberAndUnit(s);
  if (!nu) return undefined;
  return Object.hasOwn(_RATE_BITS, nu[1]) ? nu[0] * _RATE_BITS[nu[1]] : undefined;
}

function _parseCount(s: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n >= min && n <= max ? n : undefined;
}
