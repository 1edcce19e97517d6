import assert from "node:assert/strict";
import { GrowableRing, MIN_RING } from "./_ring.ts";
import { SendBuffer } from "./send.ts";
import { ReceiveBuffer } from "./receive.ts";

Deno.test("the ring grows by doubling up to its capacity, keeps its bytes across wrap, and is released", () => {
  const r = new GrowableRing(1 << 20);
  assert.equal(r.allocated, 0);
  r.writeAt(0, new Uint8Array(3000).fill(1));
  assert.equal(r.allocated, MIN_RING);
  r.advance(2500); // head near the end: the next write wraps
  r.writeAt(500, Uint8Array.from({ length: 5000 }, (_, i) => i & 255));
  assert.equal(r.allocated, 8192);
  const out = new Uint8Array(5500);
  r.readAt(0, 5500, out);
  assert.deepEqual(out.subarray(0, 500), new Uint8Array(500).fill(1));
  assert.deepEqual(out.subarray(500), Uint8Array.from({ length: 5000 }, (_, i) => i & 255));
  r.release();
  assert.equal(r.allocated, 0);
});

Deno.test("10,000 connections' buffers cost nothing when idle and return to nothing when drained", () => {
  const bufs = Array.from(
    { length: 10000 },
    () => [new SendBuffer(1 << 20), new ReceiveBuffer(1 << 20)] as const,
  );
  let total = 0;
  for (const [s, r] of bufs) total += s.allocated + r.allocated;
  assert.equal(total, 0);
  const [s, r] = bufs[0];
  s.write(new Uint8Array(100_000));
  r.reset(1000);
  r.insert(1000, new Uint8Array(70_000));
  assert.ok(s.allocated >= 100_000 && s.allocated < 200_000);
  s.consume(100_000);
  r.read();
  assert.equal(s.allocated + r.allocated, 0);
});
