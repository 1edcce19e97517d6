import assert from "node:assert/strict";
import { messagePortLink } from "./message_link.ts";
import type { LinkPort } from "./port.ts";

/** Resolves with the first `n` frames `port` receives, and counts burst ends. */
function collect(
  port: LinkPort,
  n: number,
): { frames: Promise<Uint8Array[]>; bursts: () => number } {
  const got: Uint8Array[] = [];
  let bursts = 0;
  port.onBurstEnd?.(() => bursts++);
  const frames = new Promise<Uint8Array[]>((resolve) => {
    port.onFrame((f) => {
      got.push(f);
      if (got.length === n) resolve(got);
    });
  });
  return { frames, bursts: () => bursts };
}

const frame = (i: number) => Uint8Array.from({ length: 60 + i }, (_, j) => (i + j) & 0xff);

for (const shared of [false, true]) {
  Deno.test(`frames cross both ways in order (${shared ? "shared rings" : "messages"})`, async () => {
    const ch = new MessageChannel();
    const a = messagePortLink(ch.port1, { shared });
    const b = messagePortLink(ch.port2);
    try {
      const atB = collect(b, 100);
      const atA = collect(a, 100);
      for (let i = 0; i < 100; i++) a.send(frame(i));
      assert.deepEqual(await atB.frames, Array.from({ length: 100 }, (_, i) => frame(i)));
      for (let i = 0; i < 100; i++) b.send(frame(i));
      assert.deepEqual(await atA.frames, Array.from({ length: 100 }, (_, i) => frame(i)));
      assert.ok(atB.bursts() >= 1 && atB.bursts() <= 100);
      assert.equal(a.stats.sentFrames, 100);
      assert.equal(b.stats.receivedFrames, 100);
      assert.equal(a.stats.dropped + b.stats.dropped, 0);
    } finally {
      a.close();
      b.close();
    }
  });
}

Deno.test("sends after close and frames without a handler are counted as drops", async () => {
  const ch = new MessageChannel();
  const a = messagePortLink(ch.port1, { shared: true });
  const b = messagePortLink(ch.port2);
  const seen = new Promise<void>((resolve) => b.onBurstEnd?.(resolve));
  a.send(frame(1));
  await seen;
  assert.equal(b.stats.noHandler, 1);
  a.close();
  a.send(frame(2));
  b.send(frame(3)); // the peer closed the rings
  assert.equal(a.stats.closedDrops, 1);
  assert.equal(b.stats.closedDrops, 1);
  b.close();
});

Deno.test("a full ring drops and counts instead of blocking", async () => {
  const ch = new MessageChannel();
  const a = messagePortLink(ch.port1, { shared: true, ringBytes: 4096 });
  const b = messagePortLink(ch.port2);
  const atB = collect(b, 4);
  for (let i = 0; i < 10; i++) a.send(new Uint8Array(1000));
  assert.equal(a.stats.ringFull, 6);
  assert.equal(a.stats.dropped, 6);
  assert.equal((await atB.frames).length, 4);
  // Both ends report the loss for their interface counters: sent into, and read from, a full ring.
  assert.deepEqual(a.linkDrops?.(), { "link: tx-ring-full": 6 });
  assert.deepEqual(b.linkDrops?.(), { "link: rx-ring-full": 6 });
  a.close();
  b.close();
});
