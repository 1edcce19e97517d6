/**
 * Test program for handle passing: creates a socketpair and passes one end to each of two
 * servers (PATH_A, PATH_B) with SCM_RIGHTS, closing its own copies, so the servers end up
 * talking to each other.
 */
import {
  AF_LOCAL,
  close,
  connect,
  ErrnoError,
  local,
  print,
  sendmsg,
  SOCK_STREAM,
  socket,
  socketpair,
} from "../../libc/mod.ts";

async function connectRetry(path: string): Promise<number> {
  for (let i = 0;; i++) {
    const fd = await socket(AF_LOCAL, SOCK_STREAM);
    try {
      await connect(fd, local(path));
      return fd;
    } catch (err) {
      await close(fd);
      if (!(err instanceof ErrnoError) || i > 200) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export default async function main([pathA, pathB]: string[]): Promise<number> {
  const [x, y] = await socketpair(AF_LOCAL, SOCK_STREAM);
  for (const [path, end] of [[pathA, x], [pathB, y]] as const) {
    const c = await connectRetry(path);
    await sendmsg(c, new TextEncoder().encode(`end ${end}`), { rights: [end] });
    await close(end);
    await close(c);
  }
  print("passed both ends");
  return 0;
}
