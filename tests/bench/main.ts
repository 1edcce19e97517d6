/** `deno task bench`: every benchmark, each printing a table and one JSON line. */
import { parseArgs } from "node:util";
import { benchSyscall } from "./syscall.ts";

const { values } = parseArgs({
  options: { only: { type: "string" }, help: { type: "boolean", short: "h" } },
});
const benches: Record<string, () => Promise<void>> = {
  syscall: () => benchSyscall(),
};
if (values.help) {
  console.log(`usage: deno task bench [--only ${Object.keys(benches).join("|")}]`);
  Deno.exit(0);
}
for (const [name, run] of Object.entries(benches)) {
  if (values.only && values.only !== name) continue;
  await run();
}
