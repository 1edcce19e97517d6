/**
 * Test program: prints what its host's netstack charges to processes, as one JSON line
 * `{"total":BYTES,"byPid":{...},"overBudgetDrops":N,"leftAtExit":N}`.
 */
import { netctl, print } from "../../../libc/mod.ts";

interface Stats {
  counters: Record<string, number>;
  interfaces: Record<string, unknown>;
  memory: { total: number; byPid: Record<string, number> };
}

export default async function main(): Promise<number> {
  const s = await netctl({ op: "stats" }) as Stats;
  const drops = JSON.stringify(s.interfaces).match(/"tcp: over memory budget":(\d+)/g) ?? [];
  print(JSON.stringify({
    ...s.memory,
    overBudgetDrops: drops.reduce((n, d) => n + Number(d.split(":").pop()), 0),
    leftAtExit: s.counters["memory: left at exit"] ?? 0,
  }));
  return 0;
}
