/**
 * Finding a program's module: a tool name ("ping" → tools/ping.ts) or a module path. Paths are
 * only taken from the person starting the system (the boot command, tests); a process asking
 * the kernel to spawn may name tools, or TypeScript/JavaScript modules inside Serin's own tree,
 * so it cannot make the system load an arbitrary host file.
 */
import { fromFileUrl, toFileUrl } from "./_path.ts";

const ROOT = new URL("../", import.meta.url);
const TOOLS = new URL("tools/", ROOT);
const ROOT_REAL = Deno.realPathSync(fromFileUrl(ROOT)) + "/";

/** Resolve `name` to a module URL that exists, or undefined. */
export function resolveProgram(
  name: string,
  cwd = Deno.cwd(),
  fromProcess = false,
): string | undefined {
  let url: URL;
  if (/^[a-z0-9][a-z0-9-]*$/i.test(name) && !name.endsWith("_test")) {
    // Tool names only: not helpers (_args) or tests (ping_test), which are no programs.
    url = new URL(`${name}.ts`, TOOLS);
  } else if (name.startsWith("file:")) url = new URL(name);
  else if (name.includes("/") || name.endsWith(".ts") || name.endsWith(".js")) {
    url = name.startsWith("/") ? toFileUrl(name) : new URL(name, toFileUrl(cwd + "/"));
  } else return undefined;
  try {
    if (!Deno.statSync(fromFileUrl(url)).isFile) return undefined;
    // Decoded and through links: "..%2F" in a URL or a link must not lead out of the tree.
    const real = Deno.realPathSync(fromFileUrl(url));
    if (fromProcess && (!real.startsWith(ROOT_REAL) || !/\.(ts|js)$/.test(real))) return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}
