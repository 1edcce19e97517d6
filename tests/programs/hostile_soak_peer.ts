/**
 * Test program for the soak run over hostile (lossy, duplicating, reordering, corrupting)
 * links. Modes:
 * - `tcp-server PORT`: for each connection, read to EOF and answer the SHA-256 (hex) of it.
 * - `tcp-client HOST PORT BYTES SEED`: send BYTES of SEED-derived data, half-close, compare the
 *   server's digest with its own; prints "tcp ok BYTES" or "tcp MISMATCH ...".
 * - `udp-server PORT`: answer each datagram "SEQ(4 bytes) + SHA-256 of the payload".
 * - `udp-client HOST PORT COUNT SEED`: request/ack with retries (200 ms SO_RCVTIMEO, up to 50
 *   tries); prints "udp ok COUNT retries R" or "udp MISMATCH ...".
 */
import {
  accept,
  AF_INET,
  bind,
  close,
  connect,
  ErrnoError,
  inet,
  listen,
  print,
  recv,
  recvfrom,
  send,
  sendto,
  setsockopt,
  SHUT_WR,
  shutdown,
  SO_RCVTIMEO,
  SOCK_DGRAM,
  SOCK_STREAM,
  socket,
  SOL_SOCKET,
} from "../../libc/mod.ts";
import { Rng } from "../fuzz/rng.ts";

async function sha(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data.slice()));
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function serveTcp(port: number): Promise<number> {
  const l = await socket(AF_INET, SOCK_STREAM);
  await bind(l, inet("0.0.0.0", port));
  await listen(l, 64);
  print("ready");
  for (;;) {
    const { fd } = await accept(l);
    (async () => {
      const parts: Uint8Array[] = [];
      let n = 0;
      for (;;) {
        const d = await recv(fd, 65536);
        if (d.length === 0) break;
        parts.push(d);
        n += d.length;
      }
      const all = new Uint8Array(n);
      let o = 0;
      for (const p of parts) all.set(p, (o += p.length) - p.length);
      await send(fd, hex(await sha(all)));
      await close(fd);
    })().catch((err) => print(`server connection: ${err}`));
  }
}

async function tcpClient(host: string, port: number, bytes: number, seed: number) {
  const data = new Rng(seed).bytes(bytes);
  const fd = await socket(AF_INET, SOCK_STREAM);
  await connect(fd, inet(host, port));
  for (let off = 0; off < bytes;) off += await send(fd, data.subarray(off, off + 65536));
  await shutdown(fd, SHUT_WR);
  let reply = "";
  for (;;) {
    const d = await recv(fd, 100);
    if (d.length === 0) break;
    reply += new TextDecoder().decode(d);
  }
  await close(fd);
  const want = hex(await sha(data));
  print(reply === want ? `tcp ok ${bytes}` : `tcp MISMATCH ${reply} != ${want}`);
  return reply === want ? 0 : 1;
}

async function serveUdp(port: number): Promise<number> {
  const fd = await socket(AF_INET, SOCK_DGRAM);
  await bind(fd, inet("0.0.0.0", port));
  print("ready");
  for (;;) {
    const r = await recvfrom(fd, 65536);
    const reply = new Uint8Array(36);
    reply.set(r.data.subarray(0, 4));
    reply.set(await sha(r.data.subarray(4)), 4);
    await sendto(fd, reply, r.addr!);
  }
}

async function udpClient(host: string, port: number, count: number, seed: number) {
  const rng = new Rng(seed);
  const fd = await socket(AF_INET, SOCK_DGRAM);
  await setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 200);
  let retries = 0;
  for (let seq = 0; seq < count; seq++) {
    const msg = rng.bytes(4 + rng.range(1, 1400));
    new DataView(msg.buffer).setUint32(0, seq);
    const want = await sha(msg.subarray(4));
    let acked = false;
    for (let tries = 0; tries < 50 && !acked; tries++) {
      if (tries) retries++;
      await sendto(fd, msg, inet(host, port));
      // Drain replies until ours arrives (stale duplicates of earlier acks are skipped).
      for (;;) {
        let r;
        try {
          r = await recvfrom(fd, 100);
        } catch (err) {
          if (err instanceof ErrnoError && err.code === "EAGAIN") break;
          throw err;
        }
        if (
          r.data.length !== 36 ||
          new DataView(r.data.buffer, r.data.byteOffset).getUint32(0) !== seq
        ) {
          continue;
        }
        if (hex(r.data.subarray(4)) !== hex(want)) {
          print(`udp MISMATCH seq ${seq}`);
          return 1;
        }
        acked = true;
        break;
      }
    }
    if (!acked) {
      print(`udp LOST seq ${seq} after 50 tries`);
      return 1;
    }
  }
  await close(fd);
  print(`udp ok ${count} retries ${retries}`);
  return 0;
}

export default async function main([mode, ...a]: string[]): Promise<number> {
  switch (mode) {
    case "tcp-server":
      return await serveTcp(Number(a[0]));
    case "tcp-client":
      return await tcpClient(a[0], Number(a[1]), Number(a[2]), Number(a[3]));
    case "udp-server":
      return await serveUdp(Number(a[0]));
    case "udp-client":
      return await udpClient(a[0], Number(a[1]), Number(a[2]), Number(a[3]));
    default:
      print(`unknown mode ${mode}`);
      return 2;
  }
}
