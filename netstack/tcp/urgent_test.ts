/**
 * Urgent data (RFC 9293 §3.8.5, RFC 6093) as packet traces, checked against Linux's behaviour
 * (tcp_mark_urg / tcp_transmit_skb when sending; tcp_check_urg / tcp_urg / tcp_recvmsg /
 * tcp_recv_urg when receiving). Our ISS 1000, the peer's 5000.
 */

import assert from "node:assert/strict";
import { TcpFlag } from "../wire/tcp.ts";
import { ACK, established, ISS, pattern, PEER_ISS, seg } from "./_test_fixture.ts";

const { URG } = TcpFlag;
const P = PEER_ISS + 1;
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** A data segment from the peer at stream offset `off` (0 = first byte). */
function data(off: number, payload: Uint8Array | string, urgent?: number) {
  return seg({
    seq: (P + off) >>> 0,
    ack: ISS + 1,
    flags: ACK | (urgent === undefined ? 0 : URG),
    urgent: urgent ?? 0,
    payload: typeof payload === "string" ? text(payload) : payload,
  });
}

// ---- Sending ---------------------------------------------------------------------------------

Deno.test("urgent send: the pointer names the byte after the urgent data, on every segment before it", () => {
  const h = established({ nodelay: true });
  h.conn.send(pattern(0, 3000));
  h.conn.markUrgent();
  h.conn.poll(h.now);
  const out = h.take();
  assert.equal(out.length, 3); // 1460 + 1460 + 80
  for (const s of out) {
    assert.ok(s.flags & URG, "URG on every segment before SND.UP");
    assert.equal((s.seq + s.urgent) >>> 0, ISS + 1 + 3000); // RFC 6093: just past the last byte
  }
});

Deno.test("urgent send: a retransmission keeps URG while SND.UNA is before SND.UP, then it stops", () => {
  const h = established();
  h.conn.send(text("0123456789"));
  h.conn.markUrgent();
  h.conn.poll(h.now);
  const first = h.one(h.take());
  assert.equal(first.urgent, 10);
  const rto = h.advance(1000);
  assert.ok(rto.length >= 1);
  for (const s of rto) {
    assert.ok(s.flags & URG);
    assert.equal(s.urgent, 10);
  }
  h.input(seg({ seq: P, ack: ISS + 11 }));
  h.conn.send(text("more"));
  h.conn.poll(h.now);
  const after = h.one(h.take());
  assert.equal(after.flags & URG, 0, "urgent mode ends once SND.UP is acknowledged");
  assert.equal(after.urgent, 0);
});

Deno.test("urgent send: Nagle does not hold urgent data back (Linux's tcp_nagle_test)", () => {
  const h = established();
  h.conn.send(text("a"));
  h.conn.poll(h.now);
  assert.equal(h.take().length, 1); // nothing in flight: goes
  h.conn.send(text("b"));
  h.conn.poll(h.now);
  assert.equal(h.take().length, 0, "Nagle holds a small segment while one is unacknowledged");
  h.conn.markUrgent();
  h.conn.poll(h.now);
  const s = h.one(h.take());
  assert.equal(str(s.payload), "b");
  assert.ok(s.flags & URG);
  assert.equal(s.urgent, 1);
});

Deno.test("urgent send: SND.UP more than 64 KiB ahead sends pointer 0xffff", () => {
  const h = established({ nodelay: true, sndBuf: 1 << 20 }, { window: 65535 });
  h.conn.send(pattern(0, 100_000));
  h.conn.markUrgent();
  h.conn.poll(h.now);
  const s = h.take()[0];
  assert.ok(s.flags & URG);
  assert.equal(s.urgent, 0xffff);
});

Deno.test("urgent send: only segments starting before SND.UP carry URG (a pure ACK at SND.UP does not)", () => {
  const h = established();
  h.conn.send(text("xy"));
  h.conn.markUrgent();
  h.conn.poll(h.now);
  h.take();
  h.input(data(0, "peer data"));
  const out = h.advance(200);
  const ack = out.find((s) => s.payload.length === 0)!;
  assert.equal(ack.seq, ISS + 3);
  assert.equal(ack.flags & URG, 0);
  const rexmit = out.find((s) => s.payload.length > 0)!;
  assert.ok(rexmit.flags & URG);
  assert.equal(rexmit.urgent, 2);
});

// ---- Receiving -------------------------------------------------------------------------------

