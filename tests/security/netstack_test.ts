/**
 * Attacks on the netstack's socket rules by hostile uid-1000 programs, each run while a
 * well-behaved program works alongside it (`underAttack`): squatting a root service's port
 * with SO_REUSEADDR/SO_REUSEPORT, forging bytes in front of a stream with `unread` before
 * passing the socket on, and pinning memory with 16 MiB socket buffers.
 */
import assert from "node:assert/strict";
import type { System } from "../../kernel/mod.ts";
import { ATTACKER, program, ROOT, underAttack, watchedLab } from "./_bystander.ts";

const MiB = 1 << 20;
const lab = watchedLab;

/** The exit status of `pid`, or "running" if it has not exited within `ms`. */
async function exited(sys: System, pid: number, ms = 5000): Promise<number | "running"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const running = new Promise<"running">((r) => timer = setTimeout(() => r("running"), ms));
  try {
    return await Promise.race([sys.wait(pid), running]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a squatter's SO_REUSEADDR/SO_REUSEPORT socket cannot share a root httpd's port", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const httpd = (args: string[]) => sys.start("httpd", ["-q", ...args], ROOT);
    await underAttack(sys, async () => {
      // 1. The squatter listens first: httpd's bind fails loudly instead of "listening" while
      //    the squatter gets its clients (Linux: EADDRINUSE, whatever options both set).
      const ports = [
        ["0.0.0.0", 8080, []], // the same address
        ["10.0.0.1", 8081, []], // a more specific address, which would get the SYNs
        ["::", 8082, []], // dual-stack [::] covers httpd's 0.0.0.0
        ["::", 8083, ["-6"]], // and [::] blocks httpd -6's IPv6-only [::]
      ] as const;
      const squat = await sys.start(
        program("net_squat"),
        ["first", ...ports.flatMap(([addr, port]) => [addr, String(port)])],
        ATTACKER,
      );
      await waitFor(squat, /^squatting$/m);
      for (const [addr, port, flags] of ports) {
        assert.match(out(squat), new RegExp(`^listen ${addr} ${port} OK$`, "m"));
        const server = await httpd(["-p", String(port), ...flags]);
        assert.equal(await exited(sys, server), 1, `httpd on ${addr} ${port}: ${out(server)}`);
        assert.match(out(server), /address already in use/);
        assert.doesNotMatch(out(server), /listening/);
      }
      await sys.kill(squat);
      // 2. The squatter binds first and listens once httpd does: its listen() fails, and the
      //    clients reach httpd.
      const late = await sys.start(program("net_squat"), ["late", "0.0.0.0", "8090"], ATTACKER);
      await waitFor(late, /^bind 0\.0\.0\.0 8090 OK$/m);
      const server = await httpd(["-p", "8090"]);
      await waitFor(late, /^squatting$/m);
      assert.match(out(late), /^listen 0\.0\.0\.0 8090 EADDRINUSE$/m);
      assert.match(out(server), /listening on \[::\]:8090/);
      const r = await sys.run(program("net_squat"), ["get", "10.0.0.1", "8090", "4"], ROOT);
      assert.equal(r.stdout.match(/^body: /gm)?.length, 4, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /squatted/);
      assert.doesNotMatch(out(late), /stole/);
      await sys.kill(server);
    });
  } finally {
    await sys.shutdown();
  }
});

Deno.test("unread cannot forge bytes in front of a socket passed to another process", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const victim = await sys.start(program("net_forge"), ["recv", "/run/fwd"], ROOT);
    await waitFor(victim, "ready");
    const { result } = await underAttack(sys, async () => {
      const attacker = await sys.start(program("net_forge"), [
        "attack",
        "/run/fwd",
        "10.0.0.2",
        "7",
      ], ATTACKER);
      assert.equal(await sys.wait(attacker), 0, out(attacker));
      assert.equal(await sys.wait(victim), 0, out(victim));
      return { attacker: out(attacker), victim: out(victim) };
    });
    // Before: "unread OK", "replay OK" and the victim read "…FORGED peer bytes".
    assert.match(result.attacker, /^unread EINVAL$/m);
    assert.match(result.attacker, /^replay EINVAL$/m);
    assert.match(result.attacker, /^passed$/m);
    assert.match(result.victim, /^got: peer bytes$/m);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("16 MiB SO_SNDBUF/SO_RCVBUF on 60 unread loopback connections pin a bounded amount", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const rss0 = Deno.memoryUsage().rss;
    const { result } = await underAttack(sys, async () => {
      const pid = await sys.start(program("net_bufs"), ["60", String(16 * MiB), "9000"], ATTACKER);
      await waitFor(pid, "holding");
      const rss = Deno.memoryUsage().rss;
      return { pid, rss };
    });
    const text = out(result.pid);
    // Linux's answer: min(16 MiB, wmem_max/rmem_max 212992) doubled.
    assert.match(text, /^sndbuf 425984 rcvbuf 425984$/m);
    const m = /^connections (\d+) queued (\d+) stopped (\w+)$/m.exec(text);
    assert.ok(m, text);
    const [opened, queued, stopped] = [Number(m[1]), Number(m[2]), m[3]];
    console.log(
      `${opened} connections queued ${(queued / MiB).toFixed(1)} MiB (stopped by ${stopped}); ` +
        `RSS ${(rss0 / MiB).toFixed(0)} → ${(result.rss / MiB).toFixed(0)} MiB`,
    );
    // The process's memory budget (ENOBUFS) or the system's cap (ENOMEM) may end it first.
    assert.ok(["none", "ENOBUFS", "ENOMEM"].includes(stopped), stopped);
    // Each connection holds at most its send buffer (or its shared tx ring, 2 MiB) and the
    // peer's receive buffer: before the cap, 32 MiB each (1.9 GiB in all).
    assert.ok(queued <= opened * (2 * MiB + 2 * 425984), `queued ${queued}`);
    await sys.kill(result.pid);
  } finally {
    await sys.shutdown();
  }
});
