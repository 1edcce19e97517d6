import assert from "node:assert/strict";
import { initialWindow } from "./congestion.ts";
import { NewReno } from "./newreno.ts";

// RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)).
Deno.test("congestion: initial window", () => {
  assert.equal(initialWindow(1460), 14600);
  assert.equal(initialWindow(536), 5360);
  assert.equal(initialWindow(9000), 18000);
});

// RFC 5681 §3.1: slow start grows by at most the bytes acked per ACK; CA by ~1 MSS per RTT.
Deno.test("newreno: slow start then congestion avoidance", () => {
  const c = new NewReno(1000);
  assert.equal(c.cwnd, 10000);
  c.onAck(0, 1000, 100);
  assert.equal(c.cwnd, 11000);
  c.onLoss(0, 20000);
  assert.equal(c.ssthresh, 10000);
  assert.equal(c.cwnd, 10000);
  for (let i = 0; i < 10; i++) c.onAck(0, 1000, 100);
  assert.equal(c.cwnd, 11000);
});

// RFC 5681 §3.1 eq. 4: after an RTO ssthresh = max(FlightSize/2, 2*SMSS) and cwnd = 1 SMSS.
Deno.test("newreno: RTO collapses the window", () => {
  const c = new NewReno(1000);
  c.onRto(0, 3000);
  assert.equal(c.ssthresh, 2000);
  assert.equal(c.cwnd, 1000);
});

// RFC 5681 §3.1: "... the value of ssthresh is held constant" on later timeouts of a segment
// already retransmitted by the timer.
Deno.test("newreno: a repeated RTO leaves ssthresh unchanged", () => {
  const c = new NewReno(1000);
  c.onRto(0, 30_000);
  assert.equal(c.ssthresh, 15_000);
  c.onRto(200, 30_000, true);
  assert.equal(c.ssthresh, 15_000);
  assert.equal(c.cwnd, 1000);
});
