/** Listener: accept queue, backlog, SYN flood (RFC 9293 §3.10.7.2, RFC 4987 §3). */

import assert from "node:assert/strict";
import type { TcpRepr } from "../wire/tcp.ts";
import { TcpConnection } from "./connection.ts";
import { ACK, describe, RST, SYN } from "./_test_fixture.ts";
import { TcpListener, type TcpPeer } from "./listener.ts";

interface Sent {
  seg: TcpRepr;
  peer: TcpPeer;
}

function setup(backlog: number, maxHalfOpen?: number) {
  const sent: Sent[] = [];
  const listener = new TcpListener({
    localPort: 80,
    backlog,
    maxHalfOpen,
    isn: () => 7000,
    emit: (seg, peer) => sent.push({ seg, peer }),
    options: { timestamps: false },
  });
  return { listener, sent };
}

/** A real client whose segments go to the listener and whose replies come back. */
function client(port: number, listener: TcpListener, sent: Sent[], now: number, run = true) {
  const peer = { key: "192.0.2.10", port };
  const out: TcpRepr[] = [];
  const conn = new TcpConnection({
    localPort: port,
    remotePort: 80,
    iss: 100,
    emit: (s) => out.push(s),
    options: { timestamps: false },
  });
  const pump = (t: number) => {
    for (let i = 0; i < 10; i++) {
      for (const s of out.splice(0)) listener.input(t, s, peer);
      const all = sent.splice(0);
      for (const x of all) {
        if (x.peer.port === port && x.peer.key === peer.key) conn.input(t, x.seg);
        else sent.push(x); // someone else's
      }
      conn.poll(t);
      if (out.length === 0) break;
    }
  };
  const push = (t: number) => {
    for (const s of out.splice(0)) listener.input(t, s, peer);
  };
  conn.connect(now);
  if (run) pump(now);
  return { conn, pump, push, peer };
}

Deno.test("listener: handshake and accept", () => {
  const { listener, sent } = setup(4);
  const c = client(40000, listener, sent, 0);
  assert.equal(c.conn.state, "ESTABLISHED");
  assert.equal(listener.queued, 1);
  const a = listener.accept();
  assert.ok(a);
  assert.equal(a.conn.state, "ESTABLISHED");
  assert.deepEqual(a.peer, c.peer);
  assert.equal(listener.accept(), undefined);
  assert.equal(listener.size, 0);
});

Deno.test("listener: a stray ACK gets RST, a stray RST nothing", () => {
  const { listener, sent } = setup(4);
  const peer = { key: "x", port: 1 };
  const base = { srcPort: 1, dstPort: 80, window: 100, urgent: 0, options: {} };
  listener.input(0, { ...base, seq: 5, ack: 77, flags: ACK, payload: new Uint8Array(0) }, peer);
  assert.equal(describe(sent[0].seg), "R 77:77 ack 0 w 0");
  listener.input(0, { ...base, seq: 5, ack: 0, flags: RST, payload: new Uint8Array(0) }, peer);
  assert.equal(sent.length, 1);
});

Deno.test("listener: full accept queue drops new SYNs; the client gets in after accept", () => {
  const { listener, sent } = setup(1);
  const a = client(40001, listener, sent, 0);
  assert.equal(listener.queued, 1);
  const b = client(40002, listener, sent, 0);
  assert.equal(b.conn.state, "SYN-SENT");
  assert.equal(listener.drops["accept-queue-full"], 1);
  assert.equal(listener.accept()?.peer.port, a.peer.port);
  b.conn.poll(1000); // SYN retransmission
  b.pump(1000);
  assert.equal(b.conn.state, "ESTABLISHED");
  assert.equal(listener.accept()?.peer.port, b.peer.port);
});

Deno.test("listener: full accept queue drops the final ACK; SYN-ACK retry completes it", () => {
  const { listener, sent } = setup(1);
  const a = client(40011, listener, sent, 0, false);
  const b = client(40012, listener, sent, 0, false);
  a.push(0);
  b.push(0); // both SYNs arrive before either handshake completes
  assert.equal(listener.halfOpen, 2);
  a.pump(0);
  b.pump(0);
  // Linux behaviour: the client believes it is connected; the server still holds it half-open.
  assert.equal(b.conn.state, "ESTABLISHED");
  assert.equal(listener.queued, 1);
  assert.equal(listener.halfOpen, 1);
  assert.equal(listener.drops["accept-queue-full"], 1);
  assert.equal(listener.accept()?.peer.port, a.peer.port);
  listener.poll(1000); // the server retransmits its SYN-ACK; the client's ACK now fits
  b.pump(1000);
  assert.equal(listener.accept()?.peer.port, b.peer.port);
});

Deno.test("listener: 10,000 spoofed SYNs stay within the half-open bound", () => {
  const { listener, sent } = setup(8, 64);
  for (let i = 0; i < 10_000; i++) {
    const peer = { key: `198.51.100.${i & 255}.${i >> 8}`, port: 1024 + (i % 60000) };
    const syn: TcpRepr = {
      srcPort: peer.port,
      dstPort: 80,
      seq: i * 7919,
      ack: 0,
      flags: SYN,
      window: 65535,
      urgent: 0,
      options: { mss: 1460 },
      payload: new Uint8Array(0),
    };
    listener.input(i / 10, syn, peer);
    assert.ok(listener.size <= 64);
  }
  assert.equal(listener.halfOpen, 64);
  assert.equal(listener.drops["syn-evicted"], 10_000 - 64);
  sent.length = 0;
  // Their SYN-ACKs are retransmitted a bounded number of times, then they are reaped.
  for (let t = 1000; t < 200_000; t += 1000) listener.poll(t);
  assert.equal(listener.size, 0);
  sent.length = 0;
  // A legitimate client still connects.
  const c = client(40004, listener, sent, 200_000);
  assert.equal(c.conn.state, "ESTABLISHED");
  assert.equal(listener.accept()?.conn.state, "ESTABLISHED");
});

Deno.test("listener: a legitimate client connects during the flood", () => {
  const { listener, sent } = setup(8, 64);
  let n = 0;
  const flood = (count: number, t: number) => {
    for (let i = 0; i < count; i++, n++) {
      const peer = { key: `203.0.113.${n & 255}`, port: 2000 + n };
      listener.input(t, {
        srcPort: peer.port,
        dstPort: 80,
        seq: n,
        ack: 0,
        flags: SYN,
        window: 65535,
        urgent: 0,
        options: {},
        payload: new Uint8Array(0),
      }, peer);
    }
    sent.length = 0;
  };
  flood(5000, 0);
  const c = client(40005, listener, sent, 1); // SYN, SYN-ACK and ACK within one flood gap
  flood(5000, 2);
  assert.equal(c.conn.state, "ESTABLISHED");
  assert.equal(listener.accept()?.peer.port, 40005);
  assert.ok(listener.size <= 64);
});

Deno.test("listener: close resets children", () => {
  const { listener, sent } = setup(4);
  client(40006, listener, sent, 0);
  sent.length = 0;
  listener.close();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].seg.flags & RST, RST);
  assert.equal(listener.size, 0);
});
