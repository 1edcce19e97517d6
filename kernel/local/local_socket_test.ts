import assert from "node:assert/strict";
import * as abi from "../abi.ts";
import { ManualClock } from "../clock.ts";
import type { ErrnoError } from "../errno.ts";
import { FdTable } from "../fd_table.ts";
import type { HandleBase } from "../handle.ts";
import { type Caller, createLocalSocket, LocalHost, LocalSocket } from "./local_socket.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function setup() {
  const clock = new ManualClock();
  const host = new LocalHost(clock);
  const fds = new FdTable<HandleBase>();
  const caller = (pid: number): Caller => ({
    creds: { pid, uid: 1000, gid: 1000 },
    signal: new AbortController().signal,
    install: (h) => fds.install(h),
    resolve: (fd) => fds.get(fd),
  });
  return { clock, host, fds, caller };
}

const errCode = (code: string) => (e: ErrnoError) => e.code === code;

Deno.test("stream: bind, listen, connect, accept, data both ways, EOF on close", async () => {
  const { host, caller } = setup();
  const srv = createLocalSocket(host, abi.SOCK_STREAM, caller(1).creds);
  srv.bind({ family: 1, path: "/s" });
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

Deno.test("path errors: EADDRINUSE, ENOENT, ECONNREFUSED after close, unlink", async () => {
  const { host, caller } = setup();
  const a = createLocalSocket(host, abi.SOCK_STREAM, caller(1).creds);
  a.bind({ family: 1, path: "/p" });
  const b = createLocalSocket(host, abi.SOCK_STREAM, caller(1).creds);
  assert.throws(() => b.bind({ family: 1, path: "/p" }), errCode("EADDRINUSE"));
  assert.throws(() => b.bind({ family: 1, path: "" }), errCode("EINVAL"));
  assert.throws(() => b.bind({ family: 1, path: "x".repeat(200) }), errCode("ENAMETOOLONG"));
  await assert.rejects(b.connect({ family: 1, path: "/nothing" }, caller(1)), errCode("ENOENT"));
  await assert.rejects(b.connect({ family: 1, path: "/p" }, caller(1)), errCode("ECONNREFUSED"));
  a.release();
  await assert.rejects(b.connect({ family: 1, path: "/p" }, caller(1)), errCode("ECONNREFUSED"));
  host.ns.unlink("/p");
  assert.throws(() => host.ns.unlink("/p"), errCode("ENOENT"));
  b.bind({ family: 1, path: "/p" });
});

Deno.test("datagram: boundaries, MSG_TRUNC, source path, queue limit EAGAIN", async () => {
  const { host, caller } = setup();
  const r = createLocalSocket(host, abi.SOCK_DGRAM, caller(1).creds);
  r.bind({ family: 1, path: "/d" });
  const s = createLocalSocket(host, abi.SOCK_DGRAM, caller(2).creds);
  s.bind({ family: 1, path: "/from" });
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