Deno.test("urgent receive: the byte before the pointer leaves the stream for recv(MSG_OOB)", () => {
  const h = established();
  assert.equal(h.conn.recvUrgent(), "EINVAL", "no urgent data yet");
  h.input(data(0, "abcdefghij", 10));
  assert.ok(h.conn.urgentPending, "POLLPRI");
  assert.equal(str(h.conn.recv()), "abcdefghi", "a read stops at the mark");
  assert.ok(h.conn.atUrgentMark);
  assert.equal(h.conn.recvUrgent(true), "j".charCodeAt(0), "MSG_PEEK leaves it");
  assert.equal(h.conn.recvUrgent(), "j".charCodeAt(0));
  assert.equal(h.conn.recvUrgent(), "EINVAL", "already read");
  assert.equal(h.conn.urgentPending, false);
  h.input(data(10, "klm"));
  assert.equal(str(h.conn.recv()), "klm", "the stream goes on without the OOB byte");
});

Deno.test("urgent receive: a read stops before the mark even with data behind it", () => {
  const h = established();
  h.input(data(0, "abcdefghij", 5)); // OOB byte 'e'
  h.input(data(10, "KLM"));
  assert.equal(str(h.conn.recv()), "abcd");
  assert.equal(h.conn.recvQueue, 8);
  assert.equal(str(h.conn.recv()), "fghijKLM", "the next read passes the mark");
  assert.equal(h.conn.recvUrgent(), "EINVAL", "passing the mark forgets the urgent byte (Linux)");
});

Deno.test("urgent receive: SO_OOBINLINE keeps the byte in the stream; MSG_OOB is EINVAL", () => {
  const h = established({ oobInline: true });
  h.input(data(0, "abcdefghij", 5));
  assert.ok(h.conn.urgentPending, "POLLPRI also inline, as Linux's tcp_poll");
  assert.equal(h.conn.recvUrgent(), "EINVAL");
  assert.equal(str(h.conn.recv()), "abcd", "a read stops at the mark");
  assert.ok(h.conn.atUrgentMark);
  assert.equal(str(h.conn.recv()), "efghij");
  assert.equal(h.conn.urgentPending, false);
});

Deno.test("urgent receive: a pointer beyond the data gives EAGAIN until its byte arrives", () => {
  const h = established();
  h.input(data(0, "abcde", 10)); // marks byte 9: not in this segment
  assert.equal(h.conn.recvUrgent(), "EAGAIN");
  assert.equal(h.conn.urgentPending, false);
  assert.equal(str(h.conn.recv()), "abcde");
  h.input(data(5, "fghij"));
  assert.equal(h.conn.recvUrgent(), "j".charCodeAt(0));
  assert.equal(str(h.conn.recv()), "fghi");
});

Deno.test("urgent receive: a pointer far beyond the window (0xffff) holds reads at the mark only", () => {
  const h = established();
  h.input(data(0, "abcde", 0xffff)); // mark 65534 bytes on
  assert.equal(h.conn.recvUrgent(), "EAGAIN");
  assert.equal(str(h.conn.recv()), "abcde");
  h.input(data(5, "fgh"));
  assert.equal(str(h.conn.recv()), "fgh", "data before a distant mark flows");
});

Deno.test("urgent receive: pointer 0 marks the segment's first byte (Linux)", () => {
  const h = established();
  h.input(data(0, "xyz", 0));
  assert.equal(h.conn.recvUrgent(), "x".charCodeAt(0));
  assert.equal(str(h.conn.recv()), "yz");
});

Deno.test("urgent receive: urgent data split over lost and reordered segments", () => {
  const h = established();
  const all = pattern(0, 3000);
  const up = 3000; // the last byte is the OOB one
  // The middle segment is lost, the last arrives first, then the first, then the middle late.
  h.input(data(2000, all.subarray(2000), up - 2000));
  assert.equal(h.conn.recvUrgent(), all[2999], "captured from an out-of-order segment");
  h.input(data(0, all.subarray(0, 1000), up));
  assert.equal(h.conn.recv().length, 1000);
  h.input(data(1000, all.subarray(1000, 2000), up - 1000));
  h.input(data(1000, all.subarray(1000, 2000), up - 1000)); // duplicated
  const rest = h.conn.recv();
  assert.deepEqual(rest, all.subarray(1000, 2999), "stream intact but for the OOB byte");
  assert.equal(h.conn.recvQueue, 0);
});

