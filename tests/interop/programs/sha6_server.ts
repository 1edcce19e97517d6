/**
 * Interop test program: `sha6_server PORT` accepts one IPv6 TCP connection on [::], reads it to
 * EOF, answers "<byte count> <SHA-256 hex>\n" and exits 0.
 */
import { createHash } from "node:crypto";
import {
  accept,
  AF_INET6,
  bind,
  close,
  inet6,
  listen,
  print,
  recv,
  send,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

export default async function main([port]: string[]): Promise<number> {
  const lfd = await socket(AF_INET6, SOCK_STREAM);
  await bind(lfd, inet6("::", Number(port)));
  await listen(lfd, 4);
  print(`listening on ${port}`);
  const { fd, addr } = await accept(lfd);
  await close(lfd);
  const hash = createHash("sha256");
  let total = 0;
  for (;;) {
    const chunk = await recv(fd, 65536);
    if (chunk.length === 0) break;
    hash.update(chunk);
    total += chunk.length;
  }
  const reply = `${total} ${hash.digest("hex")}\n`;
  let off = 0;
  const bytes = new TextEncoder().encode(reply);
  while (off < bytes.length) off += await send(fd, bytes.subarray(off));
  await close(fd);
  print(`from ${JSON.stringify(addr)}: ${reply.trim()}`);
  return 0;
}
