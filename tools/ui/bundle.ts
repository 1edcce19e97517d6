/**
 * The web view's page, bundled from npm packages (no CDN): `deno bundle` (esbuild inside Deno)
 * turns tools/ui/web/app.ts and its imports (preact, htm, uplot, cytoscape from node_modules)
 * into one script, written to a cache under node_modules and rebuilt only when a source under
 * tools/ui/web/ is newer. uPlot's style sheet goes in with the page's own.
 */
const WEB = new URL("./web/", import.meta.url);
const ROOT = new URL("../../", import.meta.url);
const OUT = new URL("node_modules/.cache/serin-ui/app.js", ROOT);

/** The page's script and style sheet, bundling first if needed. Throws with deno's message. */
export async function buildPage(): Promise<{ js: string; css: string }> {
  const sources = [...Deno.readDirSync(WEB)].filter((e) => e.isFile).map((e) =>
    new URL(e.name, WEB)
  );
  const newest = Math.max(...sources.map((u) => Deno.statSync(u).mtime?.getTime() ?? 0));
  const built = (() => {
    try {
      return Deno.statSync(OUT).mtime?.getTime() ?? 0;
    } catch {
      return 0;
    }
  })();
  if (built < newest) {
    await Deno.mkdir(new URL(".", OUT), { recursive: true });
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "-o",
        OUT.pathname,
        new URL("app.ts", WEB).pathname,
      ],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`Cannot bundle the web view: ${new TextDecoder().decode(out.stderr)}`);
    }
  }
  const css = await Deno.readTextFile(new URL("node_modules/uplot/dist/uPlot.min.css", ROOT)) +
    await Deno.readTextFile(new URL("style.css", WEB));
  return { js: await Deno.readTextFile(OUT), css };
}
