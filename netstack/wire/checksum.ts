/**
 * The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words, with
 * pseudo-header helpers for IPv4 and IPv6 and the RFC 1624 incremental update.
 *
 * Sums are accumulated unfolded in a JS number (exact up to 2^53) and folded once at the end.
 */

/** Add the bytes of `data` (as big-endian 16-bit words, odd tail padded) to an unfolded sum. */
export function sumBytes(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const len = data.length;
  let i = 0;
  const aligned = (data.byteOffset & 3) === 0;
  if (aligned && len >= 4) {
    // 32-bit little-endian words: each holds two byte-swapped 16-bit words; sum the halves.
    const words = new Uint32Array(data.buffer, data.byteOffset, len >>> 2);
    let lo = 0;
    let hi = 0;
    for (let w = 0; w < words.length; w++) {
      const v = words[w];
      lo += v & 0xffff;
      hi += v >>> 16;
    }
    // Little-endian halves are byte-swapped words; one's-complement sum commutes with swapping.
    const swapped = lo + hi;
    const folded = fold(swapped);
    sum += ((folded & 0xff) << 8) | (folded >>> 8);
    i = words.length << 2;
  }
  for (; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (i < len) sum += data[i] << 8;
  return sum;
}

/** Fold an unfolded sum to 16 bits (not complemented). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for `data` plus an optional unfolded `initial` sum. */
export function checksum(data: Uint8Array, initial = 0): number {
  return ~fold(sumBytes(data, initial)) & 0xffff;
}

/** True when `data` (checksum field included) sums to 0xffff, i.e. the checksum verifies. */
export function verifies(data: Uint8Array, initial = 0): boolean {
  return fold(sumBytes(data, initial)) === 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 9293 §3.1, RFC 768). */
export function pseudoHeaderSum4(src: number, dst: number, protocol: number, length: number) {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/** Unfolded sum of the IPv6 pseudo-header (RFC 8200 §8.1). */
export function pseudoHeaderSum6(
  src: Uint8Array,
  dst: Uint8Array,
  nextHeader: number,
  length: number,
): number {
  let sum = 0;
  for (let i = 0; i < 16; i += 2) sum += ((src[i] << 8) | src[i + 1]) + ((dst[i] << 8) | dst[i + 1]);
  return sum + (length >>> 16) + (length & 0xffff) + nextHeader;
}

/**
 * RFC 1624 eqn. 3: the new checksum after a 16-bit field changed from `oldWord` to `newWord`
 * (e.g. TTL/protocol on a TTL decrement).
 */
export function updateChecksum(oldChecksum: number, oldWord: number, newWord: number): number {
  const sum = (~oldChecksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~fold(sum) & 0xffff;
}
