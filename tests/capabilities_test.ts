/**
 * Capabilities through real processes: each guarded operation is refused without its grant and
 * allowed with it, forged fds get EBADF, and fd numbers are private to each process.
 */
import assert from "node:assert/strict";
import { boot } from "../kernel/mod.ts";

const PROG = "tests/programs/hostile_caps.ts";

function lines(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]),
  );
}

Deno.test("without capabilities: port < 1024 EACCES, raw socket EPERM, config changes EPERM", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["caps"]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(lines(r.stdout), {
    bind80: "EACCES",
    bind1024: "ok",
    raw: "EPERM",
    ifaddr: "EPERM",
    route: "EPERM",
    routes: "ok",
    badfd: "EBADF",
  });
});

Deno.test("each capability allows exactly its own operations", async () => {
  await using sys = await boot();
  const run = async (caps: string[]) => {
    const r = await sys.run(PROG, ["caps"], { caps });
    assert.equal(r.status, 0, r.stderr);
    return lines(r.stdout);
  };
  const bindOnly = await run(["net_bind_service"]);
  assert.deepEqual([bindOnly.bind80, bindOnly.raw, bindOnly.ifaddr], ["ok", "EPERM", "EPERM"]);
  const rawOnly = await run(["net_raw"]);
  assert.deepEqual([rawOnly.bind80, rawOnly.raw, rawOnly.ifaddr], ["EACCES", "ok", "EPERM"]);
  const adminOnly = await run(["net_admin"]);
  assert.deepEqual(
    [adminOnly.bind80, adminOnly.raw, adminOnly.ifaddr, adminOnly.route],
    ["EACCES", "EPERM", "ok", "ok"],
  );
  // A forged fd stays EBADF whatever the grants.
  assert.equal((await run(["net_raw", "net_admin", "net_bind_service"])).badfd, "EBADF");
  await assert.rejects(sys.run(PROG, ["caps"], { caps: ["root"] }));
});

Deno.test("fds are per process: fd 3 of one process is not fd 3 of another", async () => {
  const out = new Map<number, string>();
  await using sys = await boot({
    output: (pid, _fd, d) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(d)),
  });
  const holder = await sys.start(PROG, ["hold", "/run/holder"]);
  const deadline = Date.now() + 10_000;
  while (!(out.get(holder) ?? "").includes("ready")) {
    if (Date.now() > deadline) throw new Error(`holder never ready: ${out.get(holder)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.match(out.get(holder)!, /^fd 3 ready$/m);
  const r = await sys.run(PROG, ["probe"]);
  // The prober has no fd 3 until it opens one, and its fd 3 is its own unbound socket.
  assert.equal(r.stdout, "fd3-before EBADF\nown fd 3 path -\n");
  await sys.kill(holder, 9);
  assert.equal(await sys.wait(holder), 137);
});

// spawn() from a process may name tools or modules inside Serin's tree only: the main thread,
// which has full read permission, loads what it names.
Deno.test("a process cannot make the system load an arbitrary host file as a program", async () => {
  await using sys = await boot({ output: () => {} });
  for (const path of ["/etc/passwd", "../../../../etc/passwd", "/etc/hostname.ts"]) {
    const r = await sys.run(PROG, ["spawn", path]);
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(r.stdout.trim(), "spawn ok", path);
  }
  const ok = await sys.run(PROG, ["spawn", "echo"]);
  assert.equal(ok.stdout.trim(), "spawn ok");
});
