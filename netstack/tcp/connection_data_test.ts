/** Packet traces for data transfer in ESTABLISHED: ACK policy, windows, loss recovery, wrap. */

import assert from "node:assert/strict";
import {
  describe,
  established,
  expectNothing,
  type Harness,
  ISS,
  pattern,
  PEER_ISS,
  seg,
} from "./_test_fixture.ts";

const D = ISS + 1; // our first data byte
const P = PEER_ISS + 1; // the peer's first data byte

/** Send `n` bytes from the app and return what went out. */
function write(h: Harness, n: number, from = 0): ReturnType<Harness["flush"]> {
  assert.equal(h.conn.send(pattern(from, n)), n);
  return h.flush();
}

/**
 * Spend the quick-ack budget of the start of a connection (quick_ack.ts, Linux's
 * tcp_incr_quickack): small segments, each ACKed at once, then read. Returns the next seq.
 */
function pastQuickAcks(h: Harness): number {
  let seq = P;
  for (let i = 0; i < 100; i++) {
    const acks = h.input(seg({ seq, ack: D, len: 10 }));
    seq += 10;
    if (acks.length === 0) break;
  }
  h.advance(40); // the delayed ACK of the last one
  h.conn.recv();
  h.take();
  return seq;
}

// ---- Receiving: delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2) -----------------------------

Deno.test("ESTABLISHED: the first segments are ACKed at once (quick-ack, as Linux)", () => {
  const h = established();
  for (let i = 0; i < 16; i++) {
    const a = h.one(h.input(seg({ seq: P + 100 * i, ack: D, len: 100 })));
    assert.equal(a.ack, P + 100 * (i + 1));
  }
  expectNothing(h.input(seg({ seq: P + 1600, ack: D, len: 100 }))); // budget spent
  assert.equal(h.one(h.advance(40)).ack, P + 1700);
  // After an idle gap longer than the RTO, quick-ack again (tcp_event_data_recv).
  h.advance(5000);
  assert.equal(h.one(h.input(seg({ seq: P + 1700, ack: D, len: 100 }))).ack, P + 1800);
});

Deno.test("ESTABLISHED: a lone segment is ACKed after the 40 ms delayed-ACK timeout", () => {
  const h = established();
  const s = pastQuickAcks(h);
  expectNothing(h.input(seg({ seq: s, ack: D, len: 100 })));
  expectNothing(h.advance(39));
  assert.equal(describe(h.one(h.advance(1))), `A ${D}:${D} ack ${s + 100} w 65535`);
  assert.deepEqual(h.conn.recv(), pattern(0, 100));
});

Deno.test("ESTABLISHED: data answered by data at once is ping-pong: its ACKs are delayed", () => {
  const h = established({ nodelay: true });
  h.one(h.input(seg({ seq: P, ack: D, len: 100 }))); // quick-ack
  write(h, 10); // a reply within the delayed-ACK time
  h.input(seg({ seq: P + 100, ack: D + 10, len: 100 }));
  expectNothing(h.advance(39));
  assert.equal(h.one(h.advance(1)).ack, P + 200);
  // The delayed ACK was missed (it fired): interactive mode ends, quick-acks resume.
  assert.equal(h.one(h.input(seg({ seq: P + 200, ack: D + 10, len: 100 }))).ack, P + 300);
});

Deno.test("ESTABLISHED: outgoing data carries the pending ACK (no separate delayed ACK)", () => {
  const h = established({ nodelay: true });
  h.input(seg({ seq: P, ack: D, len: 100 }));
  const data = h.one(write(h, 10));
  assert.equal(describe(data), `PA ${D}:${D + 10} ack ${P + 100} w 65535`);
  expectNothing(h.advance(100).filter((s) => s.payload.length === 0));
});

