/**
 * Test program for the direct process ⇄ netstack port. Modes:
 *   bulk PORT MB    a loopback connection inside one process: MB MiB in 64 KiB sends, close
 *                   at once after the last; prints "bytes N" (what the reader got), "sha ok|bad"
 *                   and "syscalls N" (calls the kernel served for this process)
 *   reset PORT      sends into a connection whose peer aborts (SO_LINGER 0): prints
 *                   "error CODE" once a send fails, "no error" if 64 MiB were all accepted
 *   order PORT      many small pipelined sends, then shutdown(SHUT_WR): the peer reads the
 *                   numbers back in order up to EOF: "order ok" or "order bad at I"
 *   handoff PATH    reads 4 bytes of a loopback stream (libc reads ahead), checks poll() says
 *                   more is readable, passes the socket over a local socket at PATH to a child
 *                   ("take" mode) and closes it; the child prints what it reads to EOF
 *   take PATH       (child of handoff) receives the socket and prints "took TEXT"
 *   unreadclose PORT  the server reads 4 of 100 bytes and closes: the client sees ECONNRESET
 *   hoard PORT      posts 100 sends of 1 MiB on its direct port without waiting, into a
 *                   connection nobody reads: prints "enobufs N" (refused past the per-process
 *                   cap), then the same through the kernel ("kernel enobufs N", port PORT+1),
 *                   and "alive" once the netstack still serves it
 *   quiet PORT      a receive waits on a connection that stays silent while the program closes
 *                   the socket and returns: prints "closed" and exits at once
 *   dup PORT        dups the client socket, closes the original, sends through the copy:
 *                   prints "dup got TEXT" (the socket lives while any fd names it)
 *   hold PORT       opens a loopback connection, prints "holding" and waits to be killed
 *   sockflags PORT  SOCK_NONBLOCK on socket() and accept(): prints "connect EINPROGRESS",
 *                   "recv EAGAIN", "flags N M" (O_NONBLOCK of both fds) and "kernel calls N"
 *   probe           names every socket id 0..511 on its direct port (holding none itself) and
 *                   sends malformed calls: prints "ebadf N", "errors N", then "alive" if its
 *                   own socket still works
 */
import {
  accept,
  AF_INET,
  AF_LOCAL,
  bind,
  close,
  connect,
  dup,
  ErrnoError,
  F_GETFL,
  fcntl,
  getinfo,
  getsockname,
  inet,
  listen,
  local,
  netcall,
  netctl,
  O_NONBLOCK,
  poll,
  POLLIN,
  print,
  recv,
  recvmsg,
  send,
  sendmsg,
  setsockopt,
  SHUT_WR,
  shutdown,
  SO_LINGER,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  socket,
  type SocketInfo,
  SOL_SOCKET,
  spawn,
  syscall,
  waitpid,
} from "../../libc/mod.ts";
import { loopbackPair } from "./_loopback_pair.ts";

/** Byte i of the test stream. */
const pattern = (i: number) => (i * 7 + (i >> 16)) & 0xff;

async function bulk(port: number, mb: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  const total = mb << 20;
  const reader = (async () => {
    let got = 0;
    let ok = true;
    for (;;) {
      const d = await recv(server, 1 << 18);
      if (d.length === 0) break;
      for (let j = 0; j < d.length; j += 997) if (d[j] !== pattern(got + j)) ok = false;
      got += d.length;
    }
    return { got, ok };
  })();
  const chunk = new Uint8Array(65536);
  for (let off = 0; off < total; off += chunk.length) {
    // The buffer is reused at once: a pipelined send must have copied it already.
    for (let j = 0; j < chunk.length; j++) chunk[j] = pattern(off + j);
    await send(client, chunk);
  }
  await close(client);
  const r = await reader;
  print(`bytes ${r.got}`);
  print(`sha ${r.ok ? "ok" : "bad"}`);
  await close(server);
  await close(listener);
  print(`syscalls ${(await getinfo()).syscalls}`);
  return 0;
}

