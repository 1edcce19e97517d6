/**
 * ACKs for segments we drop (RFC 9293 §3.10.7.4: "If an incoming segment is not acceptable, an
 * acknowledgment should be sent in reply"), limited as Linux's tcp_oow_rate_limited: a segment
 * carrying data or FIN without SYN is answered every time; pure ACKs, SYNs and challenge ACKs
 * share one limit of one per 500 ms per connection (tcp_invalid_ratelimit, RFC 5961 §7).
 */

import assert from "node:assert/strict";
import type { TcpRepr } from "../wire/tcp.ts";
import {
  ACK,
  describe,
  established,
  expectNothing,
  FIN,
  type Harness,
  ISS,
  PEER_ISS,
  RST,
  seg,
  SYN,
} from "./_test_fixture.ts";

const D = ISS + 1; // our first data byte
const P = PEER_ISS + 1; // the peer's first data byte

/** ESTABLISHED with 3000 bytes received from the peer and ACKed. */
function afterData(): Harness {
  const h = established();
  for (let i = 0; i < 3; i++) h.input(seg({ seq: P + 1000 * i, ack: D, len: 1000 }));
  h.advance(100);
  assert.equal(h.conn.recv().length, 3000);
  h.take();
  return h;
}

const ackFor = (rcvNxt: number) => `A ${D}:${D} ack ${rcvNxt} w 65535`;

Deno.test("old data: each retransmitted old data segment gets its own ACK", () => {
  const h = afterData();
  for (let i = 0; i < 3; i++) {
    const out = h.input(seg({ seq: P + 1000 * i, ack: D, len: 1000 }));
    assert.deepEqual(out.map(describe), [ackFor(P + 3000)], `old segment ${i}`);
  }
  assert.equal(h.conn.drops.unacceptable, 3);
  assert.equal(h.conn.drops["oow-ack-limited"], undefined);
});

Deno.test("old data: data beyond the window gets an ACK each time too", () => {
  const h = afterData();
  for (let i = 0; i < 3; i++) {
    const out = h.input(seg({ seq: P + 3000 + 200_000 + 1000 * i, ack: D, len: 100 }));
    assert.deepEqual(out.map(describe), [ackFor(P + 3000)]);
  }
});

Deno.test("old data: out-of-window pure ACKs get at most one ACK per 500 ms", () => {
  const h = afterData();
  const pure = (seq: number): TcpRepr => seg({ seq, ack: D });
  assert.deepEqual(h.input(pure(P + 500_000)).map(describe), [ackFor(P + 3000)]);
  h.now += 100;
  expectNothing(h.input(pure(P + 500_001)));
  h.now += 100;
  expectNothing(h.input(pure(P - 70_000)));
  assert.equal(h.conn.drops["oow-ack-limited"], 2);
  h.now += 300; // 500 ms after the first
  assert.deepEqual(h.input(pure(P + 500_002)).map(describe), [ackFor(P + 3000)]);
});

Deno.test("old data: pure ACKs being limited does not hold back the ACK for old data", () => {
  const h = afterData();
  assert.equal(h.input(seg({ seq: P + 500_000, ack: D })).length, 1);
  expectNothing(h.input(seg({ seq: P + 500_000, ack: D })));
  assert.deepEqual(h.input(seg({ seq: P, ack: D, len: 10 })).map(describe), [ackFor(P + 3000)]);
});

Deno.test("old data: a retransmitted FIN is ACKed each time (CLOSE-WAIT)", () => {
  const h = afterData();
  h.input(seg({ seq: P + 3000, ack: D, flags: ACK | FIN }));
  assert.equal(h.conn.state, "CLOSE-WAIT");
  for (let i = 0; i < 3; i++) {
    const out = h.input(seg({ seq: P + 3000, ack: D, flags: ACK | FIN }));
    assert.deepEqual(out.map(describe), [ackFor(P + 3001)]);
  }
});

Deno.test("old data: out-of-window SYNs are limited like pure ACKs", () => {
  const h = afterData();
  assert.equal(h.input(seg({ seq: P - 50_000, flags: SYN })).length, 1);
  expectNothing(h.input(seg({ seq: P - 50_000, flags: SYN })));
  expectNothing(h.input(seg({ seq: P - 40_000, ack: D, flags: SYN | ACK, len: 10 })));
  assert.equal(h.conn.state, "ESTABLISHED");
});

Deno.test("old data: challenge ACKs share the 500 ms limit (Linux tcp_send_challenge_ack)", () => {
  const h = afterData();
  // An in-window RST not at RCV.NXT (RFC 5961 §3.2) draws one challenge ACK...
  assert.deepEqual(h.input(seg({ seq: P + 3100, flags: RST })).map(describe), [
    ackFor(P + 3000),
  ]);
  // ...then neither a second one, an in-window SYN, nor an out-of-window pure ACK does.
  expectNothing(h.input(seg({ seq: P + 3200, flags: RST })));
  expectNothing(h.input(seg({ seq: P + 3000, flags: SYN })));
  expectNothing(h.input(seg({ seq: P + 500_000, ack: D })));
  assert.equal(h.conn.state, "ESTABLISHED");
  h.now += 500;
  assert.equal(h.input(seg({ seq: P + 3200, flags: RST })).length, 1);
});

Deno.test("old data: with timestamps, PAWS-rejected data is ACKed each time, pure ACKs once", () => {
  const ts = (value: number) => ({ timestamp: { value, echo: 0 } });
  const h = established({}, { options: { mss: 1460, ...ts(1000) } });
  h.input(seg({ seq: P, ack: D, len: 100, options: ts(1001) }));
  h.advance(100);
  h.take();
  for (let i = 0; i < 3; i++) {
    const out = h.input(seg({ seq: P + 100, ack: D, len: 100, options: ts(900) }));
    assert.equal(out.length, 1, `stale data segment ${i}`);
    assert.equal(out[0].ack, P + 100);
  }
  assert.equal(h.conn.drops.paws, 3);
  assert.equal(h.input(seg({ seq: P + 100, ack: D, options: ts(900) })).length, 1);
  expectNothing(h.input(seg({ seq: P + 100, ack: D, options: ts(900) })));
});
