/**
 * Packet traces for the connection state machine: handshakes, resets, closing.
 * Data transfer and loss recovery are in connection_data_test.ts.
 */

import assert from "node:assert/strict";
import {
  ACK,
  describe,
  established,
  expectNothing,
  FIN,
  Harness,
  ISS,
  PEER_ISS,
  RST,
  seg,
  SYN,
  synSent,
} from "./_test_fixture.ts";

// ---- CLOSED (RFC 9293 §3.10.7.1) ----------------------------------------------------------

Deno.test("CLOSED: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>", () => {
  const h = new Harness();
  const out = h.one(h.input(seg({ seq: 7, ack: 99, flags: ACK })));
  assert.equal(describe(out), "R 99:99 ack 0 w 0");
});

Deno.test("CLOSED: a SYN gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; RST gets nothing", () => {
  const h = new Harness();
  assert.equal(describe(h.one(h.input(seg({ seq: 7, flags: SYN })))), "RA 0:0 ack 8 w 0");
  expectNothing(h.input(seg({ seq: 7, flags: RST })));
});

// ---- LISTEN (§3.10.7.2) -------------------------------------------------------------------

Deno.test("LISTEN: SYN → SYN-ACK echoing only the options the peer offered", () => {
  const h = new Harness();
  h.conn.listen();
  const out = h.one(h.input(seg({
    seq: PEER_ISS,
    flags: SYN,
    options: { mss: 1400, sackPermitted: true, timestamp: { value: 42, echo: 0 } },
  })));
  assert.equal(describe(out), `SA ${ISS}:${ISS} ack ${PEER_ISS + 1} w 65535`);
  assert.equal(out.options.windowScale, undefined);
  assert.equal(out.options.sackPermitted, true);
  assert.deepEqual(out.options.timestamp, { value: 0, echo: 42 });
  assert.equal(h.conn.state, "SYN-RECEIVED");
  // Third step of the handshake.
  expectNothing(h.input(seg({
    seq: PEER_ISS + 1,
    ack: ISS + 1,
    options: { timestamp: { value: 43, echo: 0 } },
  })));
  assert.equal(h.conn.state, "ESTABLISHED");
  assert.equal(h.conn.mss, 1400 - 12);
});

Deno.test("LISTEN: an ACK gets RST, an RST is ignored", () => {
  const h = new Harness();
  h.conn.listen();
  assert.equal(describe(h.one(h.input(seg({ seq: 1, ack: 55 })))), "R 55:55 ack 0 w 0");
  expectNothing(h.input(seg({ seq: 1, flags: RST })));
  assert.equal(h.conn.state, "LISTEN");
});

// ---- SYN-SENT (§3.10.7.3) -----------------------------------------------------------------

Deno.test("SYN-SENT: connect sends SYN with MSS, window scale, SACK-permitted, timestamps", () => {
  const h = new Harness({}, ISS);
  h.now = 5;
  h.conn.connect(h.now);
  const syn = h.one(h.take());
  assert.equal(describe(syn), `S ${ISS}:${ISS} ack 0 w 65535`);
  assert.deepEqual(syn.options, {
    mss: 1460,
    windowScale: 2,
    sackPermitted: true,
    timestamp: { value: 5, echo: 0 },
  });
});

Deno.test("SYN-SENT: SYN-ACK → ESTABLISHED and ACK; scaling and timestamps agreed", () => {
  const h = synSent();
  h.now = 30;
  const ack = h.one(h.input(seg({
    seq: PEER_ISS,
    ack: ISS + 1,
    flags: SYN | ACK,
    window: 29200,
    options: { mss: 1460, windowScale: 7, sackPermitted: true, timestamp: { value: 9, echo: 0 } },
  })));
  assert.equal(h.conn.state, "ESTABLISHED");
  assert.equal(describe(ack), `A ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 32768`);
  assert.deepEqual(ack.options.timestamp, { value: 30, echo: 9 });
  assert.equal(h.conn.info().srtt, 30);
  assert.equal(h.conn.info().sndWnd, 29200); // window in a SYN is never scaled
});

Deno.test("SYN-SENT: without the peer's MSS option the MSS is 536", () => {
  const h = synSent({ timestamps: false });
  h.input(seg({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK }));
  assert.equal(h.conn.mss, 536);
});