async function sockFlags(port: number): Promise<number> {
  const listener = await socket(AF_INET, SOCK_STREAM);
  await bind(listener, inet("127.0.0.1", port));
  await listen(listener, 4);
  const before = (await getinfo()).syscalls;
  const client = await socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  const created = (await getinfo()).syscalls - before - 1; // not counting getinfo itself
  try {
    await connect(client, inet("127.0.0.1", port));
    print("connect done");
  } catch (err) {
    print(`connect ${(err as ErrnoError).code}`);
  }
  const server = (await accept(listener, SOCK_NONBLOCK)).fd;
  try {
    await recv(server, 10);
    print("recv data");
  } catch (err) {
    print(`recv ${(err as ErrnoError).code}`);
  }
  print(
    `flags ${(await fcntl(client, F_GETFL)) & O_NONBLOCK} ${
      (await fcntl(server, F_GETFL)) & O_NONBLOCK
    }`,
  );
  print(`kernel calls ${created}`);
  for (const fd of [client, server, listener]) await close(fd);
  return 0;
}

async function reset(port: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  await setsockopt(server, SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
  await close(server);
  const chunk = new Uint8Array(65536);
  try {
    for (let i = 0; i < 1024; i++) await send(client, chunk);
    print("no error");
  } catch (err) {
    print(`error ${(err as ErrnoError).code}`);
  }
  await close(client);
  await close(listener);
  return 0;
}

async function order(port: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  const n = 20000;
  const reader = (async () => {
    let text = "";
    for (;;) {
      const d = await recv(server);
      if (d.length === 0) break;
      text += new TextDecoder().decode(d);
    }
    return text.split(",").filter((s) => s !== "").map(Number);
  })();
  for (let i = 0; i < n; i++) await send(client, `${i},`);
  await shutdown(client, SHUT_WR);
  const got = await reader;
  const bad = got.findIndex((v, i) => v !== i);
  print(bad === -1 && got.length === n ? "order ok" : `order bad at ${bad} of ${got.length}`);
  for (const fd of [client, server, listener]) await close(fd);
  return 0;
}

async function probe(): Promise<number> {
  let ebadf = 0;
  for (let sid = 0; sid < 512; sid++) {
    try {
      await netcall({ op: "getsockname", fd: sid });
    } catch (err) {
      if ((err as ErrnoError).code === "EBADF") ebadf++;
    }
  }
  print(`ebadf ${ebadf}`);
  const bad: Record<string, unknown>[] = [
    {},
    { op: "accept", fd: 1, flags: 0 },
    { op: "close", fd: 1 },
    { op: "sendmsg", fd: "x", data: 1, flags: 0 },
    { op: "recvmsg", fd: -1, len: 10, flags: 0 },
    { op: "poll", fds: "nope", timeout: 0 },
    { op: "bind", fd: 1, addr: { family: 99 } },
  ];
  let errors = 0;
  for (const b of bad) {
    try {
      await netcall(b);
    } catch (err) {
      if (err instanceof ErrnoError) errors++;
    }
  }
  print(`errors ${errors}`);
  const fd = await socket(AF_INET, SOCK_STREAM);
  await bind(fd, inet("127.0.0.1", 0));
  const a = await getsockname(fd);
  if (a.family === AF_INET && a.port > 0) print("alive");
  await close(fd);
  return 0;
}

async function handoff(path: string): Promise<number> {
  const { client, server, listener } = await loopbackPair(7105);
  await send(client, "0123456789");
  const head = new TextDecoder().decode(await recv(server, 4));
  print(`head ${head}`);
  const p = await poll([{ fd: server, events: POLLIN }], 0);
  print(`poll ${p.revents[0] & POLLIN ? "ready" : "not ready"}`);
  const l = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(l, local(path));
  await listen(l, 1);
  const child = await spawn("tests/programs/direct_net.ts", ["take", path]);
  const c = await accept(l);
  await sendmsg(c.fd, new Uint8Array([1]), { rights: [server] });
  await close(server);
  await send(client, "abcdef");
  await close(client);
  print(`child ${await waitpid(child)}`);
  for (const fd of [c.fd, l, listener]) await close(fd);
  return 0;
}

async function take(path: string): Promise<number> {
  const s = await socket(AF_LOCAL, SOCK_STREAM);
  await connect(s, local(path));
  const m = await recvmsg(s, 16);
  const fd = m.rights![0];
  let text = "";
  for (;;) {
    const d = await recv(fd, 3);
    if (d.length === 0) break;
    text += new TextDecoder().decode(d);
  }
  print(`took ${text}`);
  // netstat's owners follow the socket: this process holds it now, the one that passed it not.
  const me = (await getinfo()).pid;
  const name = await getsockname(fd);
  const port = name.family === AF_INET ? name.port : -1;
  const rows = await netctl({ op: "sockets" }) as SocketInfo[];
  const row = rows.find((r) => r.local.endsWith(`:${port}`) && r.state !== "LISTEN");
  print(`holders ${JSON.stringify(row?.pids)} me ${me}`);
  await close(fd);
  await close(s);
  return 0;
}

async function unreadClose(port: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  await send(client, new Uint8Array(100));
  await recv(server, 4);
  await close(server);
  try {
    while ((await recv(client)).length > 0) {
      // Nothing is sent to the client; wait for the reset.
    }
    print("client eof");
  } catch (err) {
    print(`client ${(err as ErrnoError).code}`);
  }
  await close(client);
  await close(listener);
  return 0;
}

/** The socket id behind `fd`, found by asking the netstack for each id's name. */
async function sidOf(fd: number): Promise<number> {
  const want = JSON.stringify(await getsockname(fd));
  for (let sid = 0; sid < 4096; sid++) {
    const name = await netcall({ op: "getsockname", fd: sid }).catch(() => undefined);
    if (JSON.stringify(name) === want) return sid;
  }
  throw new Error("no socket id found");
}

/** Post 100 blocking sends of 1 MiB with `send`; how many were refused with ENOBUFS. */
async function flood(send: (data: Uint8Array) => Promise<unknown>): Promise<number> {
  const calls = Array.from(
    { length: 100 },
    () => send(new Uint8Array(1 << 20)).then(() => "sent", (e: ErrnoError) => e.code),
  );
  // The refused ones answer at once; the rest stay blocked until the connection goes.
  await new Promise((r) => setTimeout(r, 500));
  let enobufs = 0;
  for (const c of calls) {
    if (await Promise.race([c, Promise.resolve("blocked")]) === "ENOBUFS") enobufs++;
  }
  return enobufs;
}

async function hoard(port: number): Promise<number> {
  const direct = await loopbackPair(port);
  const sid = await sidOf(direct.client);
  print(`enobufs ${await flood((data) => netcall({ op: "sendmsg", fd: sid, data, flags: 0 }))}`);
  // The same through the kernel, which holds the bytes of blocked sends itself.
  const viaKernel = await loopbackPair(port + 1);
  const fd0 = viaKernel.client;
  const n = await flood((data) => syscall({ op: "sendmsg", fd: fd0, data, flags: 0 }));
  print(`kernel enobufs ${n}`);
  for (const p of [direct, viaKernel]) {
    for (const fd of [p.client, p.server, p.listener]) await close(fd);
  }
  const fd = await socket(AF_INET, SOCK_STREAM);
  await bind(fd, inet("127.0.0.1", 0));
  print("alive");
  return 0;
}

async function dupThenClose(port: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  const copy = await dup(client);
  await close(client);
  await send(copy, "through the copy");
  await close(copy);
  let text = "";
  for (let d = await recv(server); d.length > 0; d = await recv(server)) {
    text += new TextDecoder().decode(d);
  }
  print(`dup got ${text}`);
  await close(server);
  await close(listener);
  return 0;
}

async function quiet(port: number): Promise<number> {
  const { client, server, listener } = await loopbackPair(port);
  recv(server).catch(() => {}); // never answered: the peer sends nothing
  await new Promise((r) => setTimeout(r, 50));
  await close(server);
  print("closed");
  recv(client).catch(() => {}); // still waiting when main returns
  await close(listener);
  return 0;
}

/** Run the mode named by the first argument. */
export default async function main([mode, a, b]: string[]): Promise<number> {
  switch (mode) {
    case "bulk":
      return await bulk(Number(a), Number(b));
    case "reset":
      return await reset(Number(a));
    case "order":
      return await order(Number(a));
    case "probe":
      return await probe();
    case "sockflags":
      return await sockFlags(Number(a));
    case "hold":
      await loopbackPair(Number(a));
      print("holding");
      return await new Promise<number>(() => {});
    case "handoff":
      return await handoff(a);
    case "take":
      return await take(a);
    case "dup":
      return await dupThenClose(Number(a));
    case "quiet":
      return await quiet(Number(a));
    case "hoard":
      return await hoard(Number(a));
    case "unreadclose":
      return await unreadClose(Number(a));
    default:
      print(`unknown mode ${mode}`);
      return 2;
  }
}
