/**
 * Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), where M is a 4 µs timer
 * and F a keyed pseudo-random function. F here is HalfSipHash-2-4 over the connection id bytes;
 * the 64-bit secret is a constructor argument so tests are deterministic.
 */

const rotl = (x: number, b: number) => ((x << b) | (x >>> (32 - b))) >>> 0;

/** HalfSipHash-2-4 with a 32-bit result over `data` keyed by `k0`, `k1`. */
export function halfSipHash(k0: number, k1: number, data: Uint8Array): number {
  let v0 = k0 >>> 0;
  let v1 = k1 >>> 0;
  let v2 = (0x6c796765 ^ k0) >>> 0;
  let v3 = (0x74656462 ^ k1) >>> 0;
  const round = () => {
    v0 = (v0 + v1) >>> 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) >>> 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) >>> 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) >>> 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  };
  const full = data.length & ~3;
  for (let i = 0; i < full; i += 4) {
    const m = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let b = (data.length << 24) >>> 0;
  for (let i = full; i < data.length; i++) b |= data[i] << (8 * (i - full));
  b >>>= 0;
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  for (let i = 0; i < 4; i++) round();
  return (v1 ^ v3) >>> 0;
}

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
