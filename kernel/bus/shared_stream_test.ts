/** The shared rings' protocol: wrap-around, bells, claims by compare-exchange, corrupt counts. */
import assert from "node:assert/strict";
import { SHARE_RING, shareBytes, SharedStream } from "./shared_stream.ts";

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 255);

Deno.test("tx: the process's bytes come out in order across the wrap, and a full ring takes none", () => {
  const s = SharedStream.create();
  let written = 0;
  let read = 0;
  for (let round = 0; round < 10; round++) {
    const n = s.txWrite(bytes(100_000, written));
    written += n;
    for (let u = s.txUsed(); u > 0; u = s.txUsed()) {
      const run = s.txPeek(70_000);
      assert.deepEqual(run, bytes(run.length, read));
      read += run.length;
      s.txConsume(run.length);
    }
  }
  assert.equal(read, 1_000_000);
  assert.equal(s.txWrite(bytes(SHARE_RING)), SHARE_RING);
  assert.equal(s.txWrite(bytes(1)), 0);
});

Deno.test("bells: a dry tx asks for one, a write answers it once; a full rx asks, a read answers", () => {
  const s = SharedStream.create();
  assert.equal(s.txArmBell(), false);
  s.txWrite(bytes(10));
  assert.equal(s.txTakeBell(), true);
  assert.equal(s.txTakeBell(), false);
  // rx: fill it completely, arm, then a reader frees room and takes the bell.
  const room = s.rxSpace(SHARE_RING);
  room.set(bytes(room.length));
  s.rxCommit(room.length);
  assert.equal(s.rxArmBell(), false);
  assert.equal(s.rxRead(1000).length, 1000);
  assert.equal(s.rxTakeBell(), true);
  assert.equal(s.rxTakeBell(), false);
});

Deno.test("rx: two readers never get the same byte (claims by compare-exchange)", () => {
  const s = SharedStream.create();
  const other = new SharedStream(s.sab); // a second view, as another thread would hold
  let put = 0;
  let got = 0;
  for (let i = 0; i < 50; i++) {
    const room = s.rxSpace(30_000);
    room.set(bytes(room.length, put));
    put += room.length;
    s.rxCommit(room.length);
    const peek = other.rxRead(500, true);
    const a = s.rxRead(7_000);
    assert.deepEqual(peek, a.subarray(0, peek.length));
    assert.deepEqual(a, bytes(a.length, got));
    got += a.length;
    const b = other.rxRead(9_000);
    assert.deepEqual(b, bytes(b.length, got));
    got += b.length;
  }
  got += s.rxRead(SHARE_RING).length;
  assert.equal(got, put);
});

Deno.test("counts that make no sense read as corrupt (-1), and views stay empty", () => {
  const s = SharedStream.create();
  s.ctl[0] = SHARE_RING + 1; // TX_HEAD past what the ring can hold
  assert.equal(s.txUsed(), -1);
  assert.equal(s.txPeek(100).length, 0);
  assert.equal(s.txWrite(bytes(10)), 0);
  s.ctl[4] = 5; // RX_TAIL ahead of RX_HEAD
  assert.equal(s.rxUsed(), -1);
  assert.equal(s.rxSpace(100).length, 0);
  assert.equal(s.rxRead(100).length, 0);
});

Deno.test("a share is a SharedArrayBuffer with two rings of a power of two, 64 KiB to 4 MiB", () => {
  assert.equal(new SharedStream(new SharedArrayBuffer(shareBytes(65536))).ring, 65536);
  for (const bad of [shareBytes() - 1, shareBytes(32768), shareBytes(8 << 20), shareBytes(98304)]) {
    assert.throws(() => new SharedStream(new SharedArrayBuffer(bad)), RangeError);
  }
  assert.throws(
    () => new SharedStream(new ArrayBuffer(shareBytes()) as unknown as SharedArrayBuffer),
    RangeError,
  );
});

Deno.test("the netstack believes only its own tx tail and rx head", () => {
  const proc = SharedStream.create(65536);
  const net = new SharedStream(proc.sab, true);
  proc.txWrite(bytes(1000));
  assert.equal(net.txUsed(), 1000);
  proc.ctl[1] = 1000; // the holder pretends the netstack took everything
  assert.equal(net.txUsed(), 1000);
  net.txConsume(400);
  assert.equal(proc.txUsed(), 600);
  const room = net.rxSpace(100);
  room.fill(7);
  net.rxCommit(100);
  proc.ctl[3] = 5000; // and that more arrived than did
  assert.equal(net.rxUsed(), 100);
  assert.equal(net.rxSpace(1 << 20).length, 65536 - 100);
});