Deno.test("SYN-SENT: RST acknowledging our SYN → ECONNREFUSED", () => {
  const h = synSent();
  expectNothing(h.input(seg({ seq: 0, ack: ISS + 1, flags: RST | ACK })));
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, "ECONNREFUSED");
});

Deno.test("SYN-SENT: RST without ACK is ignored (RFC 5961 §3.2)", () => {
  const h = synSent();
  expectNothing(h.input(seg({ seq: 0, flags: RST })));
  assert.equal(h.conn.state, "SYN-SENT");
});

Deno.test("SYN-SENT: unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>", () => {
  const h = synSent();
  const out = h.one(h.input(seg({ seq: PEER_ISS, ack: ISS + 7, flags: SYN | ACK })));
  assert.equal(describe(out), `R ${ISS + 7}:${ISS + 7} ack 0 w 0`);
  assert.equal(h.conn.state, "SYN-SENT");
  // Then the SYN goes again at once, as Linux (TCP_TIMEOUT_MIN), and backs off from there.
  assert.equal(h.one(h.advance(2)).flags, SYN);
  // A second bad ACK after that retransmission brings no early one (no SYN storm).
  h.input(seg({ seq: PEER_ISS, ack: ISS + 7, flags: RST | ACK }));
  expectNothing(h.advance(1999));
  assert.equal(h.one(h.advance(1)).flags, SYN);
});

// RFC 6298 §5.5 backoff and §2.1 initial RTO of 1 s; RFC 1122 §4.2.3.5 SYN give-up.
Deno.test("SYN-SENT: SYN retransmitted at 1, 2, 4 … s, then ETIMEDOUT", () => {
  const h = synSent();
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    for (const s of h.advance(1000)) if (s.flags & SYN) times.push(h.now);
    if (h.conn.state === "CLOSED") break;
  }
  assert.deepEqual(times, [1000, 3000, 7000, 15000, 31000, 63000]);
  assert.equal(h.conn.error, "ETIMEDOUT");
  assert.equal(h.now, 123000); // the last wait is capped at 60 s
});

// §3.5 figure 8: simultaneous open.
Deno.test("SYN-SENT: simultaneous open", () => {
  const h = synSent({ timestamps: false, sack: false, windowScale: false });
  const synAck = h.one(h.input(seg({ seq: PEER_ISS, flags: SYN, options: { mss: 1460 } })));
  assert.equal(describe(synAck), `SA ${ISS}:${ISS} ack ${PEER_ISS + 1} w 65535`);
  assert.equal(h.conn.state, "SYN-RECEIVED");
  // The peer's SYN-ACK (its SYN is old to us): answered with an ACK.
  const ack = h.one(h.input(seg({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK })));
  assert.equal(describe(ack), `A ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
  // The peer's ACK completes our side.
  expectNothing(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1 })));
  assert.equal(h.conn.state, "ESTABLISHED");
});

// ---- SYN-RECEIVED (§3.10.7.4) -------------------------------------------------------------

function synReceived(): Harness {
  const h = new Harness({ timestamps: false });
  h.conn.listen();
  h.input(seg({ seq: PEER_ISS, flags: SYN, options: { mss: 1460 } }));
  return h;
}

Deno.test("SYN-RECEIVED: unacceptable ACK gets RST", () => {
  const h = synReceived();
  const out = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 9 })));
  assert.equal(describe(out), `R ${ISS + 9}:${ISS + 9} ack 0 w 0`);
  assert.equal(h.conn.state, "SYN-RECEIVED");
});

Deno.test("SYN-RECEIVED: a retransmitted SYN gets the SYN-ACK again", () => {
  const h = synReceived();
  const out = h.one(h.input(seg({ seq: PEER_ISS, flags: SYN, options: { mss: 1460 } })));
  assert.equal(describe(out), `SA ${ISS}:${ISS} ack ${PEER_ISS + 1} w 65535`);
});

Deno.test("SYN-RECEIVED: SYN-ACK retransmitted on timeout; RST returns to closed quietly", () => {
  const h = synReceived();
  const re = h.one(h.advance(1000));
  assert.equal(re.flags, SYN | ACK);
  expectNothing(h.input(seg({ seq: PEER_ISS + 1, flags: RST })));
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, undefined);
});

Deno.test("SYN-RECEIVED: RST not at RCV.NXT gets a challenge ACK (RFC 5961 §3.2)", () => {
  const h = synReceived();
  const out = h.one(h.input(seg({ seq: PEER_ISS + 10, flags: RST })));
  assert.equal(describe(out), `A ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
  assert.equal(h.conn.state, "SYN-RECEIVED");
});

Deno.test("SYN-RECEIVED: data on the third ACK is delivered", () => {
  const h = synReceived();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1, len: 10 }));
  assert.equal(h.conn.state, "ESTABLISHED");
  assert.equal(h.conn.recv().length, 10);
});

