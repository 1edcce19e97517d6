/** `deno task bench`: every benchmark, each printing a table and one JSON line. */
import { parseArgs } from "node:util";
import { benchDrivers } from "./drivers.ts";
import { benchLossyEcho } from "./lossy_echo.ts";
import { benchRing } from "./ring.ts";
import { benchStacks } from "./stacks.ts";
import { benchSyscall } from "./syscall.ts";
import { benchTap } from "./tap.ts";
import { benchTcp } from "./tcp.ts";
import { benchWire } from "./wire.ts";
import { benchUi } from "./ui.ts";

const { values } = parseArgs({
  options: { only: { type: "string" }, help: { type: "boolean", short: "h" } },
});
const benches: Record<string, () => Promise<void>> = {
  syscall: () => benchSyscall(),
  ring: () => benchRing(),
  wire: () => benchWire(),
  tcp: () => benchTcp(),
  tap: () => benchTap(),
  stacks: () => benchStacks(),
  drivers: () => benchDrivers(),
  lossy: () => benchLossyEcho(),
  ui: () => benchUi(),
};
if (values.help) {
  console.log(`usage: deno task bench [--only ${Object.keys(benches).join("|")}]`);
  Deno.exit(0);
}
if (values.only && !(values.only in benches)) {
  console.error(`bench: no benchmark named ${values.only} (${Object.keys(benches).join(", ")})`);
  Deno.exit(2);
}
let failed = 0;
for (const [name, run] of Object.entries(benches)) {
  if (values.only && values.only !== name) continue;
  try {
    await run();
  } catch (err) {
    // One broken benchmark does not hide the others' numbers; the exit status still tells.
    failed++;
    console.error(`!!! bench ${name} failed: ${(err as Error).stack ?? err}`);
  }
}
if (failed > 0) Deno.exit(1);
