/**
 * Keyed hashing and per-boot secrets for the values an off-path attacker must not predict: ISNs
 * (RFC 6528), SYN cookies (RFC 4987), ephemeral ports (RFC 6056) and IP identifications
 * (RFC 7739). HalfSipHash-2-4 is the keyed function (Linux uses SipHash for the same jobs).
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

/** A 64-bit secret and a source of random numbers. */
export interface Secret {
  k0: number;
  k1: number;
  /** A random 32-bit number. */
  random(): number;
}

/**
 * A secret from the system's CSPRNG, drawn anew at every boot; or, for the simulator and tests
 * only, one derived from `seed` (xorshift32), so runs repeat.
 */
export function secretFrom(seed?: number): Secret {
  if (seed === undefined) {
    const k = crypto.getRandomValues(new Uint32Array(2));
    return {
      k0: k[0],
      k1: k[1],
      random: () => crypto.getRandomValues(new Uint32Array(1))[0],
    };
  }
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  return { k0: next(), k1: next(), random: next };
}