// ---- ESTABLISHED: RST, SYN, PAWS (RFC 5961, RFC 7323) --------------------------------------

Deno.test("ESTABLISHED: RST at exactly RCV.NXT → ECONNRESET", () => {
  const h = established();
  expectNothing(h.input(seg({ seq: PEER_ISS + 1, flags: RST })));
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, "ECONNRESET");
  assert.ok(h.conn.readable);
});

Deno.test("error: reported once (Linux's sock_error), then end of file", () => {
  const h = established();
  h.input(seg({ seq: PEER_ISS + 1, flags: RST }));
  assert.equal(h.conn.takeError(), "ECONNRESET");
  assert.equal(h.conn.error, undefined);
  assert.equal(h.conn.takeError(), undefined);
  assert.equal(h.conn.state, "CLOSED");
});

Deno.test("SYN-SENT: a hard ICMP error aborts with its code, and no segment", () => {
  const h = synSent();
  h.conn.icmpAbort("ECONNREFUSED");
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, "ECONNREFUSED");
  expectNothing(h.advance(5000));
});

Deno.test("CLOSE-WAIT: RST at RCV.NXT → EPIPE, as Linux's tcp_reset", () => {
  const h = established();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1, flags: FIN | ACK }));
  assert.equal(h.conn.state, "CLOSE-WAIT");
  expectNothing(h.input(seg({ seq: PEER_ISS + 2, flags: RST })));
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, "EPIPE");
});

Deno.test("ESTABLISHED: RST in window but not exact → challenge ACK (RFC 5961 §3.2)", () => {
  const h = established();
  const out = h.one(h.input(seg({ seq: PEER_ISS + 100, flags: RST })));
  assert.equal(describe(out), `A ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
  assert.equal(h.conn.state, "ESTABLISHED");
});

Deno.test("ESTABLISHED: RST outside the window is dropped silently", () => {
  const h = established();
  expectNothing(h.input(seg({ seq: PEER_ISS + 100_000, flags: RST })));
  expectNothing(h.input(seg({ seq: PEER_ISS - 10, flags: RST })));
  assert.equal(h.conn.state, "ESTABLISHED");
});

Deno.test("ESTABLISHED: SYN → challenge ACK, connection kept (RFC 5961 §4.2)", () => {
  const h = established();
  const out = h.one(h.input(seg({ seq: PEER_ISS + 1, flags: SYN })));
  assert.equal(out.flags, ACK);
  assert.equal(out.ack, PEER_ISS + 1);
  assert.equal(h.conn.state, "ESTABLISHED");
});

Deno.test("ESTABLISHED: segment left of the window gets an ACK (duplicate SYN-ACK)", () => {
  const h = established();
  const out = h.one(h.input(seg({ seq: PEER_ISS, ack: ISS + 1, flags: SYN | ACK })));
  assert.equal(describe(out), `A ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
});

Deno.test("ESTABLISHED: ACK of data never sent gets an ACK and is dropped", () => {
  const h = established();
  const out = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 500, len: 5 })));
  assert.equal(out.ack, PEER_ISS + 1);
  assert.equal(h.conn.recvQueue, 0);
});

Deno.test("ESTABLISHED: ACK older than SND.UNA - MAX.SND.WND is dropped (RFC 5961 §5.2)", () => {
  const h = established();
  const out = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS - 100_000, len: 10 })));
  assert.equal(out.ack, PEER_ISS + 1);
  assert.equal(h.conn.recvQueue, 0);
  assert.equal(h.conn.drops["ack-too-old"], 1);
});

Deno.test("ESTABLISHED: PAWS drops a segment with an old TSval (RFC 7323 §5.3)", () => {
  const h = established({}, { options: { mss: 1460, timestamp: { value: 1000, echo: 0 } } });
  const out = h.one(h.input(seg({
    seq: PEER_ISS + 1,
    ack: ISS + 1,
    len: 10,
    options: { timestamp: { value: 999, echo: 0 } },
  })));
  assert.equal(out.ack, PEER_ISS + 1);
  assert.equal(h.conn.recvQueue, 0);
  assert.equal(h.conn.drops.paws, 1);
  h.input(seg({
    seq: PEER_ISS + 1,
    ack: ISS + 1,
    len: 10,
    options: { timestamp: { value: 1001, echo: 0 } },
  }));
  assert.equal(h.conn.recvQueue, 10);
});

