/**
 * Every scenario script (tests/scenario/scripts/*.pkt) against the Linux kernel: a TAP in a
 * namespace of its own per script, real time. Linux is the oracle, so every script must pass
 * here, serin-differs markers or not (a failure is retried twice: timing on a loaded machine).
 * SKIPPED (loudly) without root, `ip` or python3.
 */
import { interopTest } from "./_lab.ts";
import { judge, loadScript, scriptFiles } from "../scenario/run_files.ts";
import { LINUX_TOOLS, linuxTarget } from "../scenario/linux_target.ts";

const dir = new URL("../scenario/scripts", import.meta.url).pathname;

for (const file of await scriptFiles(dir)) {
  const name = file.slice(dir.length + 1);
  interopTest(`scenario on Linux: ${name}`, LINUX_TOOLS, async () => {
    const script = await loadScript(file);
    // Real time on a shared machine: a timing divergence counts only if it happens three times
    // (a wrong script fails the same way each time; a loaded machine does not).
    let v = await judge(script, linuxTarget);
    for (let retry = 1; retry <= 2 && v.status !== "PASS"; retry++) {
      console.error(`retrying ${name} on Linux (${retry}/2) after:\n${v.detail}`);
      v = await judge(script, linuxTarget);
    }
    if (v.status !== "PASS") throw new Error(`FAIL ${name} on Linux\n${v.detail}`);
  });
}
