/**
 * `deno task scenario [--target serin|linux|both] FILE…`: run scenario scripts (a directory
 * means every `*.pkt` in it; none means tests/scenario/scripts) and print PASS, FAIL or DIFFERS
 * per script and target, with the first divergence of each failure (`--trace`: every segment
 * and call as it happens). Exits 1 on any FAIL.
 */
import { skipReason } from "../interop/_lab.ts";
import { LINUX_TOOLS, linuxTarget } from "./linux_target.ts";
import { judge, loadScript, scriptFiles } from "./run_files.ts";
import { serinTarget } from "./serin_target.ts";
import type { TargetFactory } from "./target.ts";

const USAGE = "usage: deno task scenario [--target serin|linux|both] [--trace] [FILE|DIR]...";

async function main(args: string[]): Promise<number> {
  let which = "serin";
  let trace = false;
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--target") which = args[++i] ?? "";
    else if (a.startsWith("--target=")) which = a.slice(9);
    else if (a === "--trace") trace = true;
    else if (a === "-h" || a === "--help") return console.log(USAGE), 0;
    else paths.push(a);
  }
  if (!["serin", "linux", "both"].includes(which)) return console.error(USAGE), 2;
  const targets: Array<[string, TargetFactory]> = [];
  if (which !== "linux") targets.push(["serin", serinTarget]);
  if (which !== "serin") {
    const why = skipReason(LINUX_TOOLS);
    if (why) console.error(`SKIPPED linux target: ${why}`);
    else targets.push(["linux", linuxTarget]);
  }
  const files: string[] = [];
  for (const p of paths.length ? paths : [new URL("./scripts", import.meta.url).pathname]) {
    const st = await Deno.stat(p).catch(() => undefined);
    if (!st) return console.error(`No such file or directory: ${p}`), 2;
    if (st.isDirectory) files.push(...await scriptFiles(p));
    else files.push(p);
  }
  const counts: Record<string, number> = { PASS: 0, FAIL: 0, DIFFERS: 0 };
  for (const f of files) {
    let script;
    try {
      script = await loadScript(f);
    } catch (e) {
      console.log(`FAIL    ${f}\n  ${(e as Error).message}`);
      counts.FAIL++;
      continue;
    }
    for (const [name, make] of targets) {
      const v = await judge(
        script,
        make,
        trace ? (l) => console.log(`  [${name}] ${l}`) : undefined,
      );
      counts[v.status]++;
      const ms = Math.round(v.run.elapsedMs);
      console.log(`${v.status.padEnd(7)} ${name.padEnd(5)} ${f} (${ms} ms)`);
      if (v.detail) console.log(v.detail.replace(/^/gm, "  "));
    }
  }
  console.log(`\n${counts.PASS} passed, ${counts.DIFFERS} differ on Serin, ${counts.FAIL} failed`);
  return counts.FAIL > 0 ? 1 : 0;
}

Deno.exit(await main(Deno.args));
