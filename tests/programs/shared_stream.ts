/**
 * Test program for shared socket rings (libc/direct.ts, kernel/bus/shared_stream.ts). Modes:
 *   duplex PORT MB [6]  a loopback connection inside one process (over ::1 with "6"): MB MiB
 *                    each way at once; prints "a2b ok|bad N", "b2a ok|bad N" and "shared N"
 *                    (rings the netstack holds)
 *   rings            prints "shared N": how many times the netstack took shared rings
 *   calls PORT       calls that need the netstack on a shared socket: MSG_PEEK, MSG_WAITALL,
 *                    SO_RCVTIMEO on a quiet one, then SHUT_WR after ring writes; prints a line
 *                    for each ("peek ok", "waitall ok", "timeout CODE", "eof after N ok")
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
  AF_LOCAL,
  bind,
  close,
  connect,
  ErrnoError,
  F_GETFL,
  F_SETFL,
  fcntl,
  listen,
  local,
  MSG_PEEK,
  MSG_WAITALL,
  netctl,
  O_NONBLOCK,
  poll,
  POLLOUT,
  print,
  recv,
  recvmsg,
  send,
  sendmsg,
  setsockopt,
  SHUT_WR,
  shutdown,
  SO_RCVTIMEO,
  SOCK_STREAM,
  socket,
  SOL_SOCKET,
  spawn,
  waitpid,
} from "../../libc/mod.ts";
import { loopbackPair } from "./_loopback_pair.ts";

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

async function duplex(port: number, mb: number, six: boolean): Promise<number> {
  const { client, server, listener } = await loopbackPair(port, six);
  const total = mb * 1048576;
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

async function calls(port: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  // Both ends ask for rings after 256 KiB; a refusal for now (a send buffer fuller than a ring
  // on a loaded machine) is asked again later, so keep the bytes flowing until both have them.
  for (let round = 0; round < 20; round++) {
    await Promise.all([write(client, 400_000), check(server, 0, 0, 400_000)]);
    if (await sharedRings() >= 2) break;
  }
  print(`shared ${await sharedRings()}`);
  // MSG_PEEK leaves the bytes; MSG_WAITALL waits for all it asked for, across writes.
  await write(client, 1000, 0, 1000);
  const peeked = await recv(server, 600, MSG_PEEK);
  const taken = await recv(server, 600);
  print(`peek ${peeked.length > 0 && peeked.every((v, i) => v === taken[i]) ? "ok" : "bad"}`);
  const rest = recv(server, 3400, MSG_WAITALL);
  await write(client, 3000, 0, 1000);
  print(`waitall ${(await rest).length === 3400 ? "ok" : "bad"}`);
  // A receive timeout on a shared socket that stays quiet.
  await setsockopt(server, SOL_SOCKET, SO_RCVTIMEO, 100);
  try {
    await recv(server, 100);
    print("timeout none");
  } catch (err) {
    print(`timeout ${(err as ErrnoError).code}`);
  }
  // Ring writes then SHUT_WR: every byte arrives before EOF.
  await write(client, 300_000, 3);
  await shutdown(client, SHUT_WR);
  const tail = await check(server, 0, 3);
  print(`eof after ${tail.got} ${tail.ok ? "ok" : "bad"}`);
  for (const fd of [client, server, listener]) await close(fd);
  return 0;
}

async function handoff(path: string): Promise<number> {
  const { client, server, listener } = await loopbackPair(7205);
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
  const { client, server, listener } = await loopbackPair(port);
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
  const { client, server, listener } = await loopbackPair(port);
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
export default async function main([mode, a, b, c]: string[]): Promise<number> {
  switch (mode) {
    case "duplex":
      return await duplex(Number(a), Number(b), c === "6");
    case "calls":
      return await calls(Number(a));
    case "rings":
      print(`shared ${await sharedRings()}`);
      return 0;
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
