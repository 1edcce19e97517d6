/**
 * Interop test program: `sha_client HOST PORT BYTES` connects (over IPv6 when HOST has a ":"),
 * sends BYTES pseudo-random bytes,
 * half-closes, reads the peer's "<byte count> <SHA-256 hex>" answer and exits 0 when it matches
 * what was sent (1 when it does not).
 */
import { createHash } from "node:crypto";
import {
  AF_INET,
  AF_INET6,
  close,
  connect,
  inet,
  inet6,
  print,
  recv,
  send,
  SHUT_WR,
  shutdown,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

const CHUNK = 65536;

export default async function main([host, port, bytes]: string[]): Promise<number> {
  const total = Number(bytes);
  const v6 = host.includes(":");
  const fd = await socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM);
  await connect(fd, v6 ? inet6(host, Number(port)) : inet(host, Number(port)));
  const hash = createHash("sha256");
  const chunk = new Uint8Array(CHUNK);
  let sent = 0;
  while (sent < total) {
    crypto.getRandomValues(chunk);
    const part = chunk.subarray(0, Math.min(CHUNK, total - sent));
    hash.update(part);
    let off = 0;
    while (off < part.length) off += await send(fd, part.subarray(off));
    sent += part.length;
  }
  await shutdown(fd, SHUT_WR);
  let answer = "";
  const dec = new TextDecoder();
  for (;;) {
    const r = await recv(fd, 4096);
    if (r.length === 0) break;
    answer += dec.decode(r, { stream: true });
  }
  await close(fd);
  const mine = `${sent} ${hash.digest("hex")}`;
  print(`sent: ${mine}`);
  print(`peer: ${answer.trim()}`);
  return answer.trim() === mine ? 0 : 1;
}
