/**
 * Test program: connects to HOST:PORT, sends MB megabytes of a fixed pattern, half-closes and
 * prints the SHA-256 it sent and the one the peer reported.
 */
import {
  AF_INET,
  close,
  connect,
  inet,
  print,
  recv,
  send,
  SHUT_WR,
  shutdown,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";

export default async function main([host, port, mb]: string[]): Promise<number> {
  const total = Number(mb) * 1048576;
  const data = new Uint8Array(total);
  for (let i = 0; i < total; i++) data[i] = (i * 131 + (i >> 12)) & 255;
  const fd = await socket(AF_INET, SOCK_STREAM);
  for (let i = 0;; i++) {
    try {
      await connect(fd, inet(host, Number(port)));
      break;
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  let sent = 0;
  while (sent < total) sent += await send(fd, data.subarray(sent, Math.min(total, sent + 65536)));
  await shutdown(fd, SHUT_WR);
  const theirs = new TextDecoder().decode(await recv(fd, 100));
  await close(fd);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  const mine = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  print(`sent ${total} sha256 ${mine} peer ${theirs}`);
  return mine === theirs ? 0 : 1;
}
