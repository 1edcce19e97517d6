/** Urgent data through TCP sockets between simulated hosts (send/recv MSG_OOB, POLLPRI, SO_OOBINLINE). */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import type { ErrnoError } from "../../kernel/errno.ts";
import { SharedStream } from "../../kernel/bus/shared_stream.ts";
import { withFaults } from "../../drivers/link/faults.ts";
import { Sim } from "../../tests/sim.ts";
import type { TcpSocket } from "./tcp_socket.ts";

const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

async function pair(inline = false, faults?: string) {
  const sim = new Sim();
  const wrap = faults
    ? (p: Parameters<typeof withFaults>[0]) => withFaults(p, faults, sim.clock)
    : undefined;
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] }, { wrap });
  const ctx = { signal: sim.signal };
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  if (inline) l.setsockopt(abi.SOL_SOCKET, abi.SO_OOBINLINE, 1); // inherited by accept()
  l.bind(in4("0.0.0.0", 5001));
  l.listen(8);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5001), ctx));
  const { socket } = await sim.until(accepted);
  return { sim, c, s: socket as TcpSocket, ctx };
}

const code = (e: unknown) => (e as ErrnoError).code;

Deno.test("TCP urgent: send(MSG_OOB) reaches recv(MSG_OOB), POLLPRI meanwhile, the stream stops at the mark", async () => {
  const { sim, c, s, ctx } = await pair();
  assert.equal(s.readiness() & abi.POLLPRI, 0);
  await assert.rejects(s.recvmsg(1, abi.MSG_OOB, ctx), (e) => code(e) === "EINVAL");
  await sim.until(c.sendmsg(text("hello"), 0, undefined, ctx));
  await sim.until(c.sendmsg(text("!"), abi.MSG_OOB, undefined, ctx));
  await sim.until(c.sendmsg(text("world"), 0, undefined, ctx));
  await sim.run(500);
  assert.ok(s.readiness() & abi.POLLPRI);
  assert.ok(s.readiness() & abi.POLLIN);
  const first = await s.recvmsg(100, 0, ctx);
  assert.equal(str(first.data), "hello", "a read stops at the mark");
  const oob = await s.recvmsg(100, abi.MSG_OOB, ctx);
  assert.equal(str(oob.data), "!");
  assert.equal(oob.flags & abi.MSG_OOB, abi.MSG_OOB);
  assert.equal(s.readiness() & abi.POLLPRI, 0);
  await assert.rejects(s.recvmsg(1, abi.MSG_OOB, ctx), (e) => code(e) === "EINVAL");
  assert.equal(str((await s.recvmsg(100, 0, ctx)).data), "world");
});

Deno.test("TCP urgent: SO_OOBINLINE keeps the byte in the stream and MSG_OOB is EINVAL", async () => {
  const { sim, c, s, ctx } = await pair(true);
  assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_OOBINLINE), 1);
  await sim.until(c.sendmsg(text("ab"), 0, undefined, ctx));
  await sim.until(c.sendmsg(text("XYZ"), abi.MSG_OOB, undefined, ctx));
  await sim.run(500);
  assert.ok(s.readiness() & abi.POLLPRI);
  await assert.rejects(s.recvmsg(1, abi.MSG_OOB, ctx), (e) => code(e) === "EINVAL");
  assert.equal(str((await s.recvmsg(100, 0, ctx)).data), "abXY");
  assert.equal(str((await s.recvmsg(100, 0, ctx)).data), "Z");
});

Deno.test("TCP urgent: recv(MSG_OOB) never blocks: a byte already read is EINVAL, and the FIN still ends the stream", async () => {
  const { sim, c, s, ctx } = await pair();
  await sim.until(c.sendmsg(text("x"), abi.MSG_OOB, undefined, ctx));
  await sim.run(500);
  // A blocking socket: a second OOB read of the same byte is EINVAL, not a wait.
  assert.equal(str((await s.recvmsg(1, abi.MSG_OOB, ctx)).data), "x");
  await assert.rejects(s.recvmsg(1, abi.MSG_OOB, ctx), (e) => code(e) === "EINVAL");
  c.shutdown(abi.SHUT_WR);
  await sim.run(500);
  assert.equal((await s.recvmsg(100, 0, ctx)).data.length, 0, "EOF, the OOB byte not in it");
});

