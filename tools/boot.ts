/**
 * `deno task run`: boot Serin. With no arguments, a short demonstration; with `-- PROG ARGS`,
 * run one program as a process and exit with its status.
 */
import { parseArgs } from "node:util";
import { boot } from "../kernel/mod.ts";

const HELP = `Usage: deno task run [options] [-- PROGRAM [ARGS...]]

Boots a Serin system. Without a program, runs a short demonstration and exits.

Options:
  -h, --help            show this help
  --for SECONDS         stay up this long after boot (with --exec)
  --exec "PROG ARGS"    start a program at boot (repeatable); PROG is a tool name or a module path
  --caps LIST           capabilities for started programs (default: net_bind_service,net_raw,net_admin)

  -- PROGRAM ARGS       run PROGRAM (tool name like "ping" or a path like ./my_prog.ts) in the
                        foreground and exit with its status
`;

/** Parse the command line and run. Returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const opts = dash >= 0 ? argv.slice(0, dash) : argv;
  const prog = dash >= 0 ? argv.slice(dash + 1) : [];
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: opts,
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        for: { type: "string" },
        exec: { type: "string", multiple: true },
        caps: { type: "string" },
      },
    }));
  } catch (err) {
    console.error(`serin: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length && !prog.length) prog.push(...positionals);
  const caps = (values.caps ?? "net_bind_service,net_raw,net_admin").split(",").filter(Boolean);
  const t0 = performance.now();
  await using sys = await boot({ log: (l) => console.error(`[kernel] ${l}`) });
  const bootMs = performance.now() - t0;
  for (const line of values.exec ?? []) {
    const [name, ...args] = line.trim().split(/\s+/);
    await sys.start(name, args, { caps });
  }
  if (prog.length) return await sys.spawn(prog[0], prog.slice(1), { caps });
  if (values.exec?.length) {
    await new Promise((r) => setTimeout(r, Number(values.for ?? 3600) * 1000));
    return 0;
  }
  console.log(`serin: kernel up in ${bootMs.toFixed(1)} ms`);
  return await sys.spawn("demo", [], { caps });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
