import assert from "node:assert/strict";
import { Cubic } from "./cubic.ts";

// RFC 9438 §4.6: multiplicative decrease by beta = 0.7, then the window grows back.
Deno.test("cubic: reduction by 0.7 and regrowth", () => {
  const c = new Cubic(1000);
  c.cwnd = 100_000;
  c.onLoss(0, 100_000);
  assert.equal(c.cwnd, 70_000);
  let now = 0;
  for (let i = 0; i < 2000; i++) c.onAck(now += 10, 1000, 50);
  assert.ok(c.cwnd > 100_000, `cwnd ${c.cwnd}`);
});

// RFC 9438 §4.6 with §4.8: an RTO also resets cwnd to one segment.
Deno.test("cubic: RTO collapses the window", () => {
  const c = new Cubic(1000);
  c.cwnd = 50_000;
  c.onRto(0, 50_000);
  assert.equal(c.cwnd, 1000);
  assert.equal(c.ssthresh, 35_000);
});

// RFC 5681 §3.1 / Linux tcp_enter_loss: a repeated timeout of the same loss episode holds
// ssthresh (and W_max); only cwnd stays at one segment.
Deno.test("cubic: a repeated RTO leaves ssthresh unchanged", () => {
  const c = new Cubic(1000);
  c.cwnd = 50_000;
  c.onRto(0, 50_000);
  c.onRto(200, 50_000, true);
  c.onRto(600, 50_000, true);
  assert.equal(c.ssthresh, 35_000);
  assert.equal(c.cwnd, 1000);
});
