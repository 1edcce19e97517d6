/**
 * 32-bit TCP sequence-number arithmetic with wrap-around (RFC 9293 §3.4).
 *
 * Two sequence numbers compare by the sign of their 32-bit difference, so every comparison is
 * valid as long as the two numbers are less than 2^31 apart. Never compare them with `<`.
 */

/** `a + n` modulo 2^32, as an unsigned 32-bit number. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance `a - b` in sequence space (-2^31 .. 2^31-1). */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return seqSub(a, b) < 0;
}

/** `a <= b` in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return seqSub(a, b) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return seqSub(a, b) > 0;
}

/** `a >= b` in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return seqSub(a, b) >= 0;
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqGe(a, b) ? a : b;
}

/** The earlier of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return seqLe(a, b) ? a : b;
}

/** `start <= seq < start + len` in sequence space (an empty window contains nothing). */
export function inWindow(seq: number, start: number, len: number): boolean {
  return len > 0 && ((seq - start) >>> 0) < len;
}
