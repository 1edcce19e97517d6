/**
 * Proportional rate reduction in SACK recovery (RFC 6937 PRR-SSRB, as Linux's
 * tcp_cwnd_reduction): while the flight exceeds ssthresh, segments go out in proportion
 * ssthresh/RecoverFS to what the peer delivers; below it, at most what was delivered, up to
 * ssthresh. Recovery ends with cwnd = ssthresh.
 */

import assert from "node:assert/strict";
import { established, ISS, pattern, PEER_ISS, seg } from "./_test_fixture.ts";

const D = ISS + 1; // our first data byte
const P = PEER_ISS + 1; // the peer's first data byte
const MSS = 1460;
const S = (k: number) => D + MSS * k; // start of segment k

Deno.test("PRR: one lost segment of ten; the flight shrinks to ssthresh by delivered data", () => {
  const h = established({ nodelay: true }, { options: { mss: MSS, sackPermitted: true } });
  h.input(seg({ seq: P, ack: D })); // the peer's first ACK: SND.WL1 moves past its SYN
  assert.equal(h.conn.send(pattern(0, 30 * MSS)), 30 * MSS);
  assert.equal(h.flush().length, 10); // the initial window
  // Segment 0 is lost; the peer SACKs 1..9 one by one.
  const sent: number[][] = [];
  for (let k = 2; k <= 10; k++) {
    const out = h.input(seg({ seq: P, ack: D, options: { sack: [[S(1), S(k)]] } }));
    sent.push(out.map((s) => (s.seq - D) / MSS));
  }
  // Limited transmit sent 10 and 11, so FlightSize was 12 at the third duplicate ACK: NewReno's
  // ssthresh = 6 segments; RecoverFS = cwnd = 10.
  assert.equal(h.conn.info().ssthresh, 6 * MSS);
  assert.deepEqual(sent, [
    [10], // RFC 3042 limited transmit
    [11],
    [0], // fast retransmit: 1 delivered, ceil(1 * 6/10) = 1
    [12], // pipe 8 > 6: ceil(2 * 6/10) = 2 out in all
    [], // ceil(3 * 6/10) = 2
    [13], // ceil(4 * 6/10) = 3
    [], // ceil(5 * 6/10) = 3
    [], // pipe 6 = ssthresh: SSRB, no room
    [14], // pipe 5: one segment, back to ssthresh
  ]);
  assert.ok(h.conn.info().inRecovery);
  h.input(seg({ seq: P, ack: S(12) })); // everything sent before recovery began
  assert.ok(!h.conn.info().inRecovery);
  assert.equal(h.conn.info().cwnd, 6 * MSS); // cwnd = ssthresh (Linux tcp_end_cwnd_reduction)
});
