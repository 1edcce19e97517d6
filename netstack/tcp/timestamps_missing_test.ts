/**
 * Segments without the timestamp option after timestamps were negotiated: Linux processes them
 * (PAWS and TS.Recent only when TSopt is present) where RFC 7323 §3.2 says SHOULD drop; Serin
 * does as Linux. Our ISS 1000, the peer's 5000.
 */

import assert from "node:assert/strict";
import { ACK, established, FIN, ISS, PEER_ISS, RST, seg } from "./_test_fixture.ts";

const P = PEER_ISS + 1;
const ts = (value: number) => ({ timestamp: { value, echo: 0 } });

function withTimestamps() {
  const h = established({}, { options: { mss: 1460, timestamp: { value: 100, echo: 1 } } });
  assert.ok(h.conn.info().sndMss < 1460, "timestamps negotiated (MSS leaves room for them)");
  return h;
}

Deno.test("no TSopt after negotiation: data is taken and ACKed (Linux), the ACK still carries TSopt", () => {
  const h = withTimestamps();
  h.input(seg({ seq: P, ack: ISS + 1, len: 100 }));
  assert.equal(h.conn.recvQueue, 100);
  const acks = h.advance(200);
  assert.ok(acks.length >= 1);
  assert.equal(acks[0].ack, P + 100);
  assert.ok(acks[0].options.timestamp, "we keep sending TSopt (RFC 7323 §3.2 MUST)");
  assert.equal(acks[0].options.timestamp!.echo, 100, "TS.Recent untouched by the bare segment");
});

Deno.test("no TSopt after negotiation: PAWS cannot reject it, but the window test still does", () => {
  const h = withTimestamps();
  h.input(seg({ seq: P, ack: ISS + 1, len: 10, options: ts(500) }));
  assert.equal(h.conn.recvQueue, 10);
  // An old TSval is a stale duplicate (PAWS) even in window...
  h.input(seg({ seq: P + 10, ack: ISS + 1, len: 10, options: ts(400) }));
  assert.equal(h.conn.recvQueue, 10);
  assert.equal(h.conn.drops.paws, 1);
  // ...the same bytes without TSopt are taken,
  h.input(seg({ seq: P + 10, ack: ISS + 1, len: 10 }));
  assert.equal(h.conn.recvQueue, 20);
  // and a bare segment outside the window is still unacceptable.
  h.input(seg({ seq: P + 1_000_000, ack: ISS + 1, len: 10 }));
  assert.equal(h.conn.recvQueue, 20);
  assert.ok((h.conn.drops.unacceptable ?? 0) >= 1);
});

Deno.test("no TSopt after negotiation: a bare FIN and a bare exact RST are honoured", () => {
  const h = withTimestamps();
  h.input(seg({ seq: P, ack: ISS + 1, flags: FIN | ACK }));
  assert.equal(h.conn.state, "CLOSE-WAIT");
  const r = withTimestamps();
  r.input(seg({ seq: P, flags: RST }));
  assert.equal(r.conn.state, "CLOSED");
  assert.equal(r.conn.error, "ECONNRESET");
});
