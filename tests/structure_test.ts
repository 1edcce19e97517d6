/**
 * The netstack's layers depend downward only. Its module graph (Deno's own, `deno info --json`,
 * type-only imports included) must have no import cycle: runtime imports none at all, and the
 * type-only cycle the seed left (around NetworkTask and the IP layers, issue #15 part 3) may shrink but
 * never take in another file. When it is gone, empty {@link KNOWN_CYCLE}.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../netstack/", import.meta.url).href;

/** The files of the one cycle still allowed (type-only imports); nothing may join it. */
const KNOWN_CYCLE = new Set([
  "ip/ipv4_stack.ts",
  "ip6/ipv6_stack.ts",
  "ip6/nd.ts",
  "network_task.ts",
]);

interface InfoModule {
  specifier: string;
  dependencies?: Array<{ code?: { specifier?: string }; type?: { specifier?: string } }>;
}

async function graph(withTypes: boolean): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-remote", "--no-npm", "--no-lock", "netstack/netstack_main.ts"],
    cwd: new URL("..", import.meta.url),
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success, "deno info failed");
  const { modules } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
  };
  const g = new Map<string, string[]>();
  const local = (s?: string) => s?.startsWith(ROOT) ? s.slice(ROOT.length) : undefined;
  for (const m of modules) {
    const from = local(m.specifier);
    if (!from) continue;
    const to: string[] = [];
    for (const d of m.dependencies ?? []) {
      for (const s of [d.code?.specifier, withTypes ? d.type?.specifier : undefined]) {
        const t = local(s);
        if (t) to.push(t);
      }
    }
    g.set(from, to);
  }
  return g;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(g: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (let w = ""; w !== v;) {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      }
      if (comp.length > 1) found.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("structure: the netstack's runtime imports have no cycle", async () => {
  assert.deepEqual(cycles(await graph(false)), []);
});

Deno.test("structure: no netstack file joins the type-only import cycle left to break", async () => {
  for (const c of cycles(await graph(true))) {
    const joined = c.filter((f) => !KNOWN_CYCLE.has(f));
    assert.deepEqual(joined, [], `new files in an import cycle: ${c.join(" → ")}`);
  }
});
