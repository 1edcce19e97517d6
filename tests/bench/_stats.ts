/** Small helpers for benchmarks: percentiles and the table + JSON line every bench prints. */

/** The p-th percentile (0..100) of `xs` (sorted copy). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** One benchmark result row. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  /** What it is compared against, measured in the same run. */
  reference?: string;
}

/** Print rows as an aligned table, then one JSON line `{"bench": name, "results": rows}`. */
export function report(bench: string, rows: Row[]): void {
  const w = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`\n${bench}`);
  for (const r of rows) {
    const v = r.value >= 100 ? r.value.toFixed(0) : r.value.toPrecision(3);
    console.log(
      `  ${r.name.padEnd(w)}  ${v.padStart(10)} ${r.unit}${
        r.reference ? `  (${r.reference})` : ""
      }`,
    );
  }
  console.log(JSON.stringify({ bench, results: rows }));
}

/**
 * Run one measurement; on failure print a loud line to stderr and return undefined, so one
 * broken measurement does not stop the rest of `deno task bench`.
 */
export async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    console.error(`!!! bench: ${what} failed: ${(err as Error).message}`);
    return undefined;
  }
}