Deno.test("ESTABLISHED: every second full-sized segment is ACKed at once", () => {
  const h = established();
  const s = pastQuickAcks(h);
  expectNothing(h.input(seg({ seq: s, ack: D, len: 1460 })));
  const ack = h.one(h.input(seg({ seq: s + 1460, ack: D, len: 1460 })));
  assert.equal(ack.ack, s + 2920);
});

Deno.test("ESTABLISHED: out-of-order data is ACKed at once with SACK; the hole fill too", () => {
  const h = established({}, { options: { mss: 1460, sackPermitted: true } });
  const dup = h.one(h.input(seg({ seq: P + 1000, ack: D, len: 100 })));
  assert.equal(dup.ack, P);
  assert.deepEqual(dup.options.sack, [[P + 1000, P + 1100]]);
  const full = h.one(h.input(seg({ seq: P, ack: D, payload: pattern(0, 1000) })));
  assert.equal(full.ack, P + 1100);
  assert.equal(full.options.sack, undefined);
  const got = h.conn.recv();
  assert.deepEqual(got.subarray(0, 1000), pattern(0, 1000));
  assert.equal(got.length, 1100);
});

Deno.test("ESTABLISHED: reassembly memory is bounded by the buffer and range count", () => {
  const h = established({ rcvBuf: 8192, maxOutOfOrderRanges: 4, windowScale: false });
  for (let i = 0; i < 100; i++) h.input(seg({ seq: P + 200 * i + 100, ack: D, len: 50 }));
  assert.equal(h.conn.recvQueue, 0);
  assert.ok(h.conn.drops.unacceptable! > 0); // beyond the 8 KiB window
});

// ---- Receive window (RFC 9293 §3.8.6.2.2) -------------------------------------------------

Deno.test("ESTABLISHED: the window closes as data queues and reopens by a full MSS", () => {
  const h = established({ rcvBuf: 4000, windowScale: false });
  h.input(seg({ seq: P, ack: D, len: 1460 }));
  const a = h.one(h.input(seg({ seq: P + 1460, ack: D, len: 1460 })));
  assert.equal(a.window, 4000 - 2920);
  h.conn.recv(100); // a small read does not advertise a small increase
  expectNothing(h.flush());
  h.conn.recv(); // reading everything does: window update
  assert.equal(h.one(h.flush()).window, 4000);
});

// ---- Sending: Nagle, windows (RFC 9293 §3.8.6.2.1, RFC 5681, RFC 6928) ---------------------

// Minshall's Nagle, as Linux's tcp_nagle_check: a small segment waits only while an earlier
// small one is unacknowledged.
Deno.test("ESTABLISHED: Nagle holds a small segment while a small one is unacknowledged", () => {
  const h = established();
  const out = write(h, 3000);
  assert.deepEqual(out.map(describe), [
    `A ${D}:${D + 1460} ack ${P} w 65535`,
    `A ${D + 1460}:${D + 2920} ack ${P} w 65535`,
    `PA ${D + 2920}:${D + 3000} ack ${P} w 65535`,
  ]);
  expectNothing(write(h, 100, 3000)); // the 80-byte tail is unacknowledged
  const next = h.one(h.input(seg({ seq: P, ack: D + 3000 })));
  assert.equal(describe(next), `PA ${D + 3000}:${D + 3100} ack ${P} w 65535`);
});

Deno.test("ESTABLISHED: TCP_NODELAY sends the small tail at once", () => {
  const h = established({ nodelay: true });
  assert.equal(write(h, 3000).length, 3);
  assert.equal(write(h, 1, 3000).length, 1);
});

Deno.test("ESTABLISHED: initial window is 10 segments (RFC 6928)", () => {
  const h = established({ nodelay: true });
  assert.equal(write(h, 20 * 1460).length, 10);
  assert.equal(h.conn.info().cwnd, 14600);
});

