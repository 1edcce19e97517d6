/**
 * D-SACK (RFC 2883): a receiver reports a duplicate segment in the first SACK block of its
 * next ACK, once. The same cases run against Linux in tests/scenario/scripts (sack_dsack_*.pkt,
 * dsack_duplicate_segment.pkt).
 */

import assert from "node:assert/strict";
import { ACK, established, expectNothing, ISS, pattern, PEER_ISS, seg } from "./_test_fixture.ts";

const P = PEER_ISS + 1;
const D = ISS + 1;
const sackPeer = { options: { mss: 1460, sackPermitted: true } };

Deno.test("D-SACK: a duplicate below RCV.NXT is ACKed at once with its range (§4.1.1)", () => {
  const h = established({}, sackPeer);
  h.input(seg({ seq: P, ack: D, len: 1000 }));
  h.advance(200);
  const a = h.one(h.input(seg({ seq: P, ack: D, len: 1000 })));
  assert.equal(a.ack, P + 1000);
  assert.deepEqual(a.options.sack, [[P, P + 1000]]);
  // Reported once: the next ACK carries no SACK option.
  const next = h.one([...h.input(seg({ seq: P + 1000, ack: D, len: 1000 })), ...h.advance(200)]);
  assert.equal(next.ack, P + 2000);
  assert.equal(next.options.sack, undefined);
});

Deno.test("D-SACK: only the repeated part of a partly new segment is reported", () => {
  const h = established({}, sackPeer);
  h.input(seg({ seq: P, ack: D, len: 1000 }));
  h.advance(200);
  const a = h.one([
    ...h.input(seg({ seq: P + 500, ack: D, payload: pattern(500, 1000) })),
    ...h.advance(200),
  ]);
  assert.equal(a.ack, P + 1500);
  assert.deepEqual(a.options.sack, [[P + 500, P + 1000]]);
  assert.equal(h.conn.recv().length, 1500);
});

Deno.test("D-SACK: a duplicate of out-of-order data comes first, then its SACK block (§4.1.2)", () => {
  const h = established({}, sackPeer);
  h.input(seg({ seq: P + 1000, ack: D, len: 1000 }));
  h.input(seg({ seq: P + 3000, ack: D, len: 1000 }));
  const a = h.one(h.input(seg({ seq: P + 1500, ack: D, len: 1000 }))); // half repeated
  assert.equal(a.ack, P);
  assert.deepEqual(a.options.sack?.[0], [P + 1500, P + 2000]);
  assert.deepEqual(a.options.sack?.slice(1), [[P + 1000, P + 2500], [P + 3000, P + 4000]]);
  // A duplicate below the window while holes remain: D-SACK, then the holes' blocks.
  const b = h.one(h.input(seg({ seq: P - 100, ack: D, len: 50, flags: ACK })));
  assert.deepEqual(b.options.sack?.[0], [P - 100, P - 50]);
  assert.equal(b.options.sack?.length, 3);
});

Deno.test("D-SACK: none without SACK negotiated, and none for a stale pure ACK", () => {
  const h = established();
  h.input(seg({ seq: P, ack: D, len: 1000 }));
  h.advance(200);
  const a = h.one(h.input(seg({ seq: P, ack: D, len: 1000 })));
  assert.equal(a.options.sack, undefined);
  const s = established({}, sackPeer);
  s.input(seg({ seq: P, ack: D, len: 1000 }));
  s.advance(200);
  expectNothing(s.input(seg({ seq: P + 1000, ack: D })));
  const oow = s.one(s.input(seg({ seq: P - 5, ack: D })));
  assert.equal(oow.options.sack, undefined);
});
