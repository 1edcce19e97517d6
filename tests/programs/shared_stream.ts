/**
 * Test program for shared socket rings (libc/direct.ts, kernel/bus/shared_stream.ts). Modes:
 *   duplex PORT MB   a loopback connection inside one process: MB MiB each way at once; prints
 *                    "a2b ok|bad N", "b2a ok|bad N" and "shared N" (rings the netstack holds)
 *   handoff PATH     2 MiB over loopback; the reader takes 600,000 bytes (rings shared by then),
 *                    passes the socket to a child ("take" mode), which checks the rest
 *   take PATH        (child of handoff) prints "took N ok|bad" (bytes and their order)
 *   unread PORT      the reader takes 300,000 of 1 MiB through its rings and closes: prints
 *                    "writer CODE" (the reset the writer sees)
 *   nonblock PORT    a nonblocking writer fills its rings and the socket: prints "eagain",
 *                    "pollout N" (0 while full), then "drained" and "pollout N" once read
 */
import {
  accept,
  AF_INET,
  AF_LOCAL,
  bind,
  close,
  connect,
  ErrnoError,
  F_GETFL,
  F_SETFL,
  fcntl,
  inet,
  listen,
  local,
  netctl,
  O_NONBLOCK,
  poll,
  POLLOUT,
  print,
  recv,
  recvmsg,
  send,
  sendmsg,
  SOCK_STREAM,
  socket,
  spawn,
  waitpid,
} from "../../libc/mod.ts";

async function pair(port: number): Promise<{ client: number; server: number; listener: number }> {
  const listener = await socket(AF_INET, SOCK_STREAM);
  await bind(listener, inet("127.0.0.1", port));
  await listen(listener, 4);
  const client = await socket(AF_INET, SOCK_STREAM);
  const accepted = accept(listener);
  await connect(client, inet("127.0.0.1", port));
  return { client, server: (await accepted).fd, listener };
}

/** Byte i of a test stream (`salt` tells the two directions apart). */
const pattern = (i: number, salt = 0) => (i * 7 + (i >> 16) + salt) & 0xff;

async function write(fd: number, total: number, salt = 0, len = 65536): Promise<void> {
  const chunk = new Uint8Array(len);
  for (let off = 0; off < total; off += len) {
    const n = Math.min(len, total - off);
    for (let j = 0; j < n; j++) chunk[j] = pattern(off + j, salt);
    let done = 0;
    while (done < n) done += await send(fd, chunk.subarray(done, n));
  }
}

/** Read to EOF (or `limit` bytes) checking the pattern from `from`; returns the count and verdict. */
async function check(fd: number, from: number, salt = 0, limit = Infinity) {
  let got = 0;
  let ok = true;
  while (got < limit) {
    const d = await recv(fd, Math.min(100_000, limit - got));
    if (d.length === 0) break;
    for (let j = 0; j < d.length; j++) if (d[j] !== pattern(from + got + j, salt)) ok = false;
    got += d.length;
  }
  return { got, ok };
}

async function sharedRings(): Promise<number> {
  const stats = await netctl({ op: "stats" }) as { counters: Record<string, number> };
  return stats.counters["tcp: shared rings"] ?? 0;
}

async function duplex(port: number, mb: number): Promise<number> {
  const { client, server, listener } = await pair(port);
  const total = mb << 20;
  const [, , a2b, b2a] = await Promise.all([
    write(client, total, 0, 50_000),
    write(server, total, 1),
    check(server, 0, 0, total),
    check(client, 0, 1, total),
  ]);
  print(`a2b ${a2b.ok ? "ok" : "bad"} ${a2b.got}`);
  print(`b2a ${b2a.ok ? "ok" : "bad"} ${b2a.got}`);
  print(`shared ${await sharedRings()}`);
  for (const fd of [client, server, listener]) await close(fd);
  return 0;
}

async function handoff(path: string): Promise<number> {
  const { client, server, listener } = await pair(7205);
  const writing = write(client, 2 << 20).then(() => close(client));
  const head = await check(server, 0, 0, 600_000);
  print(`head ${head.ok ? "ok" : "bad"} ${head.got}`);
  print(`shared ${await sharedRings()}`);
  const l = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(l, local(path));
  await listen(l, 1);
  const child = await spawn("tests/programs/shared_stream.ts", ["take", path]);
  const c = await accept(l);
  await sendmsg(c.fd, new Uint8Array([1]), { rights: [server] });
  await close(server);
  await writing;
  print(`child ${await waitpid(child)}`);
  for (const fd of [c.fd, l, listener]) await close(fd);
  return 0;
}

async function take(path: string): Promise<number> {
  const s = await socket(AF_LOCAL, SOCK_STREAM);
  await connect(s, local(path));
  const fd = (await recvmsg(s, 16)).rights![0];
  const rest = await check(fd, 600_000);
  print(`took ${rest.got} ${rest.ok ? "ok" : "bad"}`);
  await close(fd);
  await close(s);
  return 0;
}

async function unread(port: number): Promise<number> {
  const { client, server, listener } = await pair(port);
  const writing = write(client, 1 << 20).then(
    () => "all written",
    (err) => (err as ErrnoError).code,
  );
  await check(server, 0, 0, 300_000);
  await close(server);
  let outcome = await writing;
  if (outcome === "all written") {
    try {
      while ((await recv(client)).length > 0) {
        // The reader sends nothing: wait for the reset.
      }
      outcome = "eof";
    } catch (err) {
      outcome = (err as ErrnoError).code;
    }
  }
  print(`writer ${outcome}`);
  await close(client);
  await close(listener);
  return 0;
}

async function nonblock(port: number): Promise<number> {
  const { client, server, listener } = await pair(port);
  await Promise.all([write(client, 400_000), check(server, 0, 0, 400_000)]); // rings shared now
  await fcntl(client, F_SETFL, (await fcntl(client, F_GETFL)) | O_NONBLOCK);
  const chunk = new Uint8Array(65536);
  let queued = 0;
  let eagain = false;
  let writable = POLLOUT;
  // Fill until a send is refused and poll agrees (the netstack may still be moving bytes on
  // from the rings when the first EAGAIN comes: then there is room again).
  for (let round = 0; round < 1000 && writable; round++) {
    try {
      queued += await send(client, chunk);
      continue;
    } catch (err) {
      if ((err as ErrnoError).code !== "EAGAIN") throw err;
      eagain = true;
    }
    writable = (await poll([{ fd: client, events: POLLOUT }], 0)).revents[0] & POLLOUT;
  }
  if (eagain) print("eagain");
  print(`pollout ${writable}`);
  let got = 0;
  while (got < queued) got += (await recv(server, 1 << 20)).length;
  print("drained");
  const later = await poll([{ fd: client, events: POLLOUT }], 2000);
  print(`pollout ${later.revents[0] & POLLOUT}`);
  for (const fd of [client, server, listener]) await close(fd);
  return 0;
}

/** The program's entry point. */
export default async function main([mode, a, b]: string[]): Promise<number> {
  switch (mode) {
    case "duplex":
      return await duplex(Number(a), Number(b));
    case "handoff":
      return await handoff(a);
    case "take":
      return await take(a);
    case "unread":
      return await unread(Number(a));
    case "nonblock":
      return await nonblock(Number(a));
    default:
      print(`unknown mode ${mode}`);
      return 2;
  }
}
