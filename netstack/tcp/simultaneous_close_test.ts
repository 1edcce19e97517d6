/**
 * close() in SYN-RECEIVED after a simultaneous open (RFC 9293 §3.5 figure 8, §3.10.4): as Linux
 * (tcp_close_state: SYN_RECV → FIN_WAIT1 with a FIN), the FIN goes out at once, and while our
 * SYN is unacknowledged the retransmission timer resends a proper SYN-ACK, never a bare segment
 * at the ISS. Our ISS 1000, the peer's 5000.
 */

import assert from "node:assert/strict";
import { ACK, describe, FIN, ISS, PEER_ISS, seg, SYN, synSent } from "./_test_fixture.ts";

function simultaneousOpen() {
  const h = synSent();
  const synAck = h.one(h.input(seg({ seq: PEER_ISS, flags: SYN, options: { mss: 1460 } })));
  assert.equal(synAck.flags, SYN | ACK);
  assert.equal(h.conn.state, "SYN-RECEIVED");
  return h;
}

Deno.test("SYN-RECEIVED close: FIN now, SYN-ACK on each timeout until our SYN is acknowledged", () => {
  const h = simultaneousOpen();
  h.conn.close();
  const fin = h.one(h.flush());
  assert.equal(describe(fin), `FA ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
  assert.equal(h.conn.state, "FIN-WAIT-1");
  const rto = h.advance(1000);
  assert.ok(rto.length >= 1);
  for (const s of rto) {
    assert.equal(s.flags, SYN | ACK, `a proper SYN-ACK, not ${describe(s)}`);
    assert.equal(s.seq, ISS);
    assert.equal(s.ack, PEER_ISS + 1);
    assert.equal(s.options.mss, 1460);
  }
  // The peer acknowledges the SYN only (its ACK crossed our FIN): the FIN is resent later.
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1 }));
  assert.equal(h.conn.state, "FIN-WAIT-1");
  const later = h.advance(3000);
  assert.ok(later.length >= 1);
  assert.equal(describe(later[0]), `FA ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2 }));
  assert.equal(h.conn.state, "FIN-WAIT-2");
  const ack = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK })));
  assert.equal(ack.ack, PEER_ISS + 2);
  assert.equal(h.conn.state, "TIME-WAIT");
});

Deno.test("SYN-RECEIVED close: one ACK for both our SYN and FIN goes to FIN-WAIT-2", () => {
  const h = simultaneousOpen();
  h.conn.close();
  h.flush();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2 }));
  assert.equal(h.conn.state, "FIN-WAIT-2");
  assert.equal(h.conn.info().unacked, 0);
});

Deno.test("SYN-RECEIVED close: the peer's SYN-ACK retransmission is answered with an ACK", () => {
  const h = simultaneousOpen();
  h.conn.close();
  h.flush();
  const out = h.input(seg({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK }));
  assert.equal(h.conn.state, "FIN-WAIT-1");
  assert.ok(out.length <= 1);
  for (const s of out) assert.equal(s.ack, PEER_ISS + 1);
});

Deno.test("SYN-RECEIVED close with data queued: the data then the FIN, SYN-ACK on timeout", () => {
  const h = simultaneousOpen();
  h.conn.send(new Uint8Array(100));
  h.conn.close();
  const out = h.flush();
  assert.deepEqual(out.map(describe), [`FPA ${ISS + 1}:${ISS + 101} ack ${PEER_ISS + 1} w 65535`]);
  const rto = h.advance(1000);
  assert.equal(rto[0].flags, SYN | ACK);
});
