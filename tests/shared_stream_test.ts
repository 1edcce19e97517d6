/**
 * Shared socket rings as a program sees them: bulk both ways intact, a socket passed on after
 * sharing keeps its byte order, closing with unread bytes still resets, nonblocking sends get
 * EAGAIN and poll follows the rings.
 */
import assert from "node:assert/strict";
import { boot } from "../kernel/mod.ts";

const PROG = "tests/programs/shared_stream.ts";

Deno.test("shared rings: 8 MiB each way at once over loopback arrive intact, through rings", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["duplex", "7201", "8"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^a2b ok 8388608$/m);
  assert.match(r.stdout, /^b2a ok 8388608$/m);
  assert.match(r.stdout, /^shared [24]$/m, r.stdout); // both ends asked (one may be gone again)
});

Deno.test("shared rings: a socket passed to another process mid-stream keeps every byte in order", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["handoff", "/run/shared-handoff"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^head ok 600000$/m);
  assert.match(r.stdout, /^shared [12]$/m, r.stdout); // passed while its rings were in use
  assert.match(r.stdout, /^took 1497152 ok$/m);
  assert.match(r.stdout, /^child 0$/m);
});

Deno.test("shared rings: closing with bytes unread in the rings resets the connection", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["unread", "7203"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^writer (ECONNRESET|EPIPE)$/m);
});

Deno.test("shared rings: a nonblocking send gets EAGAIN when full; POLLOUT follows the rings", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["nonblock", "7204"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^eagain$/m);
  assert.match(r.stdout, /^pollout 0\ndrained\npollout 4$/m);
});

Deno.test("shared rings: over ::1 too, 8 MiB each way intact", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["duplex", "7207", "8", "6"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^a2b ok 8388608$/m);
  assert.match(r.stdout, /^b2a ok 8388608$/m);
  assert.match(r.stdout, /^shared 2$/m, r.stdout);
});

Deno.test("shared rings: MSG_PEEK, MSG_WAITALL, SO_RCVTIMEO and SHUT_WR keep their meaning", async () => {
  await using sys = await boot();
  const r = await sys.run(PROG, ["calls", "7206"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^shared 2$/m, r.stdout);
  assert.match(r.stdout, /^peek ok$/m);
  assert.match(r.stdout, /^waitall ok$/m);
  assert.match(r.stdout, /^timeout EAGAIN$/m); // as Linux reports an SO_RCVTIMEO expiry
  assert.match(r.stdout, /^eof after 300000 ok$/m);
});

Deno.test("shared rings: a process killed mid-transfer leaves no socket, fd or port behind", async () => {
  await using sys = await boot();
  const count = async () => {
    const r = await sys.run("tests/programs/hostile_crasher.ts", ["count"]);
    return r.stdout.match(/^(sockets|direct ports) \d+$/gm)?.join(", ");
  };
  const base = await sys.stats();
  const baseCount = await count();
  const pid = await sys.start(PROG, ["duplex", "7208", "4096"]);
  // Killed once both ends use rings: a fixed 500 ms was too early under a loaded --parallel run.
  let rings = "";
  for (let i = 0; i < 150 && !/^shared 2$/m.test(rings); i++) {
    await new Promise((r) => setTimeout(r, 100));
    rings = (await sys.run(PROG, ["rings"])).stdout;
  }
  assert.match(rings, /^shared 2$/m);
  await sys.kill(pid);
  let now = "";
  for (let i = 0; i < 50; i++) {
    now = `${await count()} ${JSON.stringify(await sys.stats())}`;
    if (now === `${baseCount} ${JSON.stringify(base)}`) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(now, `${baseCount} ${JSON.stringify(base)}`);
});
