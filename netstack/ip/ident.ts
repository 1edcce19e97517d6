/**
 * IP identification values as RFC 7739 §5.3.2 recommends and Linux's ip_idents_reserve does: a
 * table of counters indexed by a keyed hash of (source, destination, protocol), each offset by a
 * second keyed hash. Datagrams to one destination still get distinct IDs in sequence (what
 * reassembly needs, RFC 6864), while an off-path host learns nothing from them: one global
 * counter told it how much a host sends to everyone else (idle scans) and let it guess the next
 * ID to forge fragments that poison reassembly (RFC 7739 §3).
 */
import { halfSipHash, type Secret } from "./keyed_hash.ts";

/** Counters in the table (Linux: IP_IDENTS_SZ, 2048). */
const COUNTERS = 2048;

/** Hands out identification values for one IP layer. */
export class IdentGenerator {
  #counters = new Uint32Array(COUNTERS);
  #key = new Uint8Array(33);
  #view = new DataView(this.#key.buffer);

  constructor(readonly secret: Secret) {}

  /** The next ID for a datagram from `src` to `dst` (IPv4 numbers or IPv6 bytes) of `proto`. */
  next(src: number | Uint8Array, dst: number | Uint8Array, proto: number): number {
    const key = this.#keyOf(src, dst, proto);
    const index = halfSipHash(this.secret.k1, this.secret.k0, key) % COUNTERS;
    const offset = halfSipHash(this.secret.k0, this.secret.k1, key);
    return (offset + this.#counters[index]++) >>> 0;
  }

  #keyOf(src: number | Uint8Array, dst: number | Uint8Array, proto: number): Uint8Array {
    if (typeof src === "number" && typeof dst === "number") {
      this.#view.setUint32(0, src);
      this.#view.setUint32(4, dst);
      this.#key[8] = proto;
      return this.#key.subarray(0, 9);
    }
    const s = src as Uint8Array, d = dst as Uint8Array;
    this.#key.set(s.subarray(0, 16), 0);
    this.#key.set(d.subarray(0, 16), 16);
    this.#key[32] = proto;
    return this.#key;
  }
}
