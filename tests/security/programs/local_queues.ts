/**
 * Hostile test program: pin kernel memory in AF_LOCAL queues, `local_queues MODE N`.
 * - `views N`: on each of N socketpairs, shrink the receiver's buffer to 2 KiB and send one
 *   16 MiB message without blocking: 2 KiB of it is queued, as a view that used to keep the
 *   whole 16 MiB alive. Prints "views N queued BYTES CODE" (the errno of the next send).
 * - `budget`: on up to N socketpairs with 16 MiB receive buffers, send 1 MiB messages without
 *   blocking and never read, until a send fails with something other than EAGAIN. Prints
 *   "budget BYTES CODE".
 * Then prints "holding" and blocks until killed, its queues full.
 */
import {
  AF_LOCAL,
  ErrnoError,
  print,
  recv,
  send,
  setsockopt,
  SO_RCVBUF,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  socketpair,
  SOL_SOCKET,
} from "../../../libc/mod.ts";

/** The send's bytes, or the errno it failed with. */
async function trySend(fd: number, data: Uint8Array): Promise<number | string> {
  try {
    return await send(fd, data);
  } catch (err) {
    if (!(err instanceof ErrnoError)) throw err;
    return err.code;
  }
}

export default async function main([mode, count = "1"]: string[]): Promise<number> {
  const n = Number(count);
  const [hold] = await socketpair(AF_LOCAL, SOCK_STREAM);
  if (mode === "views") {
    const big = new Uint8Array(16 << 20);
    let queued = 0;
    let code = "none";
    for (let i = 0; i < n; i++) {
      const [tx, rx] = await socketpair(AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK);
      await setsockopt(rx, SOL_SOCKET, SO_RCVBUF, 2048);
      const r = await trySend(tx, big);
      if (typeof r === "string") throw new Error(`first send failed: ${r}`);
      queued += r;
      const again = await trySend(tx, big.subarray(0, 1));
      code = typeof again === "string" ? again : "none";
    }
    print(`views ${n} queued ${queued} ${code}`);
  } else if (mode === "budget") {
    const mib = new Uint8Array(1 << 20);
    let bytes = 0;
    let code = "none";
    for (let i = 0; i < n && code === "none"; i++) {
      const [tx, rx] = await socketpair(AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK);
      await setsockopt(rx, SOL_SOCKET, SO_RCVBUF, 16 << 20);
      for (;;) {
        const r = await trySend(tx, mib);
        if (r === "EAGAIN") break;
        if (typeof r === "string") {
          code = r;
          break;
        }
        bytes += r;
      }
    }
    print(`budget ${bytes} ${code}`);
  } else {
    print("usage: local_queues views|budget N");
    return 2;
  }
  print("holding");
  await recv(hold, 1);
  return 0;
}
