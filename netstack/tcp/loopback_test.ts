/**
 * Two connections wired together through a lossy, reordering, duplicating in-memory pipe driven
 * by a seeded PRNG and simulated time: 1 MB must arrive byte-identical and both sides close.
 */

import assert from "node:assert/strict";
import type { TcpRepr } from "../wire/tcp.ts";
import { TcpConnection } from "./connection.ts";
import { IsnGenerator } from "./isn.ts";
import { TcpListener, type TcpListener as Listener } from "./listener.ts";
import type { TcpConnectionOptions } from "./options.ts";

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Packet {
  at: number;
  toServer: boolean;
  seg: TcpRepr;
}

interface Run {
  seed: number;
  loss: number;
  options?: Partial<TcpConnectionOptions>;
  bytes?: number;
  /** Bytes the server sends back at the same time (bidirectional transfer). */
  reply?: number;
}

function transfer(run: Run): { client: TcpConnection; server: TcpConnection; now: number } {
  const rand = prng(run.seed);
  const size = run.bytes ?? 1 << 20;
  const source = new Uint8Array(size);
  for (let i = 0; i < size; i++) source[i] = Math.floor(rand() * 256);
  const received: Uint8Array[] = [];
  let receivedLen = 0;
  let now = 0;
  const inFlight: Packet[] = [];
  const send = (seg: TcpRepr, toServer: boolean) => {
    if (rand() < run.loss) return;
    const copy = { ...seg, payload: seg.payload.slice(), options: structuredClone(seg.options) };
    const at = now + 5 + rand() * 10; // jitter reorders
    inFlight.push({ at, toServer, seg: copy });
    if (rand() < 0.01) inFlight.push({ at: at + 3, toServer, seg: copy }); // duplicate
  };
  const isn = new IsnGenerator(new Uint8Array([7, 7, 7, 7, 1, 2, 3, 4]));
  const listener: Listener = new TcpListener({
    localPort: 80,
    backlog: 4,
    isn: (t, p) => isn.next(t, `${p.key}:${p.port}`),
    emit: (seg) => send(seg, false),
    options: run.options,
  });
  const client = new TcpConnection({
    localPort: 40000,
    remotePort: 80,
    iss: 0xffff_ff00, // the transfer crosses the 2^32 wrap at once
    emit: (seg) => send(seg, true),
    options: run.options,
  });
  let server: TcpConnection | undefined;
  let written = 0;
  const replySize = run.reply ?? 0;
  const reply = source.subarray(0, replySize);
  let replied = 0;
  let replyGot = 0;
  let replyOk = true;
  client.connect(now);
  for (let step = 0; step < 2_000_000; step++) {
    // Applications.
    const open = client.state === "ESTABLISHED" || client.state === "CLOSE-WAIT";
    if (open && written < size) {
      written += client.send(source.subarray(written, Math.min(size, written + 65536)));
      if (written === size) client.shutdownWrite();
    }
    if (!server) server = listener.accept()?.conn;
    if (server) {
      const chunk = server.recv();
      if (chunk.length > 0) {
        received.push(chunk);
        receivedLen += chunk.length;
      }
      if (replied < replySize && server.state !== "SYN-RECEIVED") {
        replied += server.send(reply.subarray(replied, Math.min(replySize, replied + 65536)));
        if (replied === replySize) server.shutdownWrite();
      }
      // Close once the reply is all queued (closing earlier would cut it short).
      if (server.eof && replied === replySize && server.state === "CLOSE-WAIT") server.close();
    }
    const back = client.recv();
    for (let i = 0; i < back.length; i++) if (back[i] !== reply[replyGot + i]) replyOk = false;
    replyGot += back.length;
    client.poll(now);
    server?.poll(now);
    listener.poll(now);
    const done = (server?.state === "CLOSED" || server?.state === "TIME-WAIT") &&
      (client.state === "TIME-WAIT" || client.state === "CLOSED");
    if (done) break;
    // Next event.
    inFlight.sort((a, b) => a.at - b.at);
    const next = Math.min(
      inFlight[0]?.at ?? Infinity,
      client.nextDeadline() ?? Infinity,
      server?.nextDeadline() ?? Infinity,
      listener.nextDeadline() ?? Infinity,
    );
    assert.ok(Number.isFinite(next), `stalled: ${client.state} / ${server?.state}`);
    now = Math.max(now, next);
    while (inFlight.length > 0 && inFlight[0].at <= now) {
      const p = inFlight.shift()!;
      if (!p.toServer) client.input(now, p.seg);
      else if (server) server.input(now, p.seg);
      else listener.input(now, p.seg, { key: "10.0.0.1", port: 40000 });
    }
  }
  assert.ok(server, "accepted");
  assert.equal(receivedLen, size);
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of received) {
    all.set(c, off);
    off += c.length;
  }
  assert.ok(all.every((b, i) => b === source[i]), "byte-identical");
  assert.equal(replyGot, replySize);
  assert.ok(replyOk, "reply byte-identical");
  assert.equal(client.error, undefined);
  assert.equal(server.error, undefined);
  return { client, server, now };
}

Deno.test("loopback: 1 MB with reordering but no loss", () => {
  const { client } = transfer({ seed: 1, loss: 0 });
  assert.equal(client.info().bytesAcked, 1 << 20);
});

Deno.test("loopback: 1 MB with 5% loss, reordering, duplicates (SACK, timestamps)", () => {
  const { client } = transfer({ seed: 2, loss: 0.05 });
  assert.ok(client.info().retransmits > 0);
});

Deno.test("loopback: 1 MB with 5% loss, NewReno without SACK or timestamps", () => {
  transfer({ seed: 3, loss: 0.05, options: { sack: false, timestamps: false } });
});

Deno.test("loopback: 1 MB with 3% loss, CUBIC, small buffers, no window scaling", () => {
  transfer({
    seed: 4,
    loss: 0.03,
    options: { congestion: "cubic", sndBuf: 16384, rcvBuf: 8192, windowScale: false },
  });
});

Deno.test("loopback: 512 KB each way at once with 10% loss (simultaneous close)", () => {
  const { client, server } = transfer({ seed: 5, loss: 0.1, bytes: 1 << 19, reply: 1 << 19 });
  assert.ok(client.info().retransmits > 0 && server.info().retransmits > 0);
});
