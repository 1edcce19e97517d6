/**
 * TCP benchmark program (runs as a Serin process). Modes, each printing one JSON line at the
 * end (servers print "listening" first so the harness knows when to start the client):
 *   sink PORT                 accept one connection, time first byte → EOF: {bytes, ms}
 *   source HOST PORT MB LEN   connect, send MB mebibytes in LEN-byte writes, shut down: {ms}
 *   acceptor PORT             accept and close connections until killed
 *   sinks PORT                serve connections until killed: read to EOF, answer
 *                             "bytes=N" if any came, close (lwIP's peer does the same)
 *   echo PORT                 serve connections until killed: echo until EOF, close
 *   connector HOST PORT N MS  up to N × (connect, wait for the server's close, close), stopping
 *                             after MS milliseconds: {ms, n}
 *   holder PORT N             accept N connections and keep them open: {n} ("held" after N)
 *   opener HOST PORT N MS     open up to N connections within MS milliseconds, print {n}
 *                             ("opened"), keep them open
 */
import {
  accept,
  AF_INET,
  close,
  connect,
  inet,
  recvmsg,
  SHUT_WR,
  shutdown,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";
import { listenOn, sendAll } from "../../tools/_net.ts";

async function sink(port: number): Promise<number> {
  const lfd = await listenOn(AF_INET, SOCK_STREAM, port, { backlog: 1 });
  console.log("listening");
  const c = await accept(lfd);
  let bytes = 0;
  let t0 = 0;
  for (;;) {
    const r = await recvmsg(c.fd, 1 << 16);
    if (r.data.length === 0) break;
    if (bytes === 0) t0 = performance.now();
    bytes += r.data.length;
  }
  const ms = performance.now() - t0;
  await close(c.fd);
  await close(lfd);
  console.log(JSON.stringify({ bytes, ms }));
  return 0;
}

async function source(host: string, port: number, mb: number, len: number): Promise<number> {
  const fd = await socket(AF_INET, SOCK_STREAM);
  await connect(fd, inet(host, port));
  const buf = new Uint8Array(len).fill(0x5a);
  const t0 = performance.now();
  for (let left = mb * 1024 * 1024; left > 0; left -= len) {
    await sendAll(fd, left >= len ? buf : buf.subarray(0, left));
  }
  await shutdown(fd, SHUT_WR);
  while ((await recvmsg(fd, 1 << 16)).data.length > 0) {
    // The sink sends nothing; wait for its close.
  }
  await close(fd);
  console.log(JSON.stringify({ ms: performance.now() - t0 }));
  return 0;
}

async function acceptor(port: number): Promise<number> {
  const lfd = await listenOn(AF_INET, SOCK_STREAM, port);
  console.log("listening");
  for (;;) await close((await accept(lfd)).fd);
}

/** Serve each accepted connection with `serve` concurrently, until killed. */
async function server(port: number, serve: (fd: number) => Promise<void>): Promise<number> {
  const lfd = await listenOn(AF_INET, SOCK_STREAM, port, { backlog: 128 });
  console.log("listening");
  for (;;) {
    const c = await accept(lfd);
    serve(c.fd).catch(() => {}).finally(() => close(c.fd).catch(() => {}));
  }
}

async function sinkOne(fd: number): Promise<void> {
  let bytes = 0;
  for (;;) {
    const r = await recvmsg(fd, 1 << 16);
    if (r.data.length === 0) break;
    bytes += r.data.length;
  }
  if (bytes > 0) await sendAll(fd, new TextEncoder().encode(`bytes=${bytes}\n`));
}

async function echoOne(fd: number): Promise<void> {
  for (;;) {
    const r = await recvmsg(fd, 1 << 16);
    if (r.data.length === 0) return;
    await sendAll(fd, r.data);
  }
}

async function connector(host: string, port: number, n: number, ms: number): Promise<number> {
  const addr = inet(host, port);
  const t0 = performance.now();
  let i = 0;
  for (; i < n && performance.now() - t0 < ms; i++) {
    const fd = await socket(AF_INET, SOCK_STREAM);
    await connect(fd, addr);
    while ((await recvmsg(fd, 16)).data.length > 0) {
      // The acceptor sends nothing; wait for its close.
    }
    await close(fd);
  }
  console.log(JSON.stringify({ ms: performance.now() - t0, n: i }));
  return 0;
}

async function holder(port: number, n: number): Promise<number> {
  const lfd = await listenOn(AF_INET, SOCK_STREAM, port, { backlog: 512 });
  console.log("listening");
  for (let i = 0; i < n; i++) await accept(lfd);
  console.log(JSON.stringify({ n }));
  console.log("held");
  await new Promise(() => {}); // keep every connection until killed
  return 0;
}

async function opener(host: string, port: number, n: number, ms: number): Promise<number> {
  const addr = inet(host, port);
  const deadline = performance.now() + ms;
  let opened = 0;
  try {
    for (; opened < n && performance.now() < deadline; opened++) {
      const fd = await socket(AF_INET, SOCK_STREAM);
      await connect(fd, addr);
    }
  } catch (err) {
    console.error(`opener: stopped after ${opened}: ${(err as Error).message}`);
  }
  console.log(JSON.stringify({ n: opened }));
  console.log("opened");
  await new Promise(() => {}); // keep every connection until killed
  return 0;
}

/** Run the mode named by the first argument. */
export default async function main(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  const num = (i: number) => Number(rest[i]);
  switch (mode) {
    case "sink":
      return await sink(num(0));
    case "source":
      return await source(rest[0], num(1), num(2), num(3));
    case "acceptor":
      return await acceptor(num(0));
    case "sinks":
      return await server(num(0), sinkOne);
    case "echo":
      return await server(num(0), echoOne);
    case "connector":
      return await connector(rest[0], num(1), num(2), num(3));
    case "holder":
      return await holder(num(0), num(1));
    case "opener":
      return await opener(rest[0], num(1), num(2), num(3));
    default:
      console.error(`tcp_prog: unknown mode ${mode}`);
      return 2;
  }
}
