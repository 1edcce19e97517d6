import assert from "node:assert/strict";
import { ManualClock } from "../../kernel/clock.ts";
import { linkPair } from "./pipe.ts";

function frame(n: number, fill = 0): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

Deno.test("pipe: frames cross in both directions and are counted", () => {
  const [a, b] = linkPair({ clock: new ManualClock() });
  const atA: Uint8Array[] = [];
  const atB: Uint8Array[] = [];
  a.onFrame((f) => atA.push(f));
  b.onFrame((f) => atB.push(f));
  const f1 = frame(60, 1);
  a.send(f1);
  b.send(frame(100, 2));
  assert.equal(atB.length, 1);
  assert.equal(atB[0], f1); // ownership handed over: no copy
  assert.equal(atA.length, 1);
  assert.equal(atA[0].length, 100);
  assert.deepEqual(
    { tx: a.stats.txFrames, txb: a.stats.txBytes, rx: a.stats.rxFrames, rxb: a.stats.rxBytes },
    { tx: 1, txb: 60, rx: 1, rxb: 100 },
  );
});

Deno.test("pipe: a handler that replies from onFrame does not recurse", () => {
  const clock = new ManualClock();
  const [a, b] = linkPair({ clock });
  let depth = 0;
  let maxDepth = 0;
  let count = 0;
  const bounce = (port: typeof a) => (f: Uint8Array) => {
    depth++;
    maxDepth = Math.max(maxDepth, depth);
    count++;
    if (count < 5000) port.send(f);
    depth--;
  };
  a.onFrame(bounce(a));
  b.onFrame(bounce(b));
  a.send(frame(60));
  // The first drain is bounded by its budget; the rest continues from clock wake-ups.
  assert.ok(count < 5000);
  assert.equal(maxDepth, 1);
  while (clock.pendingCount > 0) clock.runDue();
  assert.equal(count, 5000);
  assert.equal(maxDepth, 1);
});

Deno.test("pipe: closed ends drop and count", () => {
  const [a, b] = linkPair({ clock: new ManualClock() });
  a.send(frame(60)); // b has no handler yet
  assert.equal(b.stats.drops.noHandler, 1);
  b.onFrame(() => {});
  b.close();
  a.send(frame(60));
  assert.equal(a.stats.drops.peerClosed, 1);
  b.send(frame(60));
  assert.equal(b.stats.drops.closed, 1);
});

Deno.test("pipe: the queue bound drops excess sends made while draining", () => {
  const [a, b] = linkPair({ clock: new ManualClock(), queueLimit: 10 });
  let got = 0;
  b.onFrame(() => got++);
  a.onFrame(() => {
    for (let i = 0; i < 20; i++) a.send(frame(60));
  });
  b.send(frame(60));
  assert.equal(got, 10);
  assert.equal(a.stats.drops.queueFull, 10);
});
