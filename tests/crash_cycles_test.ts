/**
 * Crash cycles: processes that open local and inet sockets, pass handles and connect, then die
 * at a random point (an uncaught throw, or SIGKILL from outside), over and over. Afterwards the
 * kernel's stats() and the netstack's socket count must be back at their starting values.
 * CI runs 300 cycles; SERIN_CRASH_CYCLES=10000 runs the full version.
 */
import assert from "node:assert/strict";
import { boot } from "../kernel/mod.ts";
import { Rng } from "./fuzz/rng.ts";

const PROG = "tests/programs/hostile_crasher.ts";
const STEPS = 8;

Deno.test("crash cycles: every crash is cleaned up (kernel stats and netstack sockets)", async () => {
  const cycles = Number(Deno.env.get("SERIN_CRASH_CYCLES") ?? 300);
  const out = new Map<number, string>();
  await using sys = await boot({
    output: (pid, _fd, d) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(d)),
  });
  let last = "";
  let ports = 0;
  const count = async () => {
    const r = await sys.run(PROG, ["count"]);
    assert.equal(r.status, 0, r.stderr);
    last = r.stdout;
    ports = Number(r.stdout.match(/direct ports (\d+)/)![1]);
    return Number(r.stdout.match(/sockets (\d+)/)![1]);
  };
  const base = await sys.stats();
  const baseSockets = await count();
  const basePorts = ports;
  const rng = new Rng(Number(Deno.env.get("SERIN_CRASH_SEED") ?? 1));
  const started = Date.now();
  const statuses = new Map<number, number>();
  let unexpected = 0;
  const cycle = async (i: number) => {
    const step = rng.int(STEPS);
    const kill = rng.chance(0.5);
    const pid = await sys.start(PROG, [kill ? "block" : "throw", String(step), String(20000 + i)]);
    if (kill) {
      // Kill at the step, or (sometimes) at once, wherever the process happens to be.
      if (rng.chance(0.7)) {
        const deadline = Date.now() + 10_000;
        while (!(out.get(pid) ?? "").includes(`at ${step}`)) {
          if (Date.now() > deadline) throw new Error(`pid ${pid}: ${out.get(pid)}`);
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      // It may have died already (a step failed): ESRCH is fine, the exit status tells.
      await sys.kill(pid, 9).catch(() => {});
    }
    const status = await sys.wait(pid);
    if (kill && status === 1 && unexpected++ < 3) console.log(`pid ${pid}: ${out.get(pid)}`);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    assert.ok(status === 1 || status === 137, `pid ${pid} exited ${status}: ${out.get(pid)}`);
    out.delete(pid);
  };
  const parallel = 4;
  for (let i = 0; i < cycles; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, cycles - i) }, (_, j) => cycle(i + j)),
    );
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${cycles} crash cycles in ${seconds.toFixed(1)} s (${Math.round(cycles / seconds)}/s); ` +
      `exit statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
  );
  // The kernel reclaims asynchronously (netstack releases travel over a port): allow a moment.
  let after = await sys.stats();
  let sockets = await count();
  const settled = () => after.fds === base.fds && sockets === baseSockets && ports === basePorts;
  for (let i = 0; i < 200 && !settled(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    after = await sys.stats();
    sockets = await count();
  }
  // Everything is back, bound AF_LOCAL paths included (a path goes with its socket).
  assert.deepEqual(after, base);
  assert.equal(sockets, baseSockets, `netstack sockets back to the starting count: ${last}`);
  // Every dead process's direct port to the netstack was closed there (only the counter's own).
  assert.equal(ports, basePorts, `direct ports back to the starting count: ${last}`);
});

// SCM_RIGHTS reference cycles (a socket sent into its own receive queue) are reclaimed by the
// kernel's cycle collector (LocalHost.collect, like Linux's unix_gc).
Deno.test({
  name: "crash cycles: a socket passed into its own receive queue is reclaimed at exit",
  fn: async () => {
    await using sys = await boot();
    const base = await sys.stats();
    const r = await sys.run(PROG, ["cycle"]);
    assert.equal(r.status, 0, r.stderr);
    const after = await sys.stats();
    assert.deepEqual(after, base);
  },
});

// A process killed while its socket() call is in flight leaves no orphaned netstack socket:
// the kernel releases results that arrive for a process that is gone.
Deno.test({
  name: "crash cycles: a process killed mid-socket() leaves no orphaned netstack sockets",

  fn: async () => {
    const out = new Map<number, string>();
    await using sys = await boot({
      output: (pid, _fd, d) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(d)),
    });
    const count = async () =>
      Number((await sys.run(PROG, ["count"])).stdout.match(/sockets (\d+)/)![1]);
    const base = await count();
    for (let i = 0; i < 20; i++) {
      const pid = await sys.start(PROG, ["spin", i % 2 ? "tcp" : "udp"]);
      const deadline = Date.now() + 10_000;
      while (!(out.get(pid) ?? "").includes("spinning")) {
        if (Date.now() > deadline) throw new Error(`pid ${pid}: ${out.get(pid)}`);
        await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, 5 + (i % 7)));
      await sys.kill(pid, 9);
      assert.equal(await sys.wait(pid), 137);
    }
    let n = await count();
    for (let i = 0; i < 50 && n !== base; i++) {
      await new Promise((r) => setTimeout(r, 10));
      n = await count();
    }
    assert.equal(n, base, "orphaned netstack sockets");
  },
});
