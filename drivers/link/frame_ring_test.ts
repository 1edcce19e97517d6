import assert from "node:assert/strict";
import { FrameRing, RingWord } from "./frame_ring.ts";

function frame(len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i++) f[i] = (seed + i) & 0xff;
  return f;
}

Deno.test("frames come out in order, byte-identical, across many wrap-arounds", () => {
  const ring = new FrameRing(FrameRing.create(4096));
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 500; round++) {
    for (let k = 0; k < 3; k++) {
      const len = 1 + ((next * 131) % 1000);
      if (ring.push(frame(len, next))) next++;
    }
    for (let f = ring.pop(); f; f = ring.pop()) {
      assert.deepEqual(f, frame(1 + ((expect * 131) % 1000), expect));
      expect++;
    }
  }
  assert.equal(expect, next);
  assert.ok(next > 1000);
  assert.equal(ring.used, 0);
});

Deno.test("a full ring refuses and counts; space comes back after popping", () => {
  const ring = new FrameRing(FrameRing.create(4096));
  let accepted = 0;
  while (ring.push(frame(1000, accepted))) accepted++;
  assert.equal(accepted, 4); // 4 × 1004 bytes
  assert.equal(ring.fullDrops, 1);
  assert.equal(ring.push(new Uint8Array(2000)), false); // over a quarter of the ring
  assert.equal(ring.fullDrops, 2);
  assert.deepEqual(ring.pop(), frame(1000, 0));
  assert.ok(ring.push(frame(1000, 9)));
});

Deno.test("consume lends a view and releases the space afterwards", () => {
  const ring = new FrameRing(FrameRing.create(4096));
  ring.push(frame(60, 1));
  let seen: number[] = [];
  assert.equal(ring.consume((f) => (seen = [...f])), true);
  assert.deepEqual(seen, [...frame(60, 1)]);
  assert.equal(ring.consume(() => assert.fail("empty")), false);
  assert.ok(ring.empty);
});

Deno.test("sleep protocol: a push after prepareSleep bumps the wake word", () => {
  const ring = new FrameRing(FrameRing.create(4096));
  const seq = ring.prepareSleep();
  assert.notEqual(seq, undefined);
  ring.push(frame(10, 0));
  ring.wakeConsumer();
  assert.notEqual(Atomics.load(ring.words, RingWord.WAKE), seq);
  assert.equal(Atomics.load(ring.words, RingWord.SLEEPING), 0);
  // With a frame waiting, the consumer is told not to sleep.
  assert.equal(ring.prepareSleep(), undefined);
  // No sleeper, no wake-up.
  ring.pop();
  const before = Atomics.load(ring.words, RingWord.WAKE);
  ring.push(frame(10, 1));
  ring.wakeConsumer();
  assert.equal(Atomics.load(ring.words, RingWord.WAKE), before);
});

Deno.test("close is seen by both sides and refuses to sleep", () => {
  const ring = new FrameRing(FrameRing.create(4096));
  ring.close();
  assert.ok(ring.closed);
  assert.equal(ring.prepareSleep(), undefined);
});

Deno.test("bad capacities are refused", () => {
  assert.throws(() => FrameRing.create(1000), RangeError);
  assert.throws(() => new FrameRing(new SharedArrayBuffer(100)), RangeError);
  assert.equal(FrameRing.isRing(new ArrayBuffer(4096 + 32)), false);
});

Deno.test("a malformed record from a broken producer is discarded and counted, not looped on", () => {
  const sab = FrameRing.create(4096);
  const ring = new FrameRing(sab);
  ring.push(frame(60, 1));
  ring.push(frame(60, 2));
  new DataView(sab, 32).setUint32(0, 50_000, true); // the first record now claims 50,000 bytes
  assert.equal(ring.pop(), undefined);
  assert.equal(ring.words[RingWord.CORRUPT], 1);
  assert.ok(ring.empty);
  assert.ok(ring.push(frame(60, 3)));
  assert.deepEqual(ring.pop(), frame(60, 3));
});
