/**
 * `unread` gives back only what the caller's own last receive took: the bytes return exactly
 * where they were, and nothing else (forged bytes, another process's, bytes read since) can be
 * pushed in front of the stream.
 */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import type { ErrnoError } from "../../kernel/errno.ts";
import { SharedStream } from "../../kernel/bus/shared_stream.ts";
import { Sim } from "../../tests/sim.ts";
import { type TcpSocket, UNREAD_MAX } from "./tcp_socket.ts";

const PID = 42;
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const te = new TextEncoder();
const td = new TextDecoder();
const invalid = (e: ErrnoError) => e.code === "EINVAL";

async function connected() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const ctx = { signal: sim.signal };
  const l = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("127.0.0.1", 5001));
  l.listen(4);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  c.owners.add(PID);
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("127.0.0.1", 5001), ctx));
  const peer = (await sim.until(accepted)).socket as TcpSocket;
  peer.setsockopt(abi.IPPROTO_TCP, abi.TCP_NODELAY, 1); // every send leaves at once
  const send = async (s: string | Uint8Array) => {
    await sim.until(peer.sendmsg(typeof s === "string" ? te.encode(s) : s, 0, undefined, ctx));
    await sim.run(5);
  };
  /** A receive by `pid` on its own port (null: through the kernel). */
  const recv = async (len: number, pid: number | null = PID) =>
    (await sim.until(c.recvmsg(len, 0, { signal: sim.signal, pid: pid ?? undefined }))).data;
  return { sim, c, peer, send, recv, ctx };
}

Deno.test("unread: the tail of the caller's last receive goes back in front, once", async () => {
  const { c, send, recv } = await connected();
  await send("hello world");
  assert.equal(td.decode(await recv(1000)), "hello world");
  await send("!");
  c.unread(te.encode("world"), PID);
  assert.throws(() => c.unread(te.encode("world"), PID), invalid); // given back already
  c.unread(te.encode("hello "), PID); // what is left of it may go back too
  assert.equal(td.decode(await recv(1000)), "hello world");
  assert.equal(td.decode(await recv(1000)), "!");
});

Deno.test("unread: forged bytes, another process's bytes, or bytes read since get EINVAL", async () => {
  const { c, send, recv } = await connected();
  await send("GET / HTTP/1.0\r\n");
  await recv(1000);
  assert.throws(() => c.unread(te.encode("EVIL"), PID), invalid);
  assert.throws(() => c.unread(te.encode("HTTP/1.0\r\n"), PID + 1), invalid); // not its receive
  assert.throws(() => c.unread(te.encode("HTTP/1.0\r!"), PID), invalid); // contents compared
  assert.throws(() => c.unread(te.encode("xGET / HTTP/1.0\r\n"), PID), invalid); // longer
  await send("more");
  assert.equal(td.decode(await recv(1000)), "more");
  assert.throws(() => c.unread(te.encode("HTTP/1.0\r\n"), PID), invalid); // not the last
  await send("x");
  await recv(1000, null); // a receive through the kernel: nobody may give it back
  assert.throws(() => c.unread(te.encode("x"), PID), invalid);
  // The peer's bytes alone reach the reader.
  await send("tail");
  assert.equal(td.decode(await recv(1000)), "tail");
});

Deno.test("unread: a receive larger than one read-ahead is not kept", async () => {
  const { c, send, recv } = await connected();
  await send("abc");
  assert.equal(td.decode(await recv(UNREAD_MAX + 1)), "abc");
  assert.throws(() => c.unread(te.encode("c"), PID), invalid);
  await send("def");
  assert.equal(td.decode(await recv(UNREAD_MAX)), "def");
  c.unread(te.encode("ef"), PID);
});

Deno.test("unread: bytes read ahead before sharing go back after the rings; not once rx was read", async () => {
  const { sim, c, send, recv } = await connected();
  await send("ahead");
  assert.equal(td.decode(await recv(1000)), "ahead");
  const sh = SharedStream.create(64 << 10);
  c.share(PID, new SharedStream(sh.sab, true));
  await send("ring");
  c.unshare(); // "ring" comes back from rx
  c.unread(te.encode("head"), PID); // before it
  let got = "";
  while (got.length < 8) got += td.decode(await recv(1000));
  assert.equal(got, "headring");

  await send("again");
  assert.equal(td.decode(await recv(1000)), "again");
  const sh2 = SharedStream.create(64 << 10);
  c.share(PID, new SharedStream(sh2.sab, true));
  await send("rx");
  await sim.run(5);
  assert.equal(td.decode(sh2.rxRead(100)), "rx"); // the holder reads rx itself
  assert.throws(() => c.unread(te.encode("gain"), PID), invalid);
  c.unshare();
  assert.throws(() => c.unread(te.encode("gain"), PID), invalid);
});
