/** Listener: accept queue, backlog, SYN flood (RFC 9293 §3.10.7.2, RFC 4987 §3). */

import assert from "node:assert/strict";
import type { TcpRepr } from "../wire/tcp.ts";
import { TcpConnection } from "./connection.ts";
import { ACK, describe, RST, SYN } from "./_test_fixture.ts";
import { TcpListener, type TcpPeer } from "./listener.ts";
import type { TcpConnectionOptions } from "./options.ts";
import { SynCookies } from "./syn_cookie.ts";

interface Sent {
  seg: TcpRepr;
  peer: TcpPeer;
}

function setup(
  backlog: number,
  maxHalfOpen?: number,
  options: Partial<TcpConnectionOptions> = { timestamps: false },
) {
  const sent: Sent[] = [];
  const counted: string[] = [];
  const listener = new TcpListener({
    localPort: 80,
    backlog,
    maxHalfOpen,
    isn: () => 7000,
    emit: (seg, peer) => sent.push({ seg: { ...seg, payload: seg.payload.slice() }, peer }),
    options,
    cookies: new SynCookies(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
    count: (what) => counted.push(what),
  });
  return { listener, sent, counted };
}

/** A real client whose segments go to the listener and whose replies come back. */
function client(
  port: number,
  listener: TcpListener,
  sent: Sent[],
  now: number,
  run = true,
  options: Partial<TcpConnectionOptions> = { timestamps: false },
) {
  const peer = { key: "192.0.2.10", port };
  const out: TcpRepr[] = [];
  const conn = new TcpConnection({
    localPort: port,
    remotePort: 80,
    iss: 100 + port,
    emit: (s) => out.push({ ...s, payload: s.payload.slice() }),
    options,
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
  // Beyond the bound, SYNs get cookies and leave nothing behind (RFC 4987 §3.6).
  assert.equal(listener.syncookies.sent, 10_000 - 64);
  assert.equal(sent.filter((x) => x.seg.flags === (SYN | ACK)).length, 10_000);
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

/** `count` SYNs from spoofed addresses that never answer; their SYN-ACKs are thrown away. */
function spoof(listener: TcpListener, sent: Sent[], count: number, t: number, from = 0) {
  for (let i = from; i < from + count; i++) {
    const peer = { key: `203.0.113.${i & 255}.${i >> 8}`, port: 1024 + (i % 60000) };
    listener.input(t, {
      srcPort: peer.port,
      dstPort: 80,
      seq: Math.imul(i, 2654435761) >>> 0,
      ack: 0,
      flags: SYN,
      window: 65535,
      urgent: 0,
      options: { mss: 1460 },
      payload: new Uint8Array(0),
    }, peer);
  }
  for (let i = sent.length - 1; i >= 0; i--) {
    if (sent[i].peer.key.startsWith("203.0.113.")) sent.splice(i, 1);
  }
}

const withTs: Partial<TcpConnectionOptions> = { timestamps: true, sack: true, windowScale: true };

// RFC 7323 §5.4: TSval must not reveal uptime; each connection, accepted ones included, starts
// at its own random offset (Linux's secure_tcp_ts_off).
Deno.test("listener: accepted connections' timestamps start at random offsets", () => {
  const { listener, sent } = setup(4, undefined, withTs);
  const now = 5000;
  const tsvals: number[] = [];
  const synAck = (x: Sent) => {
    if (x.seg.flags === (SYN | ACK)) tsvals.push(x.seg.options.timestamp!.value);
  };
  const emitted = sent.push.bind(sent);
  sent.push = (...xs: Sent[]) => (xs.forEach(synAck), emitted(...xs));
  const a = client(40100, listener, sent, now, true, withTs);
  const b = client(40101, listener, sent, now, true, withTs);
  assert.equal(a.conn.state, "ESTABLISHED");
  assert.equal(b.conn.state, "ESTABLISHED");
  assert.equal(tsvals.length, 2);
  assert.notEqual(tsvals[0], now);
  assert.notEqual(tsvals[1], now);
  assert.notEqual(tsvals[0], tsvals[1]);
  // The accepted connection's later segments go on from that offset.
  const acc = listener.accept()!;
  acc.conn.send(new Uint8Array(10));
  acc.conn.poll(now + 100);
  const data = sent.find((x) => x.peer.port === 40100 && x.seg.payload.length === 10)!;
  assert.equal(data.seg.options.timestamp!.value, (tsvals[0] + 100) >>> 0);
});

// RFC 4987 §3.6, Linux's tcp_conn_request with want_cookie then cookie_v4_check.
Deno.test("listener: with the half-open queue full a SYN gets a cookie; its ACK makes the connection", () => {
  const { listener, sent, counted } = setup(8, 4, withTs);
  spoof(listener, sent, 4, 0);
  assert.equal(listener.halfOpen, 4);
  const c = client(40200, listener, sent, 10, false, withTs);
  c.push(10); // the SYN
  const synAck = sent.find((x) => x.peer.port === 40200)!.seg;
  assert.equal(synAck.flags, SYN | ACK);
  assert.equal(listener.size, 4, "a cookie SYN-ACK keeps no state");
  assert.equal(listener.syncookies.sent, 1);
  assert.notEqual(synAck.seq, 7000, "the ISN is the cookie, not the ISN generator's");
  // The TSval's low 6 bits carry the client's window scale (2 for 131072) and SACK-permitted.
  assert.equal(synAck.options.timestamp!.value & 0x3f, 0x10 | 2);
  assert.equal(synAck.options.windowScale, 2);
  assert.equal(synAck.options.sackPermitted, true);
  c.pump(20); // SYN-ACK to the client, its ACK to the listener
  assert.equal(c.conn.state, "ESTABLISHED");
  assert.equal(listener.syncookies.recv, 1);
  assert.equal(listener.halfOpen, 4, "the handshakes in progress are still there");
  // Data both ways: up while it waits in the accept queue, down once accepted.
  const up = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
  c.conn.send(up);
  c.conn.poll(30);
  c.pump(30);
  listener.poll(100); // the delayed ACK lets Nagle release the last piece
  c.pump(100);
  const acc = listener.accept();
  assert.ok(acc);
  assert.equal(acc.conn.state, "ESTABLISHED");
  assert.equal(acc.conn.mss, 1460 - 12); // MSS from the cookie, less the timestamp option
  assert.equal(acc.conn.info().sndWnd, 131072, "the client's window scale came back");
  assert.deepEqual(acc.conn.recv(), up);
  acc.conn.send(up.subarray(0, 2 * 1448));
  acc.conn.poll(200);
  for (const x of sent.splice(0)) if (x.peer.port === 40200) c.conn.input(200, x.seg);
  assert.deepEqual(c.conn.recv(), up.subarray(0, 2 * 1448));
  assert.ok(counted.includes("syncookies sent") && counted.includes("syncookies recv"));
});

// Without timestamps there is nowhere to keep window scale and SACK: Linux's SYN-ACK offers
// neither, and the MSS is the table's entry below the client's.
Deno.test("listener: a cookie without timestamps has no window scale or SACK", () => {
  const { listener, sent } = setup(8, 2, withTs);
  spoof(listener, sent, 2, 0);
  const opts = { timestamps: false, sack: true, windowScale: true, mss: 1400 };
  const c = client(40300, listener, sent, 10, false, opts);
  c.push(10);
  const synAck = sent.find((x) => x.peer.port === 40300)!.seg;
  assert.equal(synAck.options.windowScale, undefined);
  assert.equal(synAck.options.sackPermitted, undefined);
  assert.equal(synAck.options.timestamp, undefined);
  c.pump(10);
  assert.equal(c.conn.state, "ESTABLISHED");
  const acc = listener.accept()!;
  assert.equal(acc.conn.state, "ESTABLISHED");
  assert.equal(acc.conn.mss, 1300);
});

Deno.test("listener: a handshake in progress is never evicted by a flood", () => {
  const { listener, sent } = setup(8, 64);
  const c = client(40400, listener, sent, 0, false);
  c.push(0); // SYN in; the SYN-ACK waits in `sent`
  assert.equal(listener.halfOpen, 1);
  spoof(listener, sent, 5000, 1);
  assert.equal(listener.halfOpen, 64);
  c.pump(2); // now the SYN-ACK arrives and the client ACKs it
  assert.equal(c.conn.state, "ESTABLISHED");
  assert.equal(listener.syncookies.recv, 0, "completed by its own half-open entry");
  assert.equal(listener.accept()?.peer.port, 40400);
});

Deno.test("listener: forged and stale cookie ACKs get RST and make nothing", () => {
  const { listener, sent, counted } = setup(8, 2);
  const peer = { key: "192.0.2.99", port: 5555 };
  const ack = (t: number, seq: number, a: number) =>
    listener.input(t, {
      srcPort: 5555,
      dstPort: 80,
      seq,
      ack: a,
      flags: ACK,
      window: 1000,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
    }, peer);
  ack(0, 1, 2); // no cookie sent yet: not even checked
  assert.equal(listener.syncookies.failed, 0);
  assert.equal(sent.pop()!.seg.flags, RST);
  spoof(listener, sent, 3, 0);
  let x = 12345;
  for (let i = 0; i < 1000; i++) {
    x = Math.imul(x, 1103515245) + 12345 >>> 0;
    ack(1, 1000, x);
    assert.equal(sent.pop()!.seg.flags, RST);
  }
  assert.equal(listener.syncookies.failed, 1000);
  assert.equal(listener.queued, 0);
  assert.ok(counted.includes("syncookies failed"));
  // A real cookie, returned after it expired.
  listener.input(1, {
    srcPort: 5555,
    dstPort: 80,
    seq: 999,
    ack: 0,
    flags: SYN,
    window: 1000,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
  }, peer);
  const cookie = sent.pop()!.seg.seq;
  for (let t = 0; t < 180_000; t += 10_000) spoof(listener, sent, 1, t, 100 + t); // still flooded
  ack(180_001, 1000, cookie + 1);
  assert.equal(sent.pop()!.seg.flags, RST);
  assert.equal(listener.queued, 0);
});

// Linux drops a cookie's ACK while the accept queue is full (ListenOverflows); the client's
// first data segment carries the same cookie and makes the connection once there is room.
Deno.test("listener: a cookie ACK with the accept queue full is dropped, then retried", () => {
  const { listener, sent } = setup(1, 1);
  spoof(listener, sent, 1, 0);
  const b = client(40501, listener, sent, 1, false);
  b.push(1); // B's SYN: a cookie SYN-ACK, held back for now
  const a = client(40500, listener, sent, 2); // A completes from its cookie: the queue is full
  assert.equal(a.conn.state, "ESTABLISHED");
  assert.equal(listener.queued, 1);
  b.pump(3);
  assert.equal(b.conn.state, "ESTABLISHED");
  assert.equal(listener.drops["accept-queue-full"], 1);
  assert.equal(listener.accept()?.peer.port, 40500);
  b.conn.send(new TextEncoder().encode("hello"));
  b.conn.poll(4);
  b.pump(4);
  assert.equal(listener.syncookies.recv, 2);
  const acc = listener.accept()!;
  assert.equal(acc.peer.port, 40501);
  assert.equal(new TextDecoder().decode(acc.conn.recv()), "hello");
});