// ---- Closing (§3.6) -----------------------------------------------------------------------

Deno.test("FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED after 2*MSL", () => {
  const h = established();
  h.conn.close();
  const fin = h.one(h.flush());
  assert.equal(describe(fin), `FA ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
  assert.equal(h.conn.state, "FIN-WAIT-1");
  expectNothing(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2 })));
  assert.equal(h.conn.state, "FIN-WAIT-2");
  const ack = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK })));
  assert.equal(describe(ack), `A ${ISS + 2}:${ISS + 2} ack ${PEER_ISS + 2} w 65535`);
  assert.equal(h.conn.state, "TIME-WAIT");
  h.advance(30_000);
  // A retransmitted FIN is acknowledged and restarts the 2*MSL timer.
  const again = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK })));
  assert.equal(again.ack, PEER_ISS + 2);
  expectNothing(h.advance(59_999));
  assert.equal(h.conn.state, "TIME-WAIT");
  expectNothing(h.advance(1));
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, undefined);
});

// RFC 1122 §4.2.2.13 / RFC 6191: a new SYN may reuse a 4-tuple in TIME-WAIT.
Deno.test("TIME-WAIT: a new SYN beyond RCV.NXT may reopen the 4-tuple", () => {
  const h = established();
  h.conn.close();
  h.flush();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK }));
  assert.equal(h.conn.state, "TIME-WAIT");
  assert.ok(h.conn.acceptsNewSyn(seg({ seq: PEER_ISS + 100_000, flags: SYN })));
  assert.ok(!h.conn.acceptsNewSyn(seg({ seq: PEER_ISS, flags: SYN })));
  assert.ok(!h.conn.acceptsNewSyn(seg({ seq: PEER_ISS + 100_000, flags: SYN | ACK })));
});

Deno.test("TIME-WAIT: unacceptable segments draw an ACK; only an exact RST ends it (Linux)", () => {
  const h = established();
  h.conn.close();
  h.flush();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK }));
  assert.equal(h.conn.state, "TIME-WAIT");
  // Data, even inside the old window, is answered (tcp_timewait_state_process, TCP_TW_ACK).
  const a = h.one(h.input(seg({ seq: PEER_ISS + 5000, ack: ISS + 2, len: 10 })));
  assert.equal(describe(a), `A ${ISS + 2}:${ISS + 2} ack ${PEER_ISS + 2} w 65535`);
  assert.equal(h.one(h.input(seg({ seq: PEER_ISS + 2, ack: ISS + 2, len: 10 }))).ack, PEER_ISS + 2);
  // A bare ACK at RCV.NXT is silent; a RST elsewhere is ignored, without a challenge ACK.
  expectNothing(h.input(seg({ seq: PEER_ISS + 2, ack: ISS + 2 })));
  expectNothing(h.input(seg({ seq: PEER_ISS + 3, flags: RST })));
  assert.equal(h.conn.state, "TIME-WAIT");
  expectNothing(h.input(seg({ seq: PEER_ISS + 2, flags: RST })));
  assert.equal(h.conn.state, "CLOSED");
  assert.equal(h.conn.error, undefined);
});

Deno.test("CLOSE-WAIT → LAST-ACK → CLOSED (passive close)", () => {
  const h = established();
  const ack = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1, flags: FIN | ACK })));
  assert.equal(ack.ack, PEER_ISS + 2);
  assert.equal(h.conn.state, "CLOSE-WAIT");
  assert.ok(h.conn.eof);
  assert.equal(h.conn.send(new Uint8Array(3)), 3);
  h.conn.close();
  const out = h.flush();
  assert.equal(out.length, 1);
  assert.equal(describe(out[0]), `FPA ${ISS + 1}:${ISS + 4} ack ${PEER_ISS + 2} w 65535`);
  assert.equal(h.conn.state, "LAST-ACK");
  expectNothing(h.input(seg({ seq: PEER_ISS + 2, ack: ISS + 5 })));
  assert.equal(h.conn.state, "CLOSED");
});

Deno.test("CLOSING: simultaneous close", () => {
  const h = established();
  h.conn.close();
  h.flush();
  const ack = h.one(h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1, flags: FIN | ACK })));
  assert.equal(ack.ack, PEER_ISS + 2);
  assert.equal(h.conn.state, "CLOSING");
  expectNothing(h.input(seg({ seq: PEER_ISS + 2, ack: ISS + 2 })));
  assert.equal(h.conn.state, "TIME-WAIT");
});

Deno.test("FIN-WAIT-2: half-close keeps receiving until the peer's FIN", () => {
  const h = established();
  h.conn.shutdownWrite();
  h.flush();
  assert.ok(h.conn.writeClosed);
  assert.equal(h.conn.send(new Uint8Array(1)), 0);
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, len: 100 }));
  assert.equal(h.conn.state, "FIN-WAIT-2");
  assert.equal(h.conn.recv().length, 100);
  h.input(seg({ seq: PEER_ISS + 101, ack: ISS + 2, flags: FIN | ACK }));
  assert.equal(h.conn.state, "TIME-WAIT");
  assert.ok(h.conn.eof);
});

Deno.test("FIN-WAIT-1: FIN acked together with the peer's FIN → TIME-WAIT", () => {
  const h = established();
  h.conn.close();
  h.flush();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK }));
  assert.equal(h.conn.state, "TIME-WAIT");
});

Deno.test("FIN-WAIT-1: FIN is retransmitted on timeout", () => {
  const h = established();
  h.conn.close();
  h.flush();
  const re = h.one(h.advance(200));
  assert.equal(describe(re), `FA ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 65535`);
});

Deno.test("close() with unread data sends RST (RFC 2525 §2.17)", () => {
  const h = established();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1, len: 5 }));
  h.take();
  h.conn.close();
  assert.equal(describe(h.one(h.take())), `RA ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 6} w 0`);
  assert.equal(h.conn.state, "CLOSED");
});

Deno.test("abort() sends RST and closes", () => {
  const h = established();
  h.conn.abort();
  assert.equal(h.one(h.take()).flags & RST, RST);
  assert.equal(h.conn.state, "CLOSED");
});

// ---- Keepalive (RFC 1122 §4.2.3.6) --------------------------------------------------------

Deno.test("keepalive: probes after idle, ETIMEDOUT after count unanswered", () => {
  const h = established({ keepalive: { idle: 1000, interval: 100, count: 3 } });
  expectNothing(h.advance(999));
  const p = h.one(h.advance(1));
  assert.equal(describe(p), `A ${ISS}:${ISS} ack ${PEER_ISS + 1} w 65535`);
  // An answer resets the count.
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1 }));
  expectNothing(h.advance(999));
  assert.equal(h.advance(1).length, 1);
  assert.equal(h.advance(100).length, 1);
  assert.equal(h.advance(100).length, 1);
  // Then a reset, as Linux's tcp_keepalive_timer (scenario ka_probes_then_reset.pkt).
  const rst = h.one(h.advance(100));
  assert.equal(describe(rst), `RA ${ISS + 1}:${ISS + 1} ack ${PEER_ISS + 1} w 0`);
  assert.equal(h.conn.error, "ETIMEDOUT");
  assert.equal(h.conn.state, "CLOSED");
});

Deno.test("keepalive: turned on while idle, the timer runs from now (Linux tcp_set_keepalive)", () => {
  const h = established();
  expectNothing(h.advance(5000));
  h.conn.options.keepalive = { idle: 1000, interval: 100, count: 1 };
  h.conn.keepaliveChanged(h.now);
  expectNothing(h.advance(999));
  assert.equal(describe(h.one(h.advance(1))), `A ${ISS}:${ISS} ack ${PEER_ISS + 1} w 65535`);
  // A shorter idle time while on counts from the last segment received (TCP_KEEPIDLE).
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1 }));
  h.advance(300);
  h.conn.options.keepalive = { idle: 500, interval: 100, count: 1 };
  h.conn.keepaliveChanged(h.now);
  expectNothing(h.advance(199));
  assert.equal(h.advance(1).length, 1);
  // Off: no more probes, and an unchanged setting changes nothing.
  h.conn.options.keepalive = undefined;
  h.conn.keepaliveChanged(h.now);
  h.conn.keepaliveChanged(h.now);
  expectNothing(h.advance(10_000));
  assert.equal(h.conn.state, "ESTABLISHED");
});
