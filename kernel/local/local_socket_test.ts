import assert from "node:assert/strict";
import * as abi from "../abi.ts";
import { ManualClock } from "../clock.ts";
import type { ErrnoError } from "../errno.ts";
import { FdTable } from "../fd_table.ts";
import type { HandleBase } from "../handle.ts";
import { Process } from "../process.ts";
import { type Caller, createLocalSocket, LocalHost, LocalSocket } from "./local_socket.ts";
import { MAX_LOCAL_PATHS_PER_UID } from "./namespace.ts";
import { LOCAL_MESSAGE_OVERHEAD } from "./queue_memory.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function setup() {
  const clock = new ManualClock();
  const host = new LocalHost(clock);
  const fds = new FdTable<HandleBase>();
  const budgets = new Map<number, Process>();
  const budget = (pid: number, uid = 1000) => {
    if (!budgets.has(pid)) {
      budgets.set(pid, new Process(pid, 0, uid, uid, `p${pid}`, "h", new Set(), 1024));
    }
    return budgets.get(pid)!;
  };
  const caller = (pid: number, uid = 1000): Caller => ({
    creds: { pid, uid, gid: uid },
    signal: new AbortController().signal,
    install: (h) => fds.install(h),
    resolve: (fd) => fds.get(fd),
    memory: budget(pid, uid),
  });
  return { clock, host, fds, caller, budget };
}

const errCode = (code: string) => (e: ErrnoError) => e.code === code;

Deno.test("stream: bind, listen, connect, accept, data both ways, EOF on close", async () => {
  const { host, caller } = setup();
  const srv = createLocalSocket(host, abi.SOCK_STREAM, caller(1).creds);
  srv.bind({ family: 1, path: "/s" }, caller(1).creds);
  srv.listen(2, caller(1));
  const cli = createLocalSocket(host, abi.SOCK_STREAM, caller(2).creds);
  await cli.connect({ family: 1, path: "/s" }, caller(2));
  const conn = await srv.accept(caller(1));
  assert.deepEqual(conn.getsockopt(abi.SOL_SOCKET, abi.SO_PEERCRED), {
    pid: 2,
    uid: 1000,
    gid: 1000,
  });
  assert.deepEqual(cli.getsockopt(abi.SOL_SOCKET, abi.SO_PEERCRED), {
    pid: 1,
    uid: 1000,
    gid: 1000,
  });
  await cli.sendmsg(te.encode("abc"), 0, undefined, undefined, caller(2));
  await cli.sendmsg(te.encode("def"), 0, undefined, undefined, caller(2));
  assert.equal(td.decode((await conn.recvmsg(2, abi.MSG_PEEK, caller(1))).data), "ab");
  assert.equal(td.decode((await conn.recvmsg(100, 0, caller(1))).data), "abcdef");
  cli.shutdown(abi.SHUT_WR);
  assert.equal((await conn.recvmsg(100, 0, caller(1))).data.length, 0);
  await conn.sendmsg(te.encode("still open"), 0, undefined, undefined, caller(1));
  assert.equal(td.decode((await cli.recvmsg(100, 0, caller(2))).data), "still open");
  conn.release();
  await assert.rejects(
    cli.sendmsg(te.encode("x"), 0, undefined, undefined, caller(2)),
    errCode("EPIPE"),
  );
});

