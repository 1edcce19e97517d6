/**
 * A path MTU drop at the connection (RFC 1191, RFC 8201 §5.4), as Linux's tcp_sync_mss and
 * tcp_simple_retransmit: the MSS falls to what the MTU leaves, never rises, never goes below
 * tcp_min_snd_mss, and what was in flight is resent at once at the new size, cwnd untouched.
 */
import assert from "node:assert/strict";
import { ACK, established, pattern, PEER_ISS, seg } from "./_test_fixture.ts";
import { mssForPathMtu, TCP_MIN_SND_MSS } from "./path_mtu.ts";

const P = PEER_ISS + 1; // the peer's first data byte

Deno.test("path MTU → MSS: the MTU less the IP and TCP headers, floored at tcp_min_snd_mss", () => {
  assert.equal(mssForPathMtu(1500, false), 1460);
  assert.equal(mssForPathMtu(576, false), 536);
  assert.equal(mssForPathMtu(552, false), 512);
  assert.equal(mssForPathMtu(1280, true), 1220);
  assert.equal(mssForPathMtu(68, false), TCP_MIN_SND_MSS);
  assert.equal(mssForPathMtu(0, true), TCP_MIN_SND_MSS);
});

Deno.test("ESTABLISHED: a path MTU drop resends the flight from SND.UNA at once at the new size, cwnd in segments kept", () => {
  const h = established();
  assert.equal(h.conn.send(pattern(0, 5840)), 5840);
  const first = h.flush();
  assert.deepEqual(first.map((s) => s.payload.length), [1460, 1460, 1460, 1460]);
  const cwnd = h.conn.info().cwnd;
  assert.ok(h.conn.pathMtuReduced(h.now, 536));
  const again = h.take();
  assert.equal(again[0].seq, first[0].seq, "from SND.UNA");
  // The initial window is 10 segments whatever their size (Linux counts cwnd in packets).
  assert.deepEqual(again.map((s) => s.payload.length), Array(10).fill(536));
  assert.deepEqual(again[0].payload, first[0].payload.subarray(0, 536));
  assert.equal(h.conn.info().cwnd / 536, cwnd / 1460, "cwnd in segments kept");
  assert.equal(h.conn.mss, 536);
  // A larger MTU, or the same, changes nothing and resends nothing.
  assert.ok(!h.conn.pathMtuReduced(h.now, 1460));
  assert.ok(!h.conn.pathMtuReduced(h.now, 536));
  assert.deepEqual(h.take(), []);
  // The peer acknowledges what it got: the rest follows at the new size.
  const rest = h.input(seg({ seq: P, ack: first[0].seq + 5360, flags: ACK, window: 65535 }));
  assert.deepEqual(rest.map((s) => s.payload.length), [480]);
});

Deno.test("ESTABLISHED with timestamps: the MSS a path MTU leaves is less the 12-byte option", () => {
  const h = established({}, { options: { mss: 1460, timestamp: { value: 1, echo: 0 } } });
  assert.equal(h.conn.mss, 1448);
  assert.ok(h.conn.pathMtuReduced(h.now, 1220));
  assert.equal(h.conn.mss, 1208);
});

Deno.test("ESTABLISHED: a path MTU drop reported for another connection lowers the MSS, resends nothing", () => {
  const h = established();
  assert.equal(h.conn.send(pattern(0, 2920)), 2920);
  assert.equal(h.flush().length, 2);
  assert.ok(h.conn.pathMtuReduced(h.now, 536, false));
  assert.deepEqual(h.take(), []);
  assert.equal(h.conn.mss, 536);
  assert.equal(h.conn.info().retransmits, 0);
});
