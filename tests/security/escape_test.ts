/**
 * Escapes: a hostile program tries to reach past the kernel through its imports and the
 * worker's globals. Each attack is written out as a program in a scratch directory (its own
 * directory, outside Serin's tree), next to a secret file it must not read, and run on a booted
 * system. Every attempt fails with an error that names what was refused and shows none of it.
 */
import assert from "node:assert/strict";
import { boot } from "../../kernel/mod.ts";
import { bootLab, underAttack } from "./_bystander.ts";

const LIBC = new URL("../../libc/mod.ts", import.meta.url).href;
const CODEC = new URL("../../kernel/bus/codec.ts", import.meta.url).href;
const SECRET = "serin-secret-7f3a";

/** A scratch program directory and, beside it (not inside), a secret file and JSON. */
async function scratch() {
  const base = await Deno.makeTempDir({ prefix: "serin-escape-" });
  const prog = `${base}/prog`;
  const outside = `${base}/outside`;
  await Deno.mkdir(prog);
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/secret.txt`, `${SECRET} line one\n`);
  await Deno.writeTextFile(`${outside}/secret.json`, JSON.stringify({ secret: SECRET }));
  await Deno.writeTextFile(`${outside}/secret.ts`, `export default "${SECRET}";\n`);
  const write = async (name: string, src: string) => {
    await Deno.writeTextFile(`${prog}/${name}`, src);
    return `${prog}/${name}`;
  };
  return {
    base,
    prog,
    outside,
    write,
    [Symbol.asyncDispose]: () => Deno.remove(base, { recursive: true }),
  };
}

Deno.test("escapes: imports outside the tree are refused before the program runs, naming the specifier and leaking nothing", async () => {
  await using dir = await scratch();
  let requests = 0;
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, () => {
    requests++;
    return new Response(`export default "${SECRET}";`, {
      headers: { "content-type": "application/javascript" },
    });
  });
  const port = server.addr.port;
  const main = `export default () => 0;\n`;
  const cases: Array<[string, string, string]> = [
    ["static", `import s from "${dir.outside}/secret.ts";\nconsole.log(s);\n${main}`, "secret.ts"],
    [
      "shadow",
      `export default async () => { await import("file:///etc/shadow"); };\n`,
      "/etc/shadow",
    ],
    [
      "text",
      `export default async () => { await import("${dir.outside}/secret.txt"); };\n`,
      "secret.txt",
    ],
    [
      "json",
      `import j from "${dir.outside}/secret.json" with { type: "json" };\nconsole.log(j);\n${main}`,
      "secret.json",
    ],
    [
      "http",
      `export default async () => { await import("http://127.0.0.1:${port}/x.js"); };\n`,
      "http://127.0.0.1",
    ],
    ["npm", `export default async () => { await import("npm:left-pad"); };\n`, "npm:left-pad"],
    [
      "data",
      `import "data:application/javascript,import '${dir.outside}/secret.ts'";\n${main}`,
      "data:",
    ],
    [
      "node",
      `import p from "node:process";\np.stdout.write("${SECRET}");\n${main}`,
      "node:process",
    ],
    [
      "computed",
      `const n = (s: string) => "node:" + s;\nexport default async () => { (await import(n("process"))).default.stdout.write("x"); };\n`,
      "computed",
    ],
    ["link", "", "linked.ts"],
  ];
  await Deno.symlink(`${dir.outside}/secret.ts`, `${dir.prog}/linked.ts`);
  await dir.write("link.ts", `import s from "./linked.ts";\nconsole.log(s);\n${main}`);
  const lockBefore = await Deno.readTextFile(new URL("../../deno.lock", import.meta.url));
  await using sys = await boot();
  for (const [name, src, named] of cases) {
    const path = src ? await dir.write(`${name}.ts`, src) : `${dir.prog}/${name}.ts`;
    const r = await sys.run(path, [], { uid: 1000 });
    assert.equal(r.status, 126, `${name}: ran (${r.status}): ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /refused/, `${name}: ${r.stderr}`);
    assert.ok(r.stderr.includes(named), `${name}: the error names ${named}: ${r.stderr}`);
    assert.ok(!(r.stdout + r.stderr).includes(SECRET), `${name} leaked the secret: ${r.stderr}`);
    assert.ok(!(r.stdout + r.stderr).includes("root:"), `${name} leaked /etc/shadow`);
  }
  assert.equal(requests, 0, "the HTTP import was fetched");
  const lockAfter = await Deno.readTextFile(new URL("../../deno.lock", import.meta.url));
  assert.equal(lockAfter, lockBefore, "checking an npm: import changed deno.lock");
  await assert.rejects(Deno.stat(new URL("../../node_modules/left-pad", import.meta.url)));
});

