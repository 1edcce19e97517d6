/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), where M is a 4 µs timer
 * and F a keyed pseudo-random function. F here is HalfSipHash-2-4 over the connection id bytes;
 * the 64-bit secret is a constructor argument so tests are deterministic.
 */
import { halfSipHash } from "../ip/keyed_hash.ts";

export { halfSipHash };

/** RFC 6528 initial-sequence-number generator. */
export class IsnGenerator {
  readonly #k0: number;
  readonly #k1: number;
  readonly #enc = new TextEncoder();

  /** `secret`: at least 8 random bytes, e.g. `crypto.getRandomValues(new Uint8Array(8))`. */
  constructor(secret: Uint8Array) {
    if (secret.length < 8) throw new RangeError("ISN secret must be at least 8 bytes");
    const dv = new DataView(secret.buffer, secret.byteOffset, secret.byteLength);
    this.#k0 = dv.getUint32(0, true);
    this.#k1 = dv.getUint32(4, true);
  }

  /**
   * ISN for a connection at time `now` (ms). `tuple` identifies the connection: the local and
   * remote addresses and ports in any stable encoding (a string or bytes).
   */
  next(now: number, tuple: string | Uint8Array): number {
    const data = typeof tuple === "string" ? this.#enc.encode(tuple) : tuple;
    const m = Math.floor(now * 250) >>> 0; // 4 µs ticks
    return (m + halfSipHash(this.#k0, this.#k1, data)) >>> 0;
  }
}