Deno.test("path errors: EADDRINUSE, ENOENT, ECONNREFUSED, released on close, unlink", async () => {
  const { host, caller } = setup();
  const c = caller(1).creds;
  const a = createLocalSocket(host, abi.SOCK_STREAM, c);
  a.bind({ family: 1, path: "/p" }, c);
  const b = createLocalSocket(host, abi.SOCK_STREAM, c);
  assert.throws(() => b.bind({ family: 1, path: "/p" }, c), errCode("EADDRINUSE"));
  assert.throws(() => b.bind({ family: 1, path: "" }, c), errCode("EINVAL"));
  assert.throws(() => b.bind({ family: 1, path: "x".repeat(200) }, c), errCode("ENAMETOOLONG"));
  await assert.rejects(b.connect({ family: 1, path: "/nothing" }, caller(1)), errCode("ENOENT"));
  // Bound but not listening.
  await assert.rejects(b.connect({ family: 1, path: "/p" }, caller(1)), errCode("ECONNREFUSED"));
  a.release();
  // The path went with its socket (an abstract name on Linux; a file would stay until unlinked).
  assert.equal(host.ns.size, 0);
  await assert.rejects(b.connect({ family: 1, path: "/p" }, caller(1)), errCode("ENOENT"));
  assert.throws(() => host.ns.unlink("/p", c), errCode("ENOENT"));
  b.bind({ family: 1, path: "/p" }, c);
  host.ns.unlink("/p", c);
  assert.equal(host.ns.size, 0);
  // Unlinked while bound: the socket stays open, and closing it leaves a new binder alone.
  const d = createLocalSocket(host, abi.SOCK_STREAM, c);
  d.bind({ family: 1, path: "/p" }, c);
  b.release();
  assert.equal(host.ns.size, 1);
  d.release();
  assert.equal(host.ns.size, 0);
});

Deno.test("datagram: boundaries, MSG_TRUNC, source path, queue limit EAGAIN", async () => {
  const { host, caller } = setup();
  const r = createLocalSocket(host, abi.SOCK_DGRAM, caller(1).creds);
  r.bind({ family: 1, path: "/d" }, caller(1).creds);
  const s = createLocalSocket(host, abi.SOCK_DGRAM, caller(2).creds);
  s.bind({ family: 1, path: "/from" }, caller(2).creds);
  s.nonblock = true;
  await s.sendmsg(te.encode("one"), 0, { family: 1, path: "/d" }, undefined, caller(2));
  await s.sendmsg(te.encode("second message"), 0, { family: 1, path: "/d" }, undefined, caller(2));
  const m1 = await r.recvmsg(100, 0, caller(1));
  assert.equal(td.decode(m1.data), "one");
  assert.deepEqual(m1.addr, { family: 1, path: "/from" });
  const m2 = await r.recvmsg(6, 0, caller(1));
  assert.equal(td.decode(m2.data), "second");
  assert.equal(m2.flags & abi.MSG_TRUNC, abi.MSG_TRUNC);
  for (let i = 0; i < 128; i++) {
    await s.sendmsg(te.encode("x"), 0, { family: 1, path: "/d" }, undefined, caller(2));
  }
  await assert.rejects(
    s.sendmsg(te.encode("x"), 0, { family: 1, path: "/d" }, undefined, caller(2)),
    errCode("EAGAIN"),
  );
  assert.equal(s.readiness() & abi.POLLOUT, abi.POLLOUT); // unconnected: writable in general
  await assert.rejects(
    s.sendmsg(te.encode("x"), 0, undefined, undefined, caller(2)),
    errCode("EDESTADDRREQ"),
  );
});

Deno.test("SO_RCVTIMEO gives EAGAIN when the virtual clock passes the timeout", async () => {
  const { host, caller, clock } = setup();
  const [a] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(1).creds);
  a.setsockopt(abi.SOL_SOCKET, abi.SO_RCVTIMEO, 250);
  const p = a.recvmsg(10, 0, caller(1));
  let settled = false;
  p.catch(() => {}).finally(() => (settled = true));
  clock.advance(249);
  await Promise.resolve();
  assert.equal(settled, false);
  clock.advance(1);
  await assert.rejects(p, errCode("EAGAIN"));
});

