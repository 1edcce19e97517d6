/**
 * A TCP socket's shared rings from the netstack's side, under a manual clock: bytes move both
 * ways without calls, end of stream and failures show in the state bits, revoking keeps the
 * byte order, and a holder scribbling over the control words only ends its own connection.
 */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import type { ErrnoError } from "../../kernel/errno.ts";
import {
  SHARE_READ_END,
  SHARE_REVOKED,
  SHARE_WRITE_END,
  SharedStream,
} from "../../kernel/bus/shared_stream.ts";
import { Sim } from "../../tests/sim.ts";
import type { TcpSocket } from "./tcp_socket.ts";

const PID = 42;
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 255);

async function connected() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  const ctx = { signal: sim.signal };
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 5001));
  l.listen(4);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  c.owners.add(PID);
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5001), ctx));
  const peer = (await sim.until(accepted)).socket as TcpSocket;
  return { sim, a, c, peer, ctx };
}

/** Everything the peer can read until `n` bytes came (or EOF). */
async function readN(sim: Sim, s: TcpSocket, n: number, ctx: { signal: AbortSignal }) {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const r = await sim.until(s.recvmsg(n - got, 0, ctx));
    if (r.data.length === 0) break;
    parts.push(r.data);
    got += r.data.length;
  }
  const out = new Uint8Array(got);
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

Deno.test("shared rings: bytes written to tx reach the peer, the peer's bytes appear in rx", async () => {
  const { sim, c, peer, ctx } = await connected();
  const sh = SharedStream.create();
  c.share(PID, new SharedStream(sh.sab, true));
  // 600 KB through a 256 KiB ring: the netstack asks for bells as it runs dry.
  let put = 0;
  const total = 600_000;
  const reading = readN(sim, peer, total, ctx);
  while (put < total) {
    put += sh.txWrite(bytes(Math.min(50_000, total - put), put));
    if (sh.txTakeBell()) c.pump();
    await sim.run(1);
  }
  assert.deepEqual(await reading, bytes(total));
  await sim.until(peer.sendmsg(bytes(3000, 9), 0, undefined, ctx));
  await sim.run(10);
  assert.deepEqual(sh.rxRead(10_000), bytes(3000, 9));
  assert.equal(sh.state, 0);
  // The peer closes: once rx is drained the holder learns there is nothing more.
  peer.release();
  await sim.run(10);
  assert.equal(sh.state & SHARE_READ_END, SHARE_READ_END);
  assert.equal(c.readiness() & abi.POLLIN, abi.POLLIN);
  assert.equal((await sim.until(c.recvmsg(100, 0, ctx))).data.length, 0);
});

Deno.test("shared rings: a reset connection ends tx, and the send by message says why", async () => {
  const { sim, c, peer, ctx } = await connected();
  const sh = SharedStream.create();
  c.share(PID, new SharedStream(sh.sab, true));
  peer.setsockopt(abi.SOL_SOCKET, abi.SO_LINGER, { onoff: true, linger: 0 });
  peer.release();
  await sim.run(10);
  sh.txWrite(bytes(100));
  c.pump();
  assert.equal(sh.state & SHARE_WRITE_END, SHARE_WRITE_END);
  await assert.rejects(
    sim.until(c.sendmsg(bytes(10), 0, undefined, ctx)),
    (e: ErrnoError) => e.code === "ECONNRESET",
  );
});

Deno.test("shared rings: revoking keeps order: tx bytes are sent, rx bytes are read first", async () => {
  const { sim, c, peer, ctx } = await connected();
  const sh = SharedStream.create();
  c.share(PID, new SharedStream(sh.sab, true));
  await sim.until(peer.sendmsg(bytes(5000), 0, undefined, ctx));
  await sim.run(10);
  assert.deepEqual(sh.rxRead(1000), bytes(1000)); // the holder read some itself
  sh.txWrite(bytes(700, 3));
  c.owners.add(PID + 1); // as the kernel's "owner" message does, then unshare:
  c.unshare();
  assert.equal(sh.state & SHARE_REVOKED, SHARE_REVOKED);
  assert.equal(c.shared, false);
  await sim.until(peer.sendmsg(bytes(10, 5000), 0, undefined, ctx));
  await sim.run(10);
  assert.deepEqual(await readN(sim, c, 4010, ctx), bytes(4010, 1000));
  assert.deepEqual(await readN(sim, peer, 700, ctx), bytes(700, 3));
});

Deno.test("shared rings: only the sole holder of a connected socket gets them", async () => {
  const { c } = await connected();
  assert.throws(
    () => c.share(PID + 1, SharedStream.create()),
    (e: ErrnoError) => e.code === "EBUSY",
  );
  const dirty = SharedStream.create();
  dirty.txWrite(bytes(1));
  assert.throws(() => c.share(PID, dirty), (e: ErrnoError) => e.code === "EINVAL");
  c.share(PID, SharedStream.create());
  assert.throws(() => c.share(PID, SharedStream.create()), (e: ErrnoError) => e.code === "EBUSY");
});

Deno.test("shared rings: scribbled control words end only that connection, counted", async () => {
  const { sim, a, c, peer, ctx } = await connected();
  const sh = SharedStream.create();
  c.share(PID, new SharedStream(sh.sab, true));
  sh.ctl[0] = 0x7fff_0000; // TX_HEAD far past anything a ring can hold
  c.pump();
  assert.equal(sh.state & SHARE_REVOKED, SHARE_REVOKED);
  assert.equal(a.counters.get("tcp: shared ring corrupt"), 1);
  await sim.run(10);
  await assert.rejects(
    sim.until(peer.recvmsg(10, 0, ctx)),
    (e: ErrnoError) => e.code === "ECONNRESET",
  );
});

Deno.test("shared rings: a waiting reader is told bytes are in rx; they stay there for it", async () => {
  const { sim, c, peer, ctx } = await connected();
  const sh = SharedStream.create();
  c.share(PID, new SharedStream(sh.sab, true));
  const waiting = c.recvmsg(65536, 0, ctx, true);
  await sim.run(5);
  await sim.until(peer.sendmsg(bytes(10), 0, undefined, ctx)); // ends with PSH: wake at once
  const r = await sim.until(waiting);
  assert.equal(r.ring, true);
  assert.equal(r.data.length, 0);
  assert.deepEqual(sh.rxRead(100), bytes(10));
});
