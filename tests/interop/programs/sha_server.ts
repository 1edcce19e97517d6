/**
 * Interop test program: `sha_server PORT [6]` accepts one TCP connection (on [::] with "6"),
 * reads it to EOF, answers
 * "<byte count> <SHA-256 hex>\n" and exits 0.
 */
import { createHash } from "node:crypto";
import {
  accept,
  AF_INET,
  AF_INET6,
  bind,
  close,
  inet,
  inet6,
  listen,
  print,
  recv,
  send,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

export default async function main([port, family]: string[]): Promise<number> {
  const v6 = family === "6";
  const lfd = await socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM);
  await bind(lfd, v6 ? inet6("::", Number(port)) : inet("0.0.0.0", Number(port)));
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