Deno.test("SCM_RIGHTS handles survive the sender closing; credentials with SO_PASSCRED", async () => {
  const { host, caller, fds } = setup();
  const [a, b] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(1).creds);
  const [x, y] = LocalSocket.pair(host, abi.SOCK_DGRAM, caller(1).creds);
  const fx = fds.install(x);
  fds.install(y);
  b.setsockopt(abi.SOL_SOCKET, abi.SO_PASSCRED, 1);
  await a.sendmsg(te.encode("take"), 0, undefined, [fx], caller(7));
  fds.close(fx); // the sender's copy
  assert.equal(host.inflight, 1);
  const got = await b.recvmsg(100, 0, caller(8));
  assert.equal(host.inflight, 0);
  assert.deepEqual(got.creds, { pid: 7, uid: 1000, gid: 1000 });
  assert.equal(got.rights?.length, 1);
  const passed = fds.get(got.rights![0]) as LocalSocket;
  assert.equal(passed, x);
  await passed.sendmsg(te.encode("works"), 0, undefined, undefined, caller(8));
  assert.equal(td.decode((await y.recvmsg(100, 0, caller(1))).data), "works");
});

Deno.test("handles queued in a socket that closes unread are released", async () => {
  const { host, caller, fds } = setup();
  const [a, b] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(1).creds);
  const before = host.open;
  const [x] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(1).creds);
  const fx = fds.install(x);
  await a.sendmsg(te.encode("h"), 0, undefined, [fx], caller(1));
  fds.close(fx);
  assert.equal(x.state, "connected");
  b.release();
  assert.equal(x.state, "closed");
  assert.equal(host.inflight, 0);
  a.release();
  assert.equal(host.open, before - 2 + 1); // x's unreferenced peer is still open
});

Deno.test("paths have owners: unlink of another uid's path is EACCES except for root", () => {
  const { host, caller } = setup();
  const root = caller(1, 0).creds;
  const user = caller(2, 1000).creds;
  const victim = createLocalSocket(host, abi.SOCK_STREAM, root);
  victim.bind({ family: 1, path: "/run/victim" }, root);
  assert.deepEqual(host.ns.stat("/run/victim"), { uid: 0, gid: 0, mode: 0o777 });
  assert.throws(() => host.ns.unlink("/run/victim", user), errCode("EACCES"));
  const squatter = createLocalSocket(host, abi.SOCK_STREAM, user);
  assert.throws(
    () => squatter.bind({ family: 1, path: "/run/victim" }, user),
    errCode("EADDRINUSE"),
  );
  // Root may remove anyone's path; a user may remove its own.
  squatter.bind({ family: 1, path: "/tmp/mine" }, user);
  host.ns.unlink("/tmp/mine", user);
  host.ns.unlink("/run/victim", root);
  assert.equal(host.ns.size, 0);
});

Deno.test("paths have a mode: connect and sendto need write permission", async () => {
  const { host, caller } = setup();
  const owner = caller(1, 1000);
  const other = caller(2, 2000);
  const s = createLocalSocket(host, abi.SOCK_DGRAM, owner.creds);
  host.ns.bind("/private", s, owner.creds, 0o700);
  const c = createLocalSocket(host, abi.SOCK_DGRAM, other.creds);
  await assert.rejects(c.connect({ family: 1, path: "/private" }, other), errCode("EACCES"));
  await assert.rejects(
    c.sendmsg(te.encode("x"), 0, { family: 1, path: "/private" }, undefined, other),
    errCode("EACCES"),
  );
  await c.connect({ family: 1, path: "/private" }, caller(3, 0)); // root passes
  await c.connect({ family: 1, path: "/private" }, owner);
});

