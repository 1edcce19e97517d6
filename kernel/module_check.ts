/**
 * Checking a program's code before it runs. Deno loads a worker's static import graph, and every
 * `import("…")` it can analyse (a string literal), with the permissions of the thread that
 * creates the worker: ours has them all. So before a process starts, the kernel asks Deno's own
 * module-graph builder (`deno info --json`, the same analyser that will load the graph) for
 * every module the program can reach that way, and refuses the program unless each one is a
 * file inside Serin's tree or the program's own directory (real paths, so no link or `%2F` leads
 * out), or a `node:` built-in. Remote URLs, `npm:`, `jsr:`, `data:` and `blob:` modules are
 * refused: a program has no business loading what the check cannot see. Imports computed at run
 * time are left to the worker's own permissions (none), which refuse them.
 *
 * The graph is built with remote and npm resolution off and the lock file untouched, so checking
 * a hostile program fetches nothing and installs nothing. A refusal names the specifier and never
 * shows Deno's error text for a file outside the allowed places (a parse error quotes the file).
 */
import { ErrnoError } from "./errno.ts";
import { fromFileUrl } from "./_path.ts";

/** Serin's own tree: every program may import from it. */
export const SERIN_ROOT: string = fromFileUrl(new URL("../", import.meta.url));

/** One module of `deno info --json`'s graph, as far as the check reads it. */
interface InfoModule {
  specifier: string;
  kind?: string;
  local?: string;
  error?: string;
  dependencies?: Array<{ specifier: string; code?: { specifier?: string } }>;
}

/** A module refused, and why. */
export interface Refusal {
  specifier: string;
  reason: string;
  /** The module is allowed but cannot load (a syntax error, a missing file of its own). */
  broken?: boolean;
}

/** Serin's own code: it is reviewed, not scanned. */
const TRUSTED = ["kernel/", "libc/", "netstack/", "drivers/", "tools/"].map((d) => SERIN_ROOT + d);

/**
 * `import(` with anything but a plain string literal. Deno cannot see where such an import goes
 * before the program runs; at run time the worker's permissions refuse files and URLs, but not
 * Node's built-in modules (`node:process` writes to the terminal). A program has no need of it.
 */
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!(?:"[^"\n]*"|'[^'\n]*'|`[^`$\n]*`)\s*[,)])/;

/** Node built-ins a program may import: none reaches past the worker without a permission. */
export const NODE_ALLOWED: ReadonlySet<string> = new Set([
  "node:assert",
  "node:assert/strict",
  "node:buffer",
  "node:crypto",
  "node:events",
  "node:path",
  "node:path/posix",
  "node:querystring",
  "node:string_decoder",
  "node:timers",
  "node:timers/promises",
  "node:url",
  "node:util",
]);

function computedImport(path: string): boolean {
  try {
    return COMPUTED_IMPORT.test(Deno.readTextFileSync(path));
  } catch {
    return true;
  }
}

/** Checks that passed: for each program URL, its local files' stamps when it was checked. */
const passed = new Map<string, { stamps: Map<string, string> }>();

function stamp(path: string): string | undefined {
  try {
    const st = Deno.statSync(path);
    return `${st.mtime?.getTime()}:${st.size}:${st.ino ?? 0}`;
  } catch {
    return undefined;
  }
}

function realDir(path: string): string {
  const real = Deno.realPathSync(path);
  return real.endsWith("/") ? real : real + "/";
}

/** True when `path` (resolved through links) lies inside one of `dirs` (real, with "/"). */
function inside(path: string, dirs: string[]): boolean {
  let real: string;
  try {
    real = Deno.realPathSync(path);
  } catch {
    return false;
  }
  return dirs.some((d) => real.startsWith(d));
}

/** Run `deno info --json` on `url` without fetching or installing anything. */
async function moduleGraph(url: string): Promise<{ modules: InfoModule[]; redirects: object }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      "--no-remote",
      "--no-npm",
      "--node-modules-dir=manual",
      "--no-lock",
      "--config",
      `${SERIN_ROOT}deno.json`,
      url,
    ],
    cwd: SERIN_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).output();
  if (!out.success) {
    throw new ErrnoError("ENOEXEC", `Cannot check ${url}: the module graph could not be built`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** What one look at `url`'s graph found: refusals and the stamps of its local files. */
interface Inspection {
  refused: Refusal[];
  stamps: Map<string, string>;
}

async function inspect(url: string, allowed: string[]): Promise<Inspection> {
  const dirs = allowed.map(realDir);
  const graph = await moduleGraph(url);
  const refused: Refusal[] = [];
  const stamps = new Map<string, string>();
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  for (const from of Object.keys(graph.redirects ?? {})) {
    refused.push({ specifier: from, reason: "redirected" });
  }
  const reached = new Set<string>(modules.keys());
  for (const m of graph.modules) {
    for (const d of m.dependencies ?? []) if (d.code?.specifier) reached.add(d.code.specifier);
  }
  for (const spec of reached) {
    const m = modules.get(spec);
    const scheme = spec.slice(0, spec.indexOf(":") + 1);
    if (scheme === "node:") {
      if (!NODE_ALLOWED.has(spec)) {
        refused.push({ specifier: spec, reason: "not a Node module processes may use" });
      }
      continue;
    }
    if (scheme !== "file:") {
      refused.push({ specifier: spec, reason: `${scheme} imports are not allowed` });
      continue;
    }
    const path = m?.local ?? fromFileUrl(new URL(spec));
    if (!inside(path, dirs)) {
      refused.push({ specifier: spec, reason: "outside Serin's tree and the program's directory" });
    } else if (m?.error) {
      // A file of the program's own: its error is its author's to read.
      refused.push({ specifier: spec, reason: m.error.split("\n")[0], broken: true });
    } else {
      stamps.set(path, stamp(path) ?? "");
      if (!TRUSTED.some((d) => path.startsWith(d)) && computedImport(path)) {
        refused.push({ specifier: spec, reason: "an import() of a computed specifier" });
      }
    }
  }
  return { refused, stamps };
}

/**
 * Every module of `url`'s graph that a process may not load, given the directories it may load
 * from (`allowed`, absolute paths). Empty when the program may run.
 */
export async function refusedModules(url: string, allowed: string[]): Promise<Refusal[]> {
  return (await inspect(url, allowed)).refused;
}

/**
 * Throw EACCES naming the first refused module unless every module `url` can load at start is
 * allowed: inside Serin's tree or the program's own directory (ENOEXEC, with Deno's error, when
 * only the program's own code fails to load). A graph that passed is
 * remembered with its files' stamps (mtime, size, inode) and looked at again only when one of
 * them changed.
 */
export async function checkProgram(url: string): Promise<void> {
  const prior = passed.get(url);
  if (prior && [...prior.stamps].every(([path, st]) => stamp(path) === st)) return;
  const programDir = fromFileUrl(new URL("./", url));
  const { refused, stamps } = await inspect(url, [SERIN_ROOT, programDir]);
  if (refused.length > 0) {
    passed.delete(url);
    const r = refused.find((x) => !x.broken) ?? refused[0];
    // A program whose own code does not load cannot be executed (ENOEXEC); one that reaches
    // outside may not be (EACCES).
    throw new ErrnoError(
      r.broken ? "ENOEXEC" : "EACCES",
      `Cannot run ${url}: import of ${JSON.stringify(r.specifier)} refused (${r.reason})` +
        (refused.length > 1 ? ` and ${refused.length - 1} more` : ""),
    );
  }
  passed.set(url, { stamps });
}
