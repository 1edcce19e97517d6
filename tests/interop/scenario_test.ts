/**
 * Every scenario script (tests/scenario/scripts/*.pkt) against the Linux kernel: a TAP in a
 * namespace of its own per script, real time. Linux is the oracle, so every script must pass
 * here, serin-differs markers or not. SKIPPED (loudly) without root, `ip` or python3.
 *
 * The scripts spend their time waiting on real timers and on python3 starting up, so they run
 * {@link CONCURRENCY} at a time, each in its own namespace, and each is reported as a step of
 * one test: one after another they took over 8 minutes on a loaded 2-vCPU machine.
 */
import { interopTest } from "./_lab.ts";
import { judge, loadScript, scriptFiles, type Verdict } from "../scenario/run_files.ts";
import { LINUX_TOOLS, linuxTarget } from "../scenario/linux_target.ts";

const dir = new URL("../scenario/scripts", import.meta.url).pathname;

/** Scripts running at once (SERIN_SCENARIO_JOBS overrides). */
const CONCURRENCY = Number(Deno.env.get("SERIN_SCENARIO_JOBS") ?? 4);

/**
 * Judge one script on Linux. Real time on a shared machine: a timing divergence counts only if
 * it happens three times (a wrong script fails the same way each time; a loaded machine does not).
 */
async function onLinux(file: string, name: string): Promise<Verdict> {
  const script = await loadScript(file);
  let v = await judge(script, linuxTarget);
  for (let retry = 1; retry <= 2 && v.status !== "PASS"; retry++) {
    console.error(`retrying ${name} on Linux (${retry}/2) after:\n${v.detail}`);
    v = await judge(script, linuxTarget);
  }
  return v;
}

interopTest("scenario scripts on Linux", LINUX_TOOLS, async (t) => {
  const files = await scriptFiles(dir);
  const verdicts = new Map<string, Promise<Verdict | Error>>();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      const name = file.slice(dir.length + 1);
      let done!: (v: Verdict | Error) => void;
      verdicts.set(file, new Promise((r) => (done = r)));
      done(await onLinux(file, name).catch((e) => e as Error));
    }
  };
  const pool = Promise.all(Array.from({ length: Math.max(1, CONCURRENCY) }, worker));
  for (const file of files) {
    const name = file.slice(dir.length + 1);
    while (!verdicts.has(file)) await new Promise((r) => setTimeout(r, 20));
    const v = await verdicts.get(file)!;
    await t.step(name, () => {
      if (v instanceof Error) throw v;
      if (v.status !== "PASS") throw new Error(`FAIL ${name} on Linux\n${v.detail}`);
    });
  }
  await pool;
});