Deno.test("escapes: a program checked once is checked again when one of its files changes", async () => {
  await using dir = await scratch();
  await dir.write("lib.ts", `export const n = 1;\n`);
  const path = await dir.write(
    "changes.ts",
    `import { n } from "./lib.ts";\nexport default () => n;\n`,
  );
  await using sys = await boot();
  assert.equal((await sys.run(path, [], { uid: 1000 })).status, 1);
  // The helper now reaches outside: the cached verdict must not let it through.
  await Deno.writeTextFile(
    `${dir.prog}/lib.ts`,
    `import s from "${dir.outside}/secret.ts";\nexport const n = s.length;\n`,
  );
  const r = await sys.run(path, [], { uid: 1000 });
  assert.equal(r.status, 126, r.stderr);
  assert.match(r.stderr, /secret\.ts.*refused/);
  assert.ok(!r.stderr.includes(SECRET));
});

Deno.test("escapes: a program whose own code does not parse is not executable (ENOEXEC), and says why", async () => {
  await using dir = await scratch();
  await dir.write("broken_helper.ts", `export const x = ;\n`);
  const path = await dir.write(
    "broken.ts",
    `import { x } from "./broken_helper.ts";\nexport default () => x;\n`,
  );
  await using sys = await boot();
  const r = await sys.run(path, [], { uid: 1000 });
  assert.equal(r.status, 126);
  assert.match(r.stderr, /broken_helper\.ts.*SyntaxError.*exec format error/);
});