Deno.test("each uid holds at most MAX_LOCAL_PATHS_PER_UID paths (EDQUOT); others are unaffected", () => {
  const { host, caller } = setup();
  const user = caller(1, 1000).creds;
  const socks = [];
  for (let i = 0; i < MAX_LOCAL_PATHS_PER_UID; i++) {
    const s = createLocalSocket(host, abi.SOCK_DGRAM, user);
    s.bind({ family: 1, path: `/f/${i}` }, user);
    socks.push(s);
  }
  const more = createLocalSocket(host, abi.SOCK_DGRAM, user);
  assert.throws(() => more.bind({ family: 1, path: "/f/more" }, user), errCode("EDQUOT"));
  const someoneElse = caller(2, 1001).creds;
  createLocalSocket(host, abi.SOCK_DGRAM, someoneElse).bind({ family: 1, path: "/g" }, someoneElse);
  socks.pop()!.release(); // a close gives the uid a name back
  more.bind({ family: 1, path: "/f/more" }, user);
  for (const s of socks) s.release();
  more.release();
  assert.equal(host.ns.countOf(1000), 0);
  assert.equal(host.ns.size, 1);
});

Deno.test("a small view of a big buffer is queued as a copy: the queue keeps only its bytes", async () => {
  const { host, caller, budget } = setup();
  const [a, b] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(1).creds);
  b.setsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF, 2048);
  a.nonblock = true;
  const big = new Uint8Array(16 << 20);
  assert.equal(await a.sendmsg(big, 0, undefined, undefined, caller(1)), 2048);
  const charged = 2048 + LOCAL_MESSAGE_OVERHEAD;
  assert.equal(host.memory, charged);
  assert.equal(budget(1).memory, charged);
  await assert.rejects(
    a.sendmsg(big, 0, undefined, undefined, caller(1)),
    errCode("EAGAIN"),
  );
  // A datagram that is a view into a big buffer is copied too.
  const [x, y] = LocalSocket.pair(host, abi.SOCK_DGRAM, caller(2).creds);
  await x.sendmsg(big.subarray(5, 105), 0, undefined, undefined, caller(2));
  assert.equal(budget(2).memory, 100 + LOCAL_MESSAGE_OVERHEAD);
  // Reading gives the charge back; a partial read keeps it until the message is consumed.
  assert.equal((await b.recvmsg(1000, 0, caller(1))).data.length, 1000);
  assert.equal(budget(1).memory, charged);
  assert.equal((await b.recvmsg(2000, 0, caller(1))).data.length, 1048);
  assert.equal(budget(1).memory, 0);
  assert.equal((await y.recvmsg(2000, 0, caller(2))).data.length, 100);
  assert.equal(budget(2).memory, 0);
  assert.equal(host.memory, 0);
  for (const s of [a, b, x, y]) s.release();
});

Deno.test("queued messages are charged to the sender's budget: ENOBUFS beyond it, freed on close", async () => {
  const { host, caller, budget } = setup();
  budget(1).memoryLimit = 1 << 20;
  const pairs: LocalSocket[][] = [];
  let sent = 0;
  let code = "";
  for (let i = 0; i < 64 && !code; i++) {
    const [a, b] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(1).creds);
    pairs.push([a, b]);
    a.nonblock = true;
    for (;;) {
      try {
        sent += await a.sendmsg(new Uint8Array(1), 0, undefined, undefined, caller(1));
      } catch (e) {
        if ((e as ErrnoError).code !== "EAGAIN") code = (e as ErrnoError).code;
        break;
      }
    }
  }
  assert.equal(code, "ENOBUFS");
  // One-byte messages cost their overhead: the budget holds about 4,000, not a million.
  assert.equal(sent, Math.floor((1 << 20) / (1 + LOCAL_MESSAGE_OVERHEAD)));
  assert.ok(budget(1).memory <= 1 << 20);
  assert.equal(host.memory, budget(1).memory);
  // Someone else's sends are not refused.
  const [c, d] = LocalSocket.pair(host, abi.SOCK_STREAM, caller(2).creds);
  await c.sendmsg(te.encode("fine"), 0, undefined, undefined, caller(2));
  // Closing the receiving ends drops their queues and gives every byte back.
  for (const [a, b] of pairs) {
    b.release();
    a.release();
  }
  assert.equal(budget(1).memory, 0);
  d.release();
  c.release();
  assert.equal(budget(2).memory, 0);
  assert.equal(host.memory, 0);
});