Deno.test("urgent receive: URG on a retransmission of data already received is not replayed", () => {
  const h = established();
  h.input(data(0, "abcdef", 3)); // OOB 'c'
  assert.equal(h.conn.recvUrgent(), "c".charCodeAt(0));
  assert.equal(str(h.conn.recv()), "ab");
  assert.equal(str(h.conn.recv()), "def");
  h.input(data(0, "abcdefgh", 3)); // the peer resends, overlapping new bytes "gh"
  assert.equal(h.conn.recvUrgent(), "EINVAL", "an old pointer is ignored (tcp_check_urg)");
  assert.equal(str(h.conn.recv()), "gh");
});

Deno.test("urgent receive: each new pointer moves the mark; only the latest byte is OOB", () => {
  const h = established();
  for (let i = 0; i < 5; i++) h.input(data(i * 10, pattern(i * 10, 10), 10));
  const got = h.conn.recv();
  assert.deepEqual(got, pattern(0, 49), "the earlier marked bytes stay in the stream");
  assert.equal(h.conn.recvUrgent(), pattern(49, 1)[0]);
});

Deno.test("urgent receive: a new pointer after the reader stopped at the old mark", () => {
  const h = established();
  h.input(data(0, "abc", 3)); // OOB 'c', taken out at once
  assert.equal(str(h.conn.recv()), "ab");
  h.input(data(3, "def", 3)); // OOB 'f' replaces it: 'c' is gone for good (Linux skips it)
  assert.equal(h.conn.recvUrgent(), "f".charCodeAt(0));
  assert.equal(str(h.conn.recv()), "de");
});

Deno.test("urgent receive: a lying peer (random pointers on every segment) never corrupts the stream", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  for (let round = 0; round < 20; round++) {
    const h = established({ oobInline: round % 2 === 0 });
    const all = pattern(round, 5000);
    const got: number[] = [];
    let off = 0;
    const oob: number[] = [];
    let pointers = 0;
    while (off < all.length) {
      const n = 1 + rnd(700);
      const urg = rnd(3) === 0 ? rnd(0x10000) : undefined;
      h.input(data(off, all.subarray(off, off + n), urg));
      if (rnd(2)) got.push(...h.conn.recv(1 + rnd(900)));
      const peek = rnd(2) === 0;
      const b = h.conn.recvUrgent(peek);
      if (typeof b === "number" && !peek) oob.push(b);
      if (urg !== undefined) pointers++;
      off += Math.min(n, all.length - off);
    }
    for (let i = 0; i < 100 && h.conn.recvQueue > 0; i++) got.push(...h.conn.recv());
    if (round % 2 === 0) assert.deepEqual(Uint8Array.from(got), all, "inline: stream intact");
    else {
      // Out of line: the stream is the data less some marked bytes, never more, never reordered;
      // at most one byte per urgent pointer accepted, each either read as OOB or skipped.
      let j = 0;
      for (let i = 0; i < all.length && j < got.length; i++) if (all[i] === got[j]) j++;
      assert.equal(j, got.length, "a subsequence of what was sent");
      assert.ok(all.length - got.length >= oob.length);
      assert.ok(all.length - got.length <= pointers);
    }
  }
});

Deno.test("urgent: pointers across the 2^32 sequence wrap, both ways", () => {
  // Receiving: the peer's ISS just below 2^32, its urgent byte beyond the wrap.
  const h = established({}, { seq: 0xffffff00 });
  const start = 0xffffff01;
  const all = pattern(0, 0x200);
  h.input(seg({ seq: start, ack: ISS + 1, flags: ACK | URG, urgent: 0x1f0, payload: all }));
  assert.equal(h.conn.recvUrgent(), all[0x1ef]);
  assert.deepEqual(h.conn.recv(), all.subarray(0, 0x1ef));
  assert.deepEqual(h.conn.recv(), all.subarray(0x1f0));
  // Sending: our ISS just below 2^32, SND.UP beyond the wrap.
  const s = established({ nodelay: true }, {}, 0xfffffff0);
  s.conn.send(pattern(0, 100));
  s.conn.markUrgent();
  s.conn.poll(s.now);
  const out = s.one(s.take());
  assert.ok(out.flags & URG);
  assert.equal(out.urgent, 100);
  assert.equal((out.seq + out.urgent) >>> 0, (0xfffffff1 + 100) >>> 0);
});
