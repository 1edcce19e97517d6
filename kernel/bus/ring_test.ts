import assert from "node:assert/strict";
import { allocRing, ByteRing, RECORD_HEADER, type RingRecord } from "./ring.ts";

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 7 + i * 13) & 255;
  return out;
}

function drainAll(ring: ByteRing): RingRecord[] {
  const out: RingRecord[] = [];
  ring.drain(out);
  return out;
}

Deno.test("records come out in order with their tags and bytes", () => {
  const ring = new ByteRing(allocRing(1024));
  assert.equal(ring.hasData(), false);
  assert.ok(ring.tryWrite(bytes(5, 1), 7));
  assert.ok(ring.tryWrite(new Uint8Array(0)));
  assert.ok(ring.tryWrite(bytes(100, 2), 1));
  assert.equal(ring.hasData(), true);
  const got = drainAll(ring);
  assert.deepEqual(got.map((r) => r.tag), [7, 0, 1]);
  assert.deepEqual(got[0].bytes, bytes(5, 1));
  assert.equal(got[1].bytes.length, 0);
  assert.deepEqual(got[2].bytes, bytes(100, 2));
  assert.equal(ring.used, 0);
  assert.equal(drainAll(ring).length, 0);
});

Deno.test("drain honours max and leaves the rest", () => {
  const ring = new ByteRing(allocRing(1024));
  for (let i = 0; i < 5; i++) assert.ok(ring.tryWrite(bytes(3, i), i));
  const out: RingRecord[] = [];
  assert.equal(ring.drain(out, 2), 2);
  assert.equal(ring.drain(out), 3);
  assert.deepEqual(out.map((r) => r.tag), [0, 1, 2, 3, 4]);
});

Deno.test("wrap-around with a skip marker keeps order and content over many laps", () => {
  const ring = new ByteRing(allocRing(256));
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let written = 0;
  let read = 0;
  const out: RingRecord[] = [];
  while (read < 5000) {
    // Write until full, then read a random share back.
    for (;;) {
      const n = Math.floor(rand() * (ring.maxRecord + 1));
      if (!ring.fits(n)) {
        assert.equal(ring.tryWrite(bytes(n, written), written), false);
        break;
      }
      assert.ok(ring.tryWrite(bytes(n, written), written));
      written++;
    }
    out.length = 0;
    ring.drain(out, 1 + Math.floor(rand() * 4));
    for (const r of out) {
      assert.equal(r.tag, read);
      assert.deepEqual(r.bytes, bytes(r.bytes.length, read));
      read++;
    }
  }
});

Deno.test("a full ring refuses writes until the consumer frees space", () => {
  const ring = new ByteRing(allocRing(128));
  let n = 0;
  while (ring.tryWrite(bytes(24, n), n)) n++;
  assert.equal(n, 3); // 32-byte records in 128 bytes, one slot's worth kept free
  assert.equal(ring.fits(24), false);
  assert.equal(ring.fits(0), true); // an 8-byte header still fits
  const out: RingRecord[] = [];
  ring.drain(out, 1);
  assert.ok(ring.fits(24));
  assert.ok(ring.tryWrite(bytes(24, 3), 3));
  ring.drain(out);
  assert.deepEqual(out.map((r) => r.tag), [0, 1, 2, 3]);
});

Deno.test("records over maxRecord are rejected; maxRecord fits an empty ring at any offset", () => {
  const ring = new ByteRing(allocRing(256));
  assert.throws(() => ring.tryWrite(new Uint8Array(ring.maxRecord + 1)), RangeError);
  assert.ok(ring.maxRecord >= 256 / 2 - 2 * RECORD_HEADER);
  const out: RingRecord[] = [];
  for (let step = 0; step < 64; step++) {
    assert.ok(ring.tryWrite(bytes(ring.maxRecord, step)), `offset step ${step}`);
    ring.drain(out);
    assert.deepEqual(out.pop()!.bytes, bytes(ring.maxRecord, step));
    assert.ok(ring.tryWrite(bytes(0, 0))); // move HEAD along by one header
    ring.drain(out);
  }
});

Deno.test("bad capacities are refused", () => {
  assert.throws(() => allocRing(100), RangeError);
  assert.throws(() => allocRing(32), RangeError);
  assert.throws(() => new ByteRing(new SharedArrayBuffer(10)), RangeError);
});

Deno.test("sleep protocol: arm reports data, a write after arm changes the token", async () => {
  const ring = new ByteRing(allocRing(256));
  const token = ring.armData();
  assert.notEqual(token, undefined);
  ring.tryWrite(bytes(4, 0)); // sees SLEEPING, bumps the sequence and notifies
  assert.equal(ring.waitData(token!), undefined); // sequence moved: no wait at all
  assert.equal(ring.armData(), undefined); // data is there: do not sleep

  const out: RingRecord[] = [];
  ring.drain(out);
  const t2 = ring.armData()!;
  const pending = ring.waitData(t2);
  assert.ok(pending instanceof Promise);
  ring.tryWrite(bytes(1, 1));
  assert.equal(await pending, "ok");
});

Deno.test("space protocol: a producer waiting for space is woken by drain", async () => {
  const ring = new ByteRing(allocRing(128));
  while (ring.tryWrite(bytes(24, 0))) { /* fill */ }
  assert.equal(ring.armSpace(() => true), undefined); // room already: retry instead of waiting
  const token = ring.armSpace(() => ring.fits(24))!;
  assert.notEqual(token, undefined);
  const pending = ring.waitSpace(token);
  assert.ok(pending instanceof Promise);
  ring.drain([], 1);
  assert.equal(await pending, "ok");
  assert.ok(ring.tryWrite(bytes(24, 0)));
});

Deno.test("wakeAll releases both kinds of waiter", async () => {
  const ring = new ByteRing(allocRing(128));
  const d = ring.waitData(ring.armData()!);
  while (ring.tryWrite(bytes(24, 0))) { /* fill */ }
  const s = ring.waitSpace(ring.armSpace(() => false)!);
  ring.wakeAll();
  assert.deepEqual(await Promise.all([d, s]), ["ok", "ok"]);
});
