/**
 * Test program: connects to PATH, sends a line, then throws mid-conversation while holding
 * sockets (a listener, a socketpair and the connection), to check the kernel reclaims them.
 */
import {
  AF_LOCAL,
  bind,
  connect,
  listen,
  local,
  send,
  SOCK_STREAM,
  socket,
  socketpair,
} from "../../libc/mod.ts";

export default async function main([path]: string[]): Promise<number> {
  const fd = await socket(AF_LOCAL, SOCK_STREAM);
  await connect(fd, local(path));
  await send(fd, "partial");
  await socketpair(AF_LOCAL, SOCK_STREAM);
  const l = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(l, local(path + ".crasher"));
  await listen(l);
  throw new Error("crash on purpose");
}
