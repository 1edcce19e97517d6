/**
 * Run script files on targets and judge each run: PASS, FAIL, or DIFFERS (Serin diverged on a
 * line marked `# serin-differs: why`). A marked script that passes on Serin is a FAIL too: the
 * marker is stale and must go. Shared by the CLI (main.ts) and the test files.
 */
import { parseScript } from "./parse.ts";
import { formatDivergence, type RunResult, runScript } from "./runner.ts";
import type { Script } from "./script.ts";
import type { TargetFactory } from "./target.ts";

/** The verdict of one script on one target. */
export interface Verdict {
  status: "PASS" | "FAIL" | "DIFFERS";
  /** What to print under the status line (divergence, marker). */
  detail: string;
  run: RunResult;
}

/** Whether a script carries any serin-differs marker. */
export function hasMarker(s: Script): boolean {
  return s.serinDiffers !== undefined || s.events.some((e) => e.serinDiffers !== undefined);
}

/** Run one parsed script on the target `make` builds, and judge it (`trace`: see runScript). */
export async function judge(
  script: Script,
  make: TargetFactory,
  trace?: (line: string) => void,
): Promise<Verdict> {
  await using target = await make(script.options);
  const run = await runScript(script, target, trace);
  const detail = formatDivergence(script, run);
  if (!run.divergence) {
    if (target.name === "serin" && hasMarker(script)) {
      return {
        status: "FAIL",
        detail: `${script.name}: passes on Serin but carries a serin-differs marker: remove it`,
        run,
      };
    }
    return { status: "PASS", detail: "", run };
  }
  return { status: run.differs ? "DIFFERS" : "FAIL", detail, run };
}

/** Read and parse a script file. */
export async function loadScript(path: string): Promise<Script> {
  return parseScript(await Deno.readTextFile(path), path);
}

/** Every `*.pkt` file under `dir`, sorted. */
export async function scriptFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".pkt")) out.push(`${dir}/${e.name}`);
  }
  return out.sort();
}
