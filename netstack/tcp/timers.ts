/** Small helpers for the connection's deadline bookkeeping (all times absolute ms). */

/** The earliest of the given deadlines, or undefined when none is set. */
export function earliest(...deadlines: Array<number | undefined>): number | undefined {
  let best: number | undefined;
  for (const d of deadlines) if (d !== undefined && (best === undefined || d < best)) best = d;
  return best;
}
