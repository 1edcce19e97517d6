import assert from "node:assert/strict";
import { ManualClock } from "../../kernel/clock.ts";
import { linkPair } from "./pipe.ts";
import { type SniffDirection, withSniffer } from "./sniffer.ts";

Deno.test("sniffer: sees both directions with clock timestamps and passes frames on", () => {
  const clock = new ManualClock(1000);
  const [near, far] = linkPair({ clock });
  const seen: Array<[number, number, SniffDirection]> = [];
  const port = withSniffer(near, (f, t, d) => seen.push([f[0], t, d]), clock);
  const atFar: number[] = [];
  const atNear: number[] = [];
  far.onFrame((f) => atFar.push(f[0]));
  port.onFrame((f) => atNear.push(f[0]));
  port.send(new Uint8Array([1, 0, 0]));
  clock.advance(2.5);
  far.send(new Uint8Array([2, 0, 0]));
  assert.deepEqual(seen, [[1, 1000, "out"], [2, 1002.5, "in"]]);
  assert.deepEqual(atFar, [1]);
  assert.deepEqual(atNear, [2]);
});

Deno.test("sniffer: a throwing sink is counted and does not break the link", () => {
  const clock = new ManualClock();
  const [near, far] = linkPair({ clock });
  const port = withSniffer(near, () => {
    throw new Error("disk full");
  }, clock);
  let got = 0;
  far.onFrame(() => got++);
  port.send(new Uint8Array(60));
  assert.equal(got, 1);
  assert.equal(port.sinkErrors, 1);
});

Deno.test("sniffer: default timestamps are Unix epoch milliseconds", () => {
  const [near] = linkPair();
  let t = 0;
  const port = withSniffer(near, (_f, time) => (t = time));
  port.send(new Uint8Array(60));
  assert.ok(Math.abs(t - Date.now()) < 60_000, `${t}`);
  port.close();
  near.close();
});
