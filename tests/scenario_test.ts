/**
 * Every scenario script (tests/scenario/scripts/*.pkt) against Serin in virtual time, one test
 * each. A script passes, or diverges on a line marked `# serin-differs: why` (printed, and a
 * defect to fix); a marked script that passes fails, so a fixed defect loses its marker.
 */
import { judge, loadScript, scriptFiles } from "./scenario/run_files.ts";
import { serinTarget } from "./scenario/serin_target.ts";

const dir = new URL("./scenario/scripts", import.meta.url).pathname;

for (const file of await scriptFiles(dir)) {
  const name = file.slice(dir.length + 1);
  Deno.test(`scenario on Serin: ${name}`, async () => {
    const script = await loadScript(file);
    const v = await judge(script, serinTarget);
    if (v.status === "DIFFERS") console.log(`DIFFERS ${name}\n${v.detail}`);
    if (v.status === "FAIL") throw new Error(`FAIL ${name}\n${v.detail}`);
  });
}