// Sender SWS avoidance: a window-limited piece goes out only if >= half the max window.
Deno.test("ESTABLISHED: the peer's window limits sending (sender SWS avoidance)", () => {
  // A largest window of 2000 also bounds segments to 1000 bytes (Linux's tcp_bound_to_half_wnd).
  const h = established({ nodelay: true }, { window: 2000 });
  assert.deepEqual(write(h, 6000).map((s) => s.payload.length), [1000, 1000]);
  const a = h.input(seg({ seq: P, ack: D + 2000, window: 2000 }));
  assert.deepEqual(a.map((s) => s.payload.length), [1000, 1000]);
  expectNothing(h.input(seg({ seq: P, ack: D + 4000, window: 500 })));
  // Nothing in flight: the override timeout sends what fits.
  assert.deepEqual(h.advance(300).map((s) => s.payload.length), [500]);
});

Deno.test("ESTABLISHED: send buffer full → send() takes 0 (EAGAIN)", () => {
  const h = established({ sndBuf: 1000 });
  assert.equal(h.conn.send(new Uint8Array(1500)), 1000);
  assert.equal(h.conn.send(new Uint8Array(1)), 0);
  assert.ok(!h.conn.writable);
});

// ---- Retransmission timeout (RFC 6298) ----------------------------------------------------

Deno.test("ESTABLISHED: RTO retransmission with exponential backoff, then ETIMEDOUT", () => {
  const h = established({ maxRetransmits: 4 });
  write(h, 100);
  assert.equal(h.conn.info().rto, 200);
  const times: number[] = [];
  for (let i = 0; i < 100 && h.conn.state !== "CLOSED"; i++) {
    for (const s of h.advance(100)) {
      assert.equal(describe(s), `PA ${D}:${D + 100} ack ${P} w 65535`);
      times.push(h.now);
    }
  }
  assert.deepEqual(times, [200, 600, 1400, 3000]);
  assert.equal(h.now, 6200);
  assert.equal(h.conn.error, "ETIMEDOUT");
  assert.equal(h.conn.info().retransmits, 4);
});

Deno.test("ESTABLISHED: default limit is 15 retransmissions", () => {
  const h = established();
  write(h, 10);
  let n = 0;
  for (let i = 0; i < 2000 && h.conn.state !== "CLOSED"; i++) n += h.advance(1000).length;
  assert.equal(n, 15);
  assert.equal(h.conn.error, "ETIMEDOUT");
});

Deno.test("ESTABLISHED: after an RTO the window collapses to one segment", () => {
  const h = established({ nodelay: true });
  write(h, 5 * 1460);
  const re = h.one(h.advance(200));
  assert.equal(re.seq, D);
  assert.equal(h.conn.info().cwnd, 1460);
  // ACK of the retransmission: slow start sends the next two.
  const next = h.input(seg({ seq: P, ack: D + 1460 }));
  assert.deepEqual(next.map((s) => s.seq), [D + 1460, D + 2920]);
});

// ---- Fast retransmit / NewReno (RFC 5681 §3.2, RFC 6582) ----------------------------------

Deno.test("ESTABLISHED: fast retransmit after three duplicate ACKs, NewReno partial ACK", () => {
  const h = established({ nodelay: true });
  write(h, 10 * 1460);
  expectNothing(h.input(seg({ seq: P, ack: D + 1460 })).filter((s) => s.seq !== D + 14600));
  h.take();
  // Segments 2 and 4 were lost.
  expectNothing(h.input(seg({ seq: P, ack: D + 1460 })));
  expectNothing(h.input(seg({ seq: P, ack: D + 1460 })));
  const fr = h.input(seg({ seq: P, ack: D + 1460 }));
  assert.equal(describe(fr[0]), `A ${D + 1460}:${D + 2920} ack ${P} w 65535`);
  assert.ok(h.conn.info().inRecovery);
  // Partial ACK up to the second hole: that one is retransmitted at once.
  const part = h.input(seg({ seq: P, ack: D + 4380 }));
  assert.equal(part[0].seq, D + 4380);
  assert.ok(h.conn.info().inRecovery);
  h.input(seg({ seq: P, ack: D + 14600 }));
  assert.ok(!h.conn.info().inRecovery);
  assert.equal(h.conn.info().ssthresh, Math.floor(13140 / 2));
});

