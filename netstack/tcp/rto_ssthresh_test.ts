/**
 * ssthresh on retransmission timeouts (RFC 5681 §3.1): set when a segment is first retransmitted
 * by the timer, held constant on its later timeouts, as Linux's tcp_enter_loss does ("reduce
 * ssthresh if it has not yet been made inside this window"), for NewReno and CUBIC alike.
 */

import assert from "node:assert/strict";
import { established, type Harness, ISS, pattern, PEER_ISS, seg } from "./_test_fixture.ts";

const D = ISS + 1; // our first data byte
const P = PEER_ISS + 1; // the peer's first data byte

/** ESTABLISHED with `congestion`, 10 full segments in flight (the initial window). */
function inFlight(congestion: "newreno" | "cubic"): Harness {
  const h = established({ nodelay: true, congestion });
  h.input(seg({ seq: P, ack: D })); // moves SND.WL1 past the SYN: later ones are duplicates
  assert.equal(h.conn.send(pattern(0, 20 * 1460)), 20 * 1460);
  assert.equal(h.flush().length, 10);
  return h;
}

// NewReno computes ssthresh from FlightSize (SND.MAX - SND.UNA), which no timeout changes; CUBIC
// (and Linux's Reno) from cwnd, which the first timeout cut to one segment: without the hold a
// second timeout would drop ssthresh to two segments and forget W_max.
for (const congestion of ["newreno", "cubic"] as const) {
  Deno.test(`RTO (${congestion}): repeated timeouts of one segment leave ssthresh unchanged`, () => {
    const h = inFlight(congestion);
    h.advance(200); // first timeout: ssthresh is set
    const first = h.conn.info().ssthresh;
    assert.ok(first < 0x7fff_ffff);
    assert.equal(h.conn.info().cwnd, 1460);
    h.advance(400); // second, backed off
    h.advance(800); // third
    assert.equal(h.conn.info().backoff, 3);
    assert.equal(h.conn.info().ssthresh, first);
    assert.equal(h.conn.info().cwnd, 1460);
  });

  Deno.test(`RTO (${congestion}): after new data is ACKed, a later timeout sets ssthresh again`, () => {
    const h = inFlight(congestion);
    h.advance(200);
    const first = h.conn.info().ssthresh;
    h.input(seg({ seq: P, ack: D + 1460 })); // the retransmission is ACKed: a new episode
    h.advance(1000); // the next segment times out
    const again = h.conn.info().ssthresh;
    assert.notEqual(again, first);
    assert.ok(again <= first);
  });

  Deno.test(`RTO (${congestion}): a timeout during fast recovery keeps the ssthresh it set`, () => {
    const h = inFlight(congestion);
    for (let i = 0; i < 3; i++) h.input(seg({ seq: P, ack: D }));
    assert.ok(h.conn.info().inRecovery);
    const fr = h.conn.info().ssthresh;
    // More duplicate ACKs inflate the window (RFC 6582 §3.2 step 4): new data goes out, so the
    // flight at the timeout is larger than when recovery began.
    for (let i = 0; i < 8; i++) h.input(seg({ seq: P, ack: D }));
    assert.ok(h.conn.info().unacked > 10 * 1460);
    h.advance(1000); // the fast retransmission is lost too
    assert.equal(h.conn.info().ssthresh, fr);
    assert.equal(h.conn.info().cwnd, 1460);
  });
}