Deno.test("TCP urgent: through a reader's shared rx ring the bytes stop at the mark and the OOB byte is not in them", async () => {
  const { sim, c, s, ctx } = await pair();
  s.owners.add(42);
  const sh = SharedStream.create();
  s.share(42, new SharedStream(sh.sab, true));
  await sim.until(c.sendmsg(text("before"), 0, undefined, ctx));
  await sim.run(100);
  await sim.until(c.sendmsg(text("!"), abi.MSG_OOB, undefined, ctx));
  await sim.until(c.sendmsg(text("after"), 0, undefined, ctx));
  await sim.run(500);
  assert.ok(s.readiness() & abi.POLLPRI);
  assert.equal(str(sh.rxRead(100)), "before", "the ring holds only what precedes the mark");
  assert.equal(str((await s.recvmsg(1, abi.MSG_OOB, ctx)).data), "!");
  s.pump();
  assert.equal(sh.rxUsed(), 0, "the pump does not pass the mark by itself");
  const r = await s.recvmsg(100, 0, ctx, true); // the reader's rxwait once its ring ran dry
  assert.equal(str(r.data) + str(sh.rxRead(100)), "after");
});

Deno.test("TCP urgent: MSG_WAITALL stops at the mark once it has bytes (Linux)", async () => {
  const { sim, c, s, ctx } = await pair();
  await sim.until(c.sendmsg(text("abc"), 0, undefined, ctx));
  await sim.until(c.sendmsg(text("!"), abi.MSG_OOB, undefined, ctx));
  await sim.until(c.sendmsg(text("defgh"), 0, undefined, ctx));
  await sim.run(500);
  assert.equal(str((await s.recvmsg(8, abi.MSG_WAITALL, ctx)).data), "abc");
  assert.equal(str((await s.recvmsg(5, abi.MSG_WAITALL, ctx)).data), "defgh");
});

Deno.test("TCP urgent: through loss, duplication and reordering the stream stays intact but for the OOB byte", async () => {
  for (const seedSpec of ["loss=0.1,dup=0.05,reorder=0.1", "loss=0.2,reorder=0.2"]) {
    const { sim, c, s, ctx } = await pair(false, seedSpec);
    const before = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 13) & 0xff);
    const after = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7 + 1) & 0xff);
    const sending = (async () => {
      await c.sendmsg(before, 0, undefined, ctx);
      await c.sendmsg(Uint8Array.of(0xee), abi.MSG_OOB, undefined, ctx);
      await c.sendmsg(after, 0, undefined, ctx);
      c.shutdown(abi.SHUT_WR);
    })();
    const parts: number[] = [];
    let oob: number | undefined;
    const receiving = (async () => {
      for (;;) {
        if (oob === undefined && s.readiness() & abi.POLLPRI) {
          oob = (await s.recvmsg(1, abi.MSG_OOB, ctx)).data[0];
        }
        const r = await s.recvmsg(65536, 0, ctx);
        if (r.data.length === 0) break;
        parts.push(...r.data);
      }
    })();
    await sim.until(Promise.all([sending, receiving]), 600_000);
    const expected = [...before, ...after];
    assert.equal(parts.length, expected.length, "the OOB byte is not in the stream");
    assert.deepEqual(Uint8Array.from(parts), Uint8Array.from(expected));
    assert.ok(oob === undefined || oob === 0xee);
  }
});

Deno.test("TCP urgent: MSG_PEEK stops at the mark and peeking past it keeps the urgent byte (Linux)", async () => {
  const { sim, c, s, ctx } = await pair();
  await sim.until(c.sendmsg(text("abc"), 0, undefined, ctx));
  await sim.until(c.sendmsg(text("!"), abi.MSG_OOB, undefined, ctx));
  await sim.until(c.sendmsg(text("de"), 0, undefined, ctx));
  await sim.run(500);
  assert.equal(str((await s.recvmsg(100, abi.MSG_PEEK, ctx)).data), "abc");
  assert.equal(str((await s.recvmsg(100, 0, ctx)).data), "abc");
  assert.equal(str((await s.recvmsg(100, abi.MSG_PEEK, ctx)).data), "de", "a peek at the mark");
  assert.equal(str((await s.recvmsg(1, abi.MSG_OOB, ctx)).data), "!");
  assert.equal(str((await s.recvmsg(100, 0, ctx)).data), "de");
});