Deno.test("ESTABLISHED: limited transmit sends new data on the first two dup ACKs (RFC 3042)", () => {
  const h = established({ nodelay: true });
  // The peer's first ACK moves SND.WL1 past its SYN: a window update, not a duplicate (Linux).
  h.input(seg({ seq: P, ack: D }));
  write(h, 14 * 1460);
  h.take();
  const one = h.input(seg({ seq: P, ack: D }));
  const two = h.input(seg({ seq: P, ack: D }));
  assert.deepEqual([...one, ...two].map((s) => s.seq), [D + 14600, D + 16060]);
  const three = h.input(seg({ seq: P, ack: D }));
  assert.equal(three[0].seq, D); // fast retransmit
});

// ---- SACK loss recovery (RFC 6675) --------------------------------------------------------

Deno.test("ESTABLISHED: SACK recovery retransmits only the holes", () => {
  const h = established({ nodelay: true }, { options: { mss: 1460, sackPermitted: true } });
  write(h, 10 * 1460);
  const S = (k: number) => D + 1460 * k; // start of segment k
  // Segments 0 and 2 are lost; the peer SACKs the rest as they arrive.
  const dup = (blocks: Array<[number, number]>) =>
    h.input(seg({ seq: P, ack: D, options: { sack: blocks } }));
  expectNothing(dup([[S(1), S(2)]]));
  expectNothing(dup([[S(3), S(4)], [S(1), S(2)]]));
  const first = dup([[S(3), S(5)], [S(1), S(2)]]);
  assert.deepEqual(first.map((s) => s.seq), [S(0)]);
  assert.ok(h.conn.info().inRecovery);
  // pipe (RFC 6675 §4) = S0 retransmitted + S6..S9 in flight = cwnd: wait for one more SACK.
  expectNothing(dup([[S(3), S(6)], [S(1), S(2)]]));
  const second = dup([[S(3), S(7)], [S(1), S(2)]]);
  assert.deepEqual(second.map((s) => s.seq), [S(2)]);
  expectNothing(dup([[S(3), S(10)], [S(1), S(2)]]));
  h.input(seg({ seq: P, ack: S(2), options: { sack: [[S(3), S(10)]] } }));
  h.input(seg({ seq: P, ack: S(10) }));
  assert.ok(!h.conn.info().inRecovery);
  assert.equal(h.conn.info().retransmits, 2);
});

// ---- Zero window (RFC 9293 §3.8.6.1) ------------------------------------------------------

Deno.test("ESTABLISHED: zero-window probes back off until the window opens", () => {
  const h = established({ nodelay: true });
  write(h, 100);
  h.input(seg({ seq: P, ack: D + 100, window: 0 }));
  expectNothing(write(h, 50, 100));
  const p1 = h.one(h.advance(200));
  assert.equal(describe(p1), `A ${D + 99}:${D + 99} ack ${P} w 65535`);
  expectNothing(h.input(seg({ seq: P, ack: D + 100, window: 0 })));
  expectNothing(h.advance(399));
  assert.equal(h.advance(1).length, 1); // backed off to 400 ms
  const data = h.one(h.input(seg({ seq: P, ack: D + 100, window: 1000 })));
  assert.equal(describe(data), `PA ${D + 100}:${D + 150} ack ${P} w 65535`);
  assert.equal(h.conn.state, "ESTABLISHED");
});

// ---- Sequence wrap-around (RFC 9293 §3.4) -------------------------------------------------

