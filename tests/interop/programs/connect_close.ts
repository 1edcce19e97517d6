/**
 * Interop test program: `connect_close ADDR PORT MS` starts a nonblocking connect, closes the
 * socket MS milliseconds later whatever state the handshake is in, and exits 0.
 */
import {
  AF_INET,
  close,
  connect,
  ErrnoError,
  F_SETFL,
  fcntl,
  inet,
  O_NONBLOCK,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

export default async function main([addr, port, ms]: string[]): Promise<number> {
  const fd = await socket(AF_INET, SOCK_STREAM);
  await fcntl(fd, F_SETFL, O_NONBLOCK);
  try {
    await connect(fd, inet(addr, Number(port)));
  } catch (err) {
    if (!(err instanceof ErrnoError) || err.code !== "EINPROGRESS") throw err;
  }
  await new Promise((r) => setTimeout(r, Number(ms)));
  await close(fd);
  return 0;
}
