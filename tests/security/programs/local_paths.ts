/**
 * Hostile test program: fill the AF_LOCAL namespace. MODE is one of:
 * - `churn PREFIX N`: bind a socket at PREFIX/i and close it, N times (paths used to stay bound
 *   after their socket closed); prints "churn N".
 * - `hoard PREFIX`: bind a socket at PREFIX/i for i = 0, 1, ... and keep each one, until bind
 *   fails; sockets beyond 800 are kept in flight (sent with SCM_RIGHTS into a socketpair's queue,
 *   their fd closed) to get past the fd limit. Prints "paths N CODE", then "holding", and blocks
 *   until killed.
 */
import {
  AF_LOCAL,
  bind,
  close,
  ErrnoError,
  local,
  print,
  recv,
  sendmsg,
  SOCK_DGRAM,
  SOCK_STREAM,
  socket,
  socketpair,
} from "../../../libc/mod.ts";

/** Sockets kept as fds; the rest go into the stash's queue. */
const IN_FDS = 800;

export default async function main([mode, prefix, count = "0"]: string[]): Promise<number> {
  const [stash, hold] = await socketpair(AF_LOCAL, SOCK_STREAM);
  if (mode === "churn") {
    const n = Number(count);
    for (let i = 0; i < n; i++) {
      const fd = await socket(AF_LOCAL, SOCK_DGRAM);
      await bind(fd, local(`${prefix}/${i}`));
      await close(fd);
    }
    print(`churn ${n}`);
    return 0;
  }
  if (mode !== "hoard") {
    print("usage: local_paths churn|hoard PREFIX [N]");
    return 2;
  }
  let n = 0;
  let code = "none";
  for (; n < 100_000; n++) {
    const fd = await socket(AF_LOCAL, SOCK_DGRAM);
    try {
      await bind(fd, local(`${prefix}/${n}`));
    } catch (err) {
      if (!(err instanceof ErrnoError)) throw err;
      code = err.code;
      await close(fd);
      break;
    }
    if (n >= IN_FDS) {
      await sendmsg(stash, new Uint8Array(1), { rights: [fd] });
      await close(fd);
    }
  }
  print(`paths ${n} ${code}`);
  print("holding");
  const [block] = await socketpair(AF_LOCAL, SOCK_STREAM);
  await recv(block, 1);
  void hold;
  return 0;
}
