/**
 * The kernel through real worker processes: handle passing between three processes, peer
 * credentials, crash clean-up, hostile input, and the permission-less sandbox.
 */
import assert from "node:assert/strict";
import { boot } from "../kernel/mod.ts";

const P = "tests/programs";

async function waitForLine(pid: number, lines: string[], want: string) {
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => l.includes(want))) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} never printed ${want}: ${lines}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function bootCollecting() {
  const out = new Map<number, string[]>();
  const sys = await boot({
    output: (pid, _fd, data) => {
      const list = out.get(pid) ?? [];
      list.push(...new TextDecoder().decode(data).split("\n").filter((l) => l));
      out.set(pid, list);
    },
  });
  const lines = (pid: number) => {
    if (!out.has(pid)) out.set(pid, []);
    return out.get(pid)!;
  };
  return { sys, lines };
}

Deno.test("a socketpair end passed with SCM_RIGHTS keeps working after the sender closes it", async () => {
  const { sys, lines } = await bootCollecting();
  try {
    const base = await sys.stats();
    const b = await sys.start(`${P}/fdpass_server.ts`, ["/run/b", "speak"]);
    const c = await sys.start(`${P}/fdpass_server.ts`, ["/run/c", "answer"]);
    await waitForLine(b, lines(b), "ready");
    await waitForLine(c, lines(c), "ready");
    const a = await sys.start(`${P}/fdpass_client.ts`, ["/run/b", "/run/c"]);
    assert.equal(await sys.wait(a), 0);
    assert.equal(await sys.wait(b), 0);
    assert.equal(await sys.wait(c), 0);
    // SO_PEERCRED on the accepted connection names the client process.
    assert.ok(lines(b).includes(`peer pid ${a}`), lines(b).join("|"));
    assert.ok(lines(c).includes(`peer pid ${a}`), lines(c).join("|"));
    assert.ok(lines(b).includes(`reply: ${c} heard "hello from ${b}"`), lines(b).join("|"));
    assert.ok(lines(c).includes("answered"));
    // Both ends see EOF once the other closes; nothing is left behind, not even the paths (they
    // go with their sockets).
    assert.ok(lines(c).includes("eof: true"), lines(c).join("|"));
    assert.deepEqual(await sys.stats(), base);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("a process that throws mid-conversation leaves its peer with EOF and no leaks", async () => {
  const { sys, lines } = await bootCollecting();
  try {
    const base = await sys.stats();
    const server = await sys.start(`${P}/eof_server.ts`, ["/run/eof"]);
    await waitForLine(server, lines(server), "ready");
    const crasher = await sys.start(`${P}/crasher.ts`, ["/run/eof"]);
    assert.equal(await sys.wait(crasher), 1);
    assert.ok(lines(crasher).some((l) => l.includes("crash on purpose")));
    assert.equal(await sys.wait(server), 0);
    assert.deepEqual(lines(server).slice(1), ["data: partial", "EOF"]);
    const after = await sys.stats();
    assert.deepEqual({ ...after, localPaths: base.localPaths }, base);
    assert.deepEqual(await sys.ps(), []);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("a killed process has its sockets and fds reclaimed", async () => {
  const { sys, lines } = await bootCollecting();
  try {
    const server = await sys.start(`${P}/eof_server.ts`, ["/run/k"]);
    await waitForLine(server, lines(server), "ready");
    const ps = await sys.ps();
    assert.equal(ps.length, 1);
    assert.equal(ps[0].fds, 4); // stdin, stdout, stderr, the listener
    await sys.kill(server, 9);
    assert.equal(await sys.wait(server), 137);
    const s = await sys.stats();
    assert.equal(s.processes, 0);
    assert.equal(s.fds, 0);
    assert.equal(s.localSockets, 0);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("10,000 malformed messages get errno replies and the kernel keeps serving", async () => {
  const { sys, lines } = await bootCollecting();
  try {
    const hostile = await sys.start(`${P}/hostile.ts`, ["10000"]);
    // Meanwhile a well-behaved pair keeps working.
    const b = await sys.start(`${P}/fdpass_server.ts`, ["/run/hb", "speak"]);
    const c = await sys.start(`${P}/fdpass_server.ts`, ["/run/hc", "answer"]);
    const a = await sys.start(`${P}/fdpass_client.ts`, ["/run/hb", "/run/hc"]);
    assert.deepEqual(
      await Promise.all([sys.wait(a), sys.wait(b), sys.wait(c), sys.wait(hostile)]),
      [0, 0, 0, 0],
    );
    const report = lines(hostile).find((l) => l.startsWith("replies"));
    assert.ok(report, lines(hostile).join("|"));
    const m = report.match(/replies (\d+)\/(\d+) errnos (\d+)/)!;
    assert.equal(m[1], m[2], "every request was answered");
    assert.ok(Number(m[3]) > Number(m[2]) * 0.9, "almost all junk requests failed with an errno");
    const s = await sys.stats();
    assert.equal(s.processes, 0);
    assert.equal(s.localSockets, 0);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("a process runs without any Deno permission, and without the Deno APIs that need them", async () => {
  await using sys = await boot();
  const r = await sys.run(`${P}/sandbox.ts`);
  assert.equal(r.status, 0);
  // kernel/lockdown.ts removes them (TypeError: not a function); the worker's permissions
  // ("none") would refuse them anyway (NotCapable).
  assert.deepEqual(r.stdout.trim().split("\n"), [
    "connect: TypeError",
    "readFile: TypeError",
    "env: TypeError",
    "run: TypeError",
  ]);
});

Deno.test("exit status, stdout and stderr of a program", async () => {
  await using sys = await boot();
  const r = await sys.run(`${P}/hello.ts`, ["7", "x"]);
  assert.equal(r.status, 7);
  assert.match(r.stdout, /^hello from pid \d+ on local: 7 x\n$/);
  assert.equal(r.stderr, "to stderr\n");
  await assert.rejects(sys.start("no/such/program.ts"), /Cannot run/);
});

Deno.test("poll over a local socket and an INET socket: timeout, readiness from either, POLLNVAL", async () => {
  await using sys = await boot();
  const r = await sys.run(`${P}/poll_mixed.ts`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), [
    "timeout: count 0 after >=75ms",
    "udp: count 1 revents 0,1",
    "local: count 2 revents 1,32",
  ]);
});

Deno.test("SIGINT reaches a program's handler (ping prints its summary); unhandled signals exit 128+n", async () => {
  await using sys = await boot({
    net: { hosts: [{ name: "h" }] },
    output: () => {},
  });
  const ping = await sys.start("ping", ["127.0.0.1"], { host: "h", caps: ["net_raw"] });
  await new Promise((r) => setTimeout(r, 1500));
  await sys.kill(ping, 2);
  assert.equal(await sys.wait(ping), 0, "ping handled SIGINT and exited normally");
  const sleeper = await sys.start(`${P}/eof_server.ts`, ["/run/sig"], { host: "h" });
  await new Promise((r) => setTimeout(r, 300));
  await sys.kill(sleeper, 15);
  assert.equal(await sys.wait(sleeper), 143);
});
