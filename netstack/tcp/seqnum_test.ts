import assert from "node:assert/strict";
import { inWindow, seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from "./seqnum.ts";

Deno.test("seqnum: ordinary comparisons", () => {
  assert.ok(seqLt(1, 2));
  assert.ok(seqLe(2, 2));
  assert.ok(seqGt(3, 2));
  assert.ok(seqGe(3, 3));
  assert.ok(!seqLt(2, 2));
});

Deno.test("seqnum: comparisons across the 2^32 wrap", () => {
  const near = 0xffff_fff0;
  const past = seqAdd(near, 0x20);
  assert.equal(past, 0x10);
  assert.ok(seqLt(near, past));
  assert.ok(seqGt(past, near));
  assert.equal(seqSub(past, near), 0x20);
  assert.equal(seqSub(near, past), -0x20);
  assert.equal(seqMax(near, past), past);
  assert.equal(seqMin(near, past), near);
});

Deno.test("seqnum: seqAdd stays unsigned", () => {
  assert.equal(seqAdd(0xffff_ffff, 1), 0);
  assert.equal(seqAdd(0, -1), 0xffff_ffff);
});

Deno.test("seqnum: inWindow with and without wrap", () => {
  assert.ok(inWindow(5, 5, 1));
  assert.ok(!inWindow(6, 5, 1));
  assert.ok(!inWindow(4, 5, 10));
  assert.ok(inWindow(0x2, 0xffff_fff0, 0x20));
  assert.ok(!inWindow(0x10, 0xffff_fff0, 0x20));
  assert.ok(!inWindow(5, 5, 0));
});
