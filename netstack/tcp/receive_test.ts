import assert from "node:assert/strict";
import { ReceiveBuffer } from "./receive.ts";

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => from + i);

Deno.test("receive: in-order data advances RCV.NXT", () => {
  const r = new ReceiveBuffer(16);
  r.reset(100);
  const res = r.insert(100, bytes(0, 4));
  assert.equal(res.advanced, 4);
  assert.equal(r.next, 104);
  assert.equal(r.window, 12);
  assert.deepEqual([...r.read()], [0, 1, 2, 3]);
  assert.equal(r.window, 16);
});

Deno.test("receive: out-of-order data is held, reported as SACK, and released by the hole", () => {
  const r = new ReceiveBuffer(32);
  r.reset(0xffff_fffe); // the hole straddles the 2^32 wrap
  const a = r.insert(2, bytes(4, 4));
  assert.ok(a.outOfOrder);
  assert.equal(a.advanced, 0);
  r.insert(8, bytes(10, 2));
  assert.deepEqual(r.sackBlocks(4), [[8, 10], [2, 6]]);
  const b = r.insert(0xffff_fffe, bytes(0, 4));
  assert.ok(b.filledHole);
  assert.equal(b.advanced, 8);
  assert.equal(r.next, 6);
  assert.deepEqual(r.sackBlocks(4), [[8, 10]]);
  assert.deepEqual([...r.read()], [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("receive: duplicates and overlaps are trimmed", () => {
  const r = new ReceiveBuffer(16);
  r.reset(0);
  r.insert(0, bytes(0, 4));
  const res = r.insert(2, bytes(2, 4));
  assert.equal(res.advanced, 2);
  assert.deepEqual([...r.read()], [0, 1, 2, 3, 4, 5]);
  assert.equal(r.insert(0, bytes(0, 6)).accepted, 0);
});

Deno.test("receive: data beyond the window is cut, memory stays bounded", () => {
  const r = new ReceiveBuffer(8, 2);
  r.reset(0);
  assert.equal(r.insert(4, bytes(4, 10)).accepted, 4);
  assert.equal(r.insert(100, bytes(0, 10)).accepted, 0);
  r.reset(0);
  assert.equal(r.insert(1, bytes(1, 1)).accepted, 1);
  assert.equal(r.insert(3, bytes(3, 1)).accepted, 1);
  // A third disjoint range exceeds maxRanges and is dropped.
  assert.equal(r.insert(5, bytes(5, 1)).accepted, 0);
  assert.equal(r.outOfOrderBytes, 2);
});

Deno.test("receive: a repeat of out-of-order bytes reports their span (D-SACK)", () => {
  const r = new ReceiveBuffer(64);
  r.reset(100);
  assert.equal(r.insert(110, bytes(0, 4)).duplicate, undefined);
  r.insert(120, bytes(0, 4));
  assert.deepEqual(r.insert(108, bytes(0, 14)).duplicate, [110, 122]); // from the first range into the second
  assert.deepEqual(r.insert(111, bytes(0, 2)).duplicate, [111, 113]);
  // In order, running into held bytes: the overlap is the duplicate.
  assert.deepEqual(r.insert(100, bytes(0, 10)).duplicate, [108, 110]);
  assert.equal(r.insert(130, bytes(0, 2)).duplicate, undefined);
});
