import assert from "node:assert/strict";
import { SendBuffer } from "./send.ts";

Deno.test("send buffer: write stops at capacity", () => {
  const b = new SendBuffer(8);
  assert.equal(b.write(new Uint8Array([1, 2, 3, 4, 5])), 5);
  assert.equal(b.write(new Uint8Array([6, 7, 8, 9, 10])), 3);
  assert.equal(b.write(new Uint8Array([11])), 0);
  assert.equal(b.free, 0);
  assert.deepEqual([...b.read(0, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("send buffer: consume and wrap around the ring", () => {
  const b = new SendBuffer(8);
  b.write(new Uint8Array([1, 2, 3, 4, 5, 6]));
  b.consume(4);
  assert.equal(b.length, 2);
  assert.equal(b.write(new Uint8Array([7, 8, 9, 10, 11, 12])), 6);
  assert.deepEqual([...b.read(0, 100)], [5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual([...b.read(3, 2)], [8, 9]);
  b.consume(100);
  assert.equal(b.length, 0);
});
