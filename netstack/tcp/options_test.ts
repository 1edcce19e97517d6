import assert from "node:assert/strict";
import { DEFAULT_TCP_OPTIONS, windowShiftFor } from "./options.ts";
import { earliest } from "./timers.ts";

// RFC 7323 §2.3: the smallest shift that fits the buffer in 16 bits, at most 14.
Deno.test("options: window shift for a buffer size", () => {
  assert.equal(windowShiftFor(65535), 0);
  assert.equal(windowShiftFor(65536), 1);
  assert.equal(windowShiftFor(131072), 2);
  assert.equal(windowShiftFor(2 ** 40), 14);
});

Deno.test("options: defaults follow the brief (Linux-like)", () => {
  assert.equal(DEFAULT_TCP_OPTIONS.timeWaitMs, 60_000);
  assert.equal(DEFAULT_TCP_OPTIONS.maxRetransmits, 15);
  assert.equal(DEFAULT_TCP_OPTIONS.maxSynRetransmits, 6);
  assert.equal(DEFAULT_TCP_OPTIONS.minRto, 200);
  assert.equal(DEFAULT_TCP_OPTIONS.delayedAckMs, 40);
});

Deno.test("timers: earliest ignores unset deadlines", () => {
  assert.equal(earliest(undefined, 5, 3, undefined), 3);
  assert.equal(earliest(undefined), undefined);
});
