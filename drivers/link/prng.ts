/**
 * A small seeded pseudo-random generator (mulberry32) for deterministic fault injection and
 * simulation. Not for cryptography.
 */

/** Deterministic 32-bit PRNG: the same seed always yields the same sequence. */
export class Prng {
  #state: number;

  /** Start a sequence from `seed` (any number; only its low 32 bits are used). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next value as an unsigned 32-bit integer. */
  nextUint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** The next value as a float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** The next value as an integer in [0, bound) for a positive integer `bound`. */
  nextInt(bound: number): number {
    return Math.floor(this.nextFloat() * bound);
  }

  /** True with probability `p` (always false for p <= 0, always true for p >= 1). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.nextFloat() < p;
  }
}
