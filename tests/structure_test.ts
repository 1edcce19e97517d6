/**
 * The netstack's layers depend downward only. Its module graph (Deno's own, `deno info --json`,
 * type-only imports included) must have no import cycle (issue #15 part 3). The IP layers (`ip/`,
 * `ip6/`) reach their host, TCP, UDP and sockets only through the ports they declare; TCP and
 * the sockets reach the NetworkTask only through theirs (`tcp/host.ts`, `tcp/endpoint.ts`,
 * `stack.ts`): none imports anything above it, not even as types.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../netstack/", import.meta.url).href;

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

Deno.test("structure: the netstack's type-only imports have no cycle either", async () => {
  assert.deepEqual(cycles(await graph(true)), []);
});

/** What the IP layers may not import, even as types: everything above them. */
const ABOVE_IP = /^(network_task|netctl|service|stack|netstack_main)\.ts$|^(sockets|tcp|udp)\//;

Deno.test("structure: the IP layers import nothing above them", async () => {
  const g = await graph(true);
  const upward: string[] = [];
  for (const [from, to] of g) {
    if (!/^ip6?\//.test(from)) continue;
    for (const t of to) if (ABOVE_IP.test(t)) upward.push(`${from} → ${t}`);
  }
  assert.deepEqual(upward, []);
});

/** Above TCP and the sockets: the composition root and the services on top of it. */
const ABOVE_SOCKETS = /^(network_task|netctl|service|process_ports|netstack_main)\.ts$/;

Deno.test("structure: TCP imports nothing above it, sockets nothing above them", async () => {
  const g = await graph(true);
  const upward: string[] = [];
  for (const [from, to] of g) {
    const tcp = /^tcp\//.test(from);
    if (!tcp && !/^sockets\//.test(from)) continue;
    for (const t of to) {
      if (ABOVE_SOCKETS.test(t) || (tcp && /^(sockets|udp)\//.test(t))) {
        upward.push(`${from} → ${t}`);
      }
    }
  }
  assert.deepEqual(upward, []);
});
