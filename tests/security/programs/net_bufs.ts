/**
 * Hostile test program: pin memory in socket buffers, `net_bufs N SIZE PORT`. Opens N loopback
 * TCP connections to its own listener on 127.0.0.1:PORT, asks for SO_SNDBUF and SO_RCVBUF of
 * SIZE bytes on every socket, and sends on each (nonblocking) until EAGAIN without ever reading
 * the other end. Prints "sndbuf S rcvbuf R" (what getsockopt reports), "connections C queued
 * BYTES stopped CODE" (the connections filled, all the sends took, and the errno that ended the
 * attack early, "none" if none did), "holding", then keeps everything open until killed.
 */
import {
  accept,
  AF_INET,
  AF_LOCAL,
  bind,
  connect,
  ErrnoError,
  F_GETFL,
  F_SETFL,
  fcntl,
  getsockopt,
  inet,
  listen,
  O_NONBLOCK,
  print,
  recv,
  send,
  setsockopt,
  SO_RCVBUF,
  SO_SNDBUF,
  SOCK_STREAM,
  socket,
  socketpair,
  SOL_SOCKET,
} from "../../../libc/mod.ts";

export default async function main([n, size, port]: string[]): Promise<number> {
  const bytes = Number(size);
  const l = await socket(AF_INET, SOCK_STREAM);
  await setsockopt(l, SOL_SOCKET, SO_RCVBUF, bytes); // inherited by the accepted sockets
  await setsockopt(l, SOL_SOCKET, SO_SNDBUF, bytes);
  await bind(l, inet("127.0.0.1", Number(port)));
  await listen(l, 128);
  const chunk = new Uint8Array(64 << 10);
  let queued = 0;
  let opened = 0;
  let stop = "none";
  for (let i = 0; i < Number(n); i++) {
    try {
      queued += await open(l, i, bytes, Number(port), chunk);
      opened++;
    } catch (err) {
      // The memory budget may end the attack first: that is an answer too.
      if (!(err instanceof ErrnoError)) throw err;
      stop = err.code;
      break;
    }
  }
  print(`connections ${opened} queued ${queued} stopped ${stop}`);
  print("holding");
  const [hold] = await socketpair(AF_LOCAL, SOCK_STREAM);
  await recv(hold);
  return 0;
}

/** Open connection `i` to the listener `l` with buffers of `bytes`, fill it; bytes queued. */
async function open(
  l: number,
  i: number,
  bytes: number,
  port: number,
  chunk: Uint8Array,
): Promise<number> {
  const c = await socket(AF_INET, SOCK_STREAM);
  await setsockopt(c, SOL_SOCKET, SO_SNDBUF, bytes);
  await setsockopt(c, SOL_SOCKET, SO_RCVBUF, bytes);
  if (i === 0) {
    const snd = await getsockopt(c, SOL_SOCKET, SO_SNDBUF);
    print(`sndbuf ${snd} rcvbuf ${await getsockopt(c, SOL_SOCKET, SO_RCVBUF)}`);
  }
  await connect(c, inet("127.0.0.1", port));
  await accept(l);
  return await fill(c, chunk);
}

/** Send on `fd` until the socket takes no more (EAGAIN after a pause); bytes taken. */
async function fill(fd: number, chunk: Uint8Array): Promise<number> {
  await fcntl(fd, F_SETFL, (await fcntl(fd, F_GETFL)) | O_NONBLOCK);
  let total = 0;
  for (let idle = 0; idle < 2;) {
    try {
      total += await send(fd, chunk);
      idle = 0;
    } catch (err) {
      if (!(err instanceof ErrnoError)) throw err;
      if (err.code !== "EAGAIN") {
        if (total > 0) return total; // ENOBUFS/ENOMEM: memory is full; count what went in
        throw err;
      }
      idle++;
      await new Promise((r) => setTimeout(r, 10)); // let segments and window updates settle
    }
  }
  return total;
}
