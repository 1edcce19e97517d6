import assert from "node:assert/strict";
import { MAX_QUICK_ACKS, QuickAck } from "./quick_ack.ts";

Deno.test("quick-ack: the budget is window / (2 * rcvMss), between 2 and 16", () => {
  const big = new QuickAck();
  assert.ok(big.dataReceived(0, 1000, 1 << 20, 1000));
  assert.equal(big.quick, MAX_QUICK_ACKS);
  const small = new QuickAck();
  small.dataReceived(0, 1000, 1000, 1000);
  assert.equal(small.quick, 2);
  small.ackSent();
  small.ackSent();
  small.ackSent(); // never below zero
  assert.equal(small.quick, 0);
  assert.equal(small.dataReceived(10, 1000, 1000, 1000), false, "no gap: budget not renewed");
  assert.equal(small.dataReceived(1011, 1000, 1000, 1000), true, "a gap beyond the RTO renews it");
});

Deno.test("quick-ack: data sent within the ACK delay of data received is ping-pong", () => {
  const q = new QuickAck();
  q.dataSent(0, 40); // nothing received yet
  assert.equal(q.pingpong, false);
  q.dataReceived(100, 1000, 65535, 536);
  q.dataSent(160, 40); // too late
  assert.equal(q.pingpong, false);
  q.dataReceived(200, 1000, 65535, 536);
  q.dataSent(210, 40);
  assert.equal(q.pingpong, true);
  assert.equal(q.dataReceived(220, 1000, 65535, 536), false, "interactive: delay the ACK");
  q.delayedAckFired();
  assert.equal(q.dataReceived(230, 1000, 65535, 536), true);
});
