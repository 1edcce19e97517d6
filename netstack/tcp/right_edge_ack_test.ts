/**
 * A pure ACK whose sequence number is the right edge of the window we offered is acceptable, as
 * in Linux's tcp_sequence: the peer filled our window and its data was lost (or not taken for
 * want of room), so every ACK it sends starts there. RFC 9293's test (SEG.SEQ < RCV.NXT+RCV.WND)
 * rejects them, and in a bidirectional transfer our data then waits for the peer's
 * exponentially backed-off retransmissions to be acknowledged: a lossy echo with Linux stalled.
 */

import assert from "node:assert/strict";
import { describe, established, PEER_ISS, seg } from "./_test_fixture.ts";

const P = PEER_ISS + 1;

Deno.test("TCP: a pure ACK at the right edge of the offered window is processed", () => {
  const h = established();
  h.conn.send(new Uint8Array(1000));
  const out = h.flush();
  assert.equal(out.length, 1, out.map(describe).join(", "));
  const wnd = out[0].window; // no window scaling in this fixture
  const d = out[0].seq;
  const r = h.input(seg({ seq: P + wnd, ack: d + 1000 }));
  assert.equal(h.conn.drops.unacceptable, undefined, r.map(describe).join(", "));
  assert.equal(h.conn.sendQueue, 0, "the ACK freed the send buffer");
});

Deno.test("TCP: a pure ACK past the right edge is still unacceptable", () => {
  const h = established();
  h.conn.send(new Uint8Array(1000));
  const out = h.flush();
  const wnd = out[0].window;
  h.input(seg({ seq: P + wnd + 1, ack: out[0].seq + 1000 }));
  assert.equal(h.conn.drops.unacceptable, 1);
  assert.equal(h.conn.sendQueue, 1000);
});
