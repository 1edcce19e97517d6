/**
 * The syscall fuzzer under `deno test`: saved seeds from tests/fuzz/regressions/ are replayed
 * first, then a bounded run (SERIN_FUZZ_SECONDS, default 5 s) must leave the well-behaved
 * programs working and the kernel's stats at their baseline.
 */
import assert from "node:assert/strict";
import { runSyscallFuzz, type SyscallRegression } from "./syscalls.ts";

const DIR = new URL("./regressions/", import.meta.url);

function regressions(): SyscallRegression[] {
  const out: SyscallRegression[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    if (!e.isFile || !e.name.endsWith(".json")) continue;
    const r = JSON.parse(Deno.readTextFileSync(new URL(e.name, DIR))) as SyscallRegression;
    if (r.kind === "syscalls") out.push(r);
  }
  return out;
}

Deno.test("syscall fuzz: saved seeds replay without a failure", async () => {
  for (const r of regressions()) {
    const res = await runSyscallFuzz({ seconds: 3, seed: r.seed, maxCalls: r.calls });
    assert.deepEqual(res.failures, [], `seed ${r.seed} (${r.message})`);
  }
});

Deno.test("syscall fuzz: hostile calls leave the kernel serving and at its baseline", async () => {
  const seconds = Number(Deno.env.get("SERIN_FUZZ_SECONDS") ?? 5);
  const seed = Number(Deno.env.get("SERIN_FUZZ_SEED") ?? Date.now() % 100_000);
  const r = await runSyscallFuzz({ seconds, seed });
  console.log(
    `syscall fuzz seed ${seed}: ${r.calls} calls (${r.raw} raw, ${r.errnos} errnos, ${r.ok} ok, ` +
      `${r.pending} left blocked) in ${r.seconds.toFixed(1)} s = ${r.execsPerSecond} calls/s; ` +
      `${r.goodRounds} well-behaved rounds meanwhile`,
  );
  assert.deepEqual(r.failures, [], `seed ${seed}`);
  assert.ok(r.calls > 500, "the fuzzer made progress");
  assert.ok(r.errnos > r.calls / 4, "most hostile calls were refused with an errno");
  assert.ok(r.goodRounds >= 1, "well-behaved programs completed rounds during the storm");
});
