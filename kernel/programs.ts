/** Finding a program's module: a tool name ("ping" → tools/ping.ts) or a module path. */
import { fromFileUrl, toFileUrl } from "./_path.ts";

const TOOLS = new URL("../tools/", import.meta.url);

/** Resolve `name` to a module URL that exists, or undefined. */
export function resolveProgram(name: string, cwd = Deno.cwd()): string | undefined {
  let url: URL;
  if (name.startsWith("file:")) url = new URL(name);
  else if (name.includes("/") || name.endsWith(".ts") || name.endsWith(".js")) {
    url = name.startsWith("/") ? toFileUrl(name) : new URL(name, toFileUrl(cwd + "/"));
  } else if (/^[a-z0-9][a-z0-9-]*$/i.test(name) && !name.endsWith("_test")) {
    // Tool names only: not helpers (_args) or tests (ping_test), which are no programs.
    url = new URL(`${name}.ts`, TOOLS);
  }
  else return undefined;
  try {
    return Deno.statSync(fromFileUrl(url)).isFile ? url.href : undefined;
  } catch {
    return undefined;
  }
}