Deno.test("ESTABLISHED: both directions transfer across the 2^32 wrap", () => {
  const iss = 0xffff_f000;
  const peerIss = 0xffff_fa00;
  const h = established({ nodelay: true }, { seq: peerIss, ack: (iss + 1) >>> 0 }, iss);
  let una = (iss + 1) >>> 0;
  for (let k = 0; k < 8; k++) {
    const out = write(h, 1460, k * 1460);
    assert.equal(out.length, 1);
    assert.equal(out[0].seq, una);
    assert.deepEqual(out[0].payload, pattern(k * 1460, 1460));
    una = (una + 1460) >>> 0;
    h.input(seg({ seq: (peerIss + 1) >>> 0, ack: una }));
  }
  assert.ok(una < 0x10000, "sender crossed zero");
  assert.equal(h.conn.sendQueue, 0);
  let rcv = (peerIss + 1) >>> 0;
  const acks: number[] = [];
  for (let k = 0; k < 4; k++) {
    for (const a of h.input(seg({ seq: rcv, ack: una, payload: pattern(k * 1000, 1000) }))) {
      acks.push(a.ack);
    }
    rcv = (rcv + 1000) >>> 0;
  }
  // Quick-ack (Linux's tcp_incr_quickack: the first segments of a connection) ACKs each.
  assert.deepEqual(acks, [1001, 2001, 3001, 4001].map((n) => (peerIss + n) >>> 0));
  assert.ok(rcv < 0x1000, "receiver crossed zero");
  assert.equal(h.conn.recv().length, 4000);
});

// Linux's tcp_retransmit_timer ("receiver dastardly shrinks window"): the RTO resends the
// segment beyond the shrunk window as the probe, backing off, and does not give up while the
// peer answers.
Deno.test("ESTABLISHED: a window shrunk to zero under in-flight data: the RTO resends it as the probe", () => {
  const h = established({ nodelay: true, maxRetransmits: 3 });
  write(h, 1000);
  // The peer acknowledges nothing and closes its window (RFC 9293 §3.8.6: shrinking allowed).
  h.input(seg({ seq: P, ack: D, window: 0 }));
  for (let i = 0; i < 20; i++) {
    const probe = h.one(h.advance(h.conn.nextDeadline()! - h.now));
    assert.equal(describe(probe), `PA ${D}:${D + 1000} ack ${P} w 65535`);
    h.input(seg({ seq: P, ack: D, window: 0 }));
  }
  assert.ok(h.now > 600_000);
  assert.equal(h.conn.state, "ESTABLISHED");
  h.input(seg({ seq: P, ack: D + 1000, window: 65535 }));
  assert.equal(h.conn.info().unacked, 0);
});

// ---- TSO: a link that cuts segments itself --------------------------------------------------

Deno.test("ESTABLISHED with TSO: new data leaves in whole multiples of the MSS up to gsoMax", () => {
  const h = established({ gsoMax: 65_000, sndBuf: 1 << 20 });
  // The initial window is 10 MSS: one super-segment of exactly that.
  const first = write(h, 100_000);
  assert.deepEqual(first.map((s) => s.payload.length), [14_600]);
  // As the window opens, segments grow to the largest multiple of the MSS under gsoMax.
  const after = h.input(seg({ seq: P, ack: D + 14_600, window: 65535 }));
  const sizes = after.map((s) => s.payload.length).filter((n) => n > 0);
  assert.ok(
    sizes.every((n) => n % 1460 === 0 || n < 1460) && sizes.some((n) => n > 1460),
    `${sizes}`,
  );
  assert.ok(sizes.every((n) => n <= 44 * 1460), `${sizes}`);
});

Deno.test("ESTABLISHED with TSO: a lower path MTU turns TSO off", () => {
  const h = established({ gsoMax: 65_000 });
  assert.ok(h.conn.pathMtuReduced(h.now, 1000));
  assert.deepEqual(write(h, 5000).map((s) => s.payload.length), [1000, 1000, 1000, 1000, 1000]);
});
