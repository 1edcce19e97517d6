/** Test program: accepts one TCP connection on PORT, reads to EOF, replies with the SHA-256 hex. */
import {
  accept,
  AF_INET,
  bind,
  close,
  inet,
  listen,
  print,
  recv,
  send,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";

export default async function main([port]: string[]): Promise<number> {
  const l = await socket(AF_INET, SOCK_STREAM);
  await bind(l, inet("0.0.0.0", Number(port)));
  await listen(l, 4);
  print("ready");
  const c = await accept(l);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const d = await recv(c.fd, 262144);
    if (d.length === 0) break;
    parts.push(d);
    total += d.length;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  await send(c.fd, hex);
  await close(c.fd);
  await close(l);
  print(`received ${total} sha256 ${hex}`);
  return 0;
}
