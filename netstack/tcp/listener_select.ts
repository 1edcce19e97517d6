/**
 * Which listener a new connection goes to: the one a score ranks highest (the most specific
 * address). Only an SO_REUSEPORT group of one uid can tie (the port table allows no other
 * overlap between listeners): as on Linux, the peer's address and port pick one of them, so each
 * client sticks to one listener.
 */

/** The best of `list` by `score` (below 0: does not match); `peer` breaks a tie. */
export function pickListener<T>(
  list: readonly T[] | undefined,
  peer: string,
  score: (s: T) => number,
): T | undefined {
  if (!list) return undefined;
  let best = -1;
  let tied: T[] = [];
  for (const s of list) {
    const v = score(s);
    if (v < 0 || v < best) continue;
    if (v > best) {
      best = v;
      tied = [];
    }
    tied.push(s);
  }
  if (tied.length <= 1) return tied[0];
  let h = 2166136261;
  for (let i = 0; i < peer.length; i++) h = Math.imul(h ^ peer.charCodeAt(i), 16777619);
  return tied[(h >>> 0) % tied.length];
}