Deno.test("escapes: a program in its own directory may import its own modules and Serin's libc", async () => {
  await using dir = await scratch();
  await dir.write("helper.ts", `export const greeting = "hi from a helper";\n`);
  const path = await dir.write(
    "ok.ts",
    `import { print } from "${LIBC}";\nimport { greeting } from "./helper.ts";\nexport default () => { print(greeting); return 0; };\n`,
  );
  await using sys = await boot();
  const r = await sys.run(path, [], { uid: 1000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "hi from a helper\n");
});

Deno.test("escapes: the worker's globals that reach past the kernel are gone, and the bystander keeps working", async () => {
  await using dir = await scratch();
  const probe = await dir.write(
    "globals.ts",
    `import { print } from "${LIBC}";
const g = globalThis as any;
const tries: Array<[string, () => unknown]> = [
  ["Deno.stdin", () => g.Deno.stdin.read(new Uint8Array(1))],
  ["Deno.stdout", () => g.Deno.stdout.writeSync(new Uint8Array([65]))],
  ["Deno.stderr", () => g.Deno.stderr.writeSync(new Uint8Array([65]))],
  ["Deno.setRaw", () => g.Deno.stdin.setRaw(true)],
  ["Deno.addSignalListener", () => g.Deno.addSignalListener("SIGINT", () => {})],
  ["Deno.internal", () => g.Deno[g.Deno.internal ?? Symbol.for("Deno.internal")].core.print("x")],
  ["Deno.internal symbol", () => g.Deno[Symbol.for("Deno.internal")].core.print("x")],
  ["caches", () => g.caches.open("x")],
  ["BroadcastChannel", () => new g.BroadcastChannel("x")],
  ["Worker", () => new g.Worker("data:application/javascript,1", { type: "module" })],
  ["postMessage", () => g.postMessage("x")],
  ["prototype postMessage", () => Object.getPrototypeOf(g).postMessage.call(g, "x")],
  ["process.stdout", () => g.process.stdout.write("x")],
  ["navigator.locks", () => g.navigator.locks.request("x", () => {})],
  ["eval", () => g.eval("1")],
  ["Function", () => new Function("return 1")()],
  ["Function via prototype", () => (() => {}).constructor("return 1")()],
  ["AsyncFunction", () => (async () => {}).constructor("return 1")()],
  ["string timer", () => setTimeout("1" as any, 0)],
  ["fetch", () => g.fetch("http://127.0.0.1:9/")],
];
export default async () => {
  for (const [name, f] of tries) {
    try {
      const r = f();
      // An attempt that blocks (a read of the real stdin, say) would hang the test: say so.
      const hung = new Promise((res) => setTimeout(() => res("hung"), 3000));
      const got = r instanceof Promise ? await Promise.race([r, hung]) : r;
      print(name + ": " + (got === "hung" ? "hung" : "allowed"));
    } catch (e) {
      print(name + ": " + (e as Error).name);
    }
  }
  return 0;
};
`,
  );
  await using sys = await bootLab();
  const { result: r } = await underAttack(
    sys,
    () => sys.run(probe, [], { host: "alpha", uid: 1000 }),
  );
  assert.equal(r.status, 0, r.stderr);
  const allowed = r.stdout.split("\n").filter((l) => /: (allowed|hung)$/.test(l));
  assert.deepEqual(allowed, [], r.stdout);
  assert.equal(r.stdout.trim().split("\n").length, 20, r.stdout);
});

Deno.test("escapes: Deno.exit, process.exit and close() end the process through the kernel", async () => {
  await using dir = await scratch();
  await using sys = await boot();
  const cases: Array<[string, number]> = [
    ["Deno.exit(3)", 3],
    ["(globalThis as any).process?.exit?.(4) ?? Deno.exit(4)", 4],
    ["close()", 0],
  ];
  for (const [i, [call, status]] of cases.entries()) {
    const path = await dir.write(
      `exit${i}.ts`,
      `export default async () => { ${call}; await new Promise((r) => setTimeout(r, 60000)); return 9; };\n`,
    );
    const t0 = Date.now();
    const r = await sys.run(path, [], { uid: 1000 });
    assert.equal(r.status, status, `${call}: ${r.stderr}`);
    assert.ok(Date.now() - t0 < 10_000);
  }
  assert.equal((await sys.stats()).processes, 0);
});

Deno.test("escapes: a process may not spawn a file outside the tree through ..%2F", async () => {
  await using dir = await scratch();
  await Deno.writeTextFile(`${dir.outside}/x.ts`, `export default () => 42;\n`);
  const root = new URL("../../tools/", import.meta.url).href;
  const up = "..%2F".repeat(root.split("/").length);
  const path = await dir.write(
    "spawner.ts",
    `import { print, spawn } from "${LIBC}";
export default async () => {
  for (const m of ["${root}${up}${dir.outside.slice(1)}/x.ts", "${dir.outside}/x.ts"]) {
    try { await spawn(m); print("spawned"); } catch (e) { print((e as any).code); }
  }
  return 0;
};
`,
  );
  await using sys = await boot();
  const r = await sys.run(path, [], { uid: 1000 });
  assert.equal(r.stdout, "ENOENT\nENOENT\n", r.stderr);
});

Deno.test("escapes: a SharedArrayBuffer posted to the kernel port is refused, not decoded in place", async () => {
  await using dir = await scratch();
  const path = await dir.write(
    "sab.ts",
    `import { print, getpid } from "${LIBC}";
import { encodeMessage } from "${CODEC}";
export default async () => {
  let kernelPort: MessagePort | undefined;
  const orig = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: MessagePort, ...a: unknown[]) {
    kernelPort ??= this;
    return (orig as any).apply(this, a);
  };
  await getpid();
  MessagePort.prototype.postMessage = orig;
  const msg = new Uint8Array(encodeMessage({ t: "req", id: 424242, body: { op: "write", fd: 1, data: new TextEncoder().encode("FORGED\\n") } }));
  const sab = new SharedArrayBuffer(msg.length);
  new Uint8Array(sab).set(msg);
  kernelPort!.postMessage(sab);
  await new Promise((r) => setTimeout(r, 200));
  print("still here");
  return 0;
};
`,
  );
  await using sys = await boot();
  const r = await sys.run(path, [], { uid: 1000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "still here\n");
});
