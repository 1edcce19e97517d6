/**
 * Segment size: options come out of the payload (RFC 9293 §3.7.1, RFC 6691 §2; Linux's
 * tcp_current_mss). The MSS counts no TCP options, so a segment carrying timestamps and SACK
 * blocks carries that much less data: no segment we send exceeds the path MTU, whatever it
 * carries, TSO or not. Our side has MSS 1460 (an IPv4 path MTU of 1500).
 */

import assert from "node:assert/strict";
import { tcpLength, tcpOptionsLength, type TcpRepr } from "../wire/tcp.ts";
import type { TcpConnectionOptions } from "./options.ts";
import { established, type Harness, ISS, pattern, PEER_ISS, seg } from "./_test_fixture.ts";

const D = ISS + 1; // our first data byte
const P = PEER_ISS + 1; // the peer's first data byte
const MTU = 1500;
const IPV4_HEADER = 20;
const TCP_HEADER = 20;

/** The peer offers MSS 1460, SACK and (unless `ts` is false) timestamps. */
function connection(opts: Partial<TcpConnectionOptions> = {}, ts = true): Harness {
  const options = ts
    ? { mss: 1460, sackPermitted: true, timestamp: { value: 1, echo: 0 } }
    : { mss: 1460, sackPermitted: true };
  return established({ nodelay: true, sndBuf: 1 << 20, ...opts }, { options });
}

/** A peer segment (with a timestamp when `ts`). */
function peer(fields: Partial<TcpRepr> & { len?: number }, ts = true): TcpRepr {
  return seg({ ...fields, options: { ...(ts ? { timestamp: { value: 2, echo: 0 } } : {}) } });
}

/** Leave `holes` holes in our receive queue: the peer's data arrives with gaps. */
function makeHoles(h: Harness, holes: number, ts = true): void {
  for (let i = 0; i < holes; i++) {
    h.input(peer({ seq: P + 1000 * (2 * i + 1), ack: D, len: 500 }, ts));
  }
}

/** Every segment fits the MTU: IP header + TCP header + options + payload. */
function assertFits(segs: TcpRepr[]): void {
  for (const s of segs) {
    const size = IPV4_HEADER + tcpLength(s);
    assert.ok(size <= MTU, `${s.payload.length} bytes of data in a ${size}-byte datagram`);
  }
}

for (const ts of [true, false]) {
  for (let holes = 1; holes <= 4; holes++) {
    const blocks = Math.min(holes, ts ? 3 : 4); // 40 bytes of options at most (RFC 2018 §3)
    const opts = (ts ? 12 : 0) + 4 + 8 * blocks;
    Deno.test(`send MSS: ${holes} hole(s), ${ts ? "timestamps and " : ""}${blocks} SACK block(s): data segments carry ${1460 - opts} bytes and fit the MTU`, () => {
      const h = connection({}, ts);
      makeHoles(h, holes, ts);
      assert.equal(h.conn.send(pattern(0, 30_000)), 30_000);
      const out = h.flush();
      assert.equal(out.length, 10); // the initial window, in segments (RFC 6928)
      assertFits(out);
      for (const s of out) {
        assert.equal(s.options.sack?.length, blocks);
        assert.equal(tcpOptionsLength(s.options), opts);
        assert.equal(s.payload.length, 1460 - opts); // full segments: as large as fits
      }
      // The stream is intact: the segments follow each other.
      out.forEach((s, i) => assert.equal(s.seq, D + i * (1460 - opts)));
    });
  }
}

Deno.test("send MSS: a segment sent before a hole appeared is retransmitted smaller after an RTO", () => {
  const h = connection();
  assert.equal(h.conn.send(pattern(0, 5 * 1448)), 5 * 1448);
  const first = h.flush();
  assert.deepEqual(first.map((s) => s.payload.length), [1448, 1448, 1448, 1448, 1448]);
  makeHoles(h, 2);
  const rtx = h.advance(1000).filter((s) => s.payload.length > 0);
  assert.ok(rtx.length > 0);
  assertFits(rtx);
  assert.equal(rtx[0].seq, D);
  assert.equal(rtx[0].payload.length, 1448 - 20); // two SACK blocks: 4 + 16 bytes
  assert.deepEqual(rtx[0].payload, pattern(0, 1428));
});

Deno.test("send MSS: fast retransmit and SACK recovery cut their segments to fit", () => {
  const h = connection();
  assert.equal(h.conn.send(pattern(0, 10 * 1448)), 10 * 1448);
  assert.equal(h.flush().length, 10);
  makeHoles(h, 1);
  const S = (i: number) => D + i * 1448;
  const out: TcpRepr[] = [];
  // Three duplicate ACKs SACKing segments 1..3 (no data, same window): the first is lost.
  for (let i = 2; i <= 4; i++) {
    const options = {
      timestamp: { value: 3, echo: 0 },
      sack: [[S(1), S(i)]] as [number, number][],
    };
    out.push(...h.input(seg({ seq: P, ack: D, options })));
  }
  const data = out.filter((s) => s.payload.length > 0);
  assert.ok(data.some((s) => s.seq === D), "segment 0 was retransmitted");
  assertFits(out);
  // A partial ACK moves on: whatever recovery sends next fits as well.
  const options = { timestamp: { value: 4, echo: 0 }, sack: [[S(3), S(6)]] as [number, number][] };
  const more = h.input(seg({ seq: P, ack: S(1), options }));
  assertFits(more);
  assertFits(h.advance(5000));
});

Deno.test("send MSS: with TSO, a super-segment is whole pieces that each fit the MTU", () => {
  const h = connection({ gsoMax: 65_000 });
  makeHoles(h, 3);
  // A window wide enough to send TSO-sized segments (the fixture's peer offers 65535 unscaled).
  for (let i = 0; i < 4; i++) h.input(peer({ seq: P, ack: D, window: 65535 }));
  assert.equal(h.conn.send(pattern(0, 200_000)), 200_000);
  const out = h.flush();
  const piece = 1448 - (4 + 8 * 3); // what the link cuts each super-segment into
  assert.ok(out.some((s) => s.payload.length > piece), "TSO is in use");
  for (const s of out) {
    assert.equal(s.payload.length % piece, 0, `${s.payload.length} is not whole ${piece}s`);
    const pieceSize = IPV4_HEADER + TCP_HEADER + tcpOptionsLength(s.options) + piece;
    assert.ok(pieceSize <= MTU, `a piece of ${pieceSize} bytes`);
  }
});

Deno.test("send MSS: once the holes are filled, segments are full-sized again", () => {
  const h = connection();
  makeHoles(h, 1);
  h.input(peer({ seq: P, ack: D, payload: pattern(0, 1000) }));
  assert.equal(h.conn.send(pattern(0, 3 * 1448)), 3 * 1448);
  const out = h.flush();
  assert.deepEqual(out.map((s) => s.payload.length), [1448, 1448, 1448]);
  assert.equal(out[0].options.sack, undefined);
});

Deno.test("send MSS: with TSO but a peer MSS below ours, segments keep to the peer's MSS", () => {
  const h = established({ nodelay: true, sndBuf: 1 << 20, gsoMax: 65_000 }, {
    options: { mss: 1000, sackPermitted: true, timestamp: { value: 1, echo: 0 } },
  });
  assert.equal(h.conn.send(pattern(0, 100_000)), 100_000);
  const out = h.flush();
  assert.ok(out.length > 0);
  for (const s of out) assert.ok(s.payload.length <= 1000 - 12, `${s.payload.length} bytes`);
});
