/**
 * A well-behaved program for the attack suite: sends N bytes (default 1 MB) to an echo service
 * while reading them back, checks every byte, and prints `echo ok BYTES MS`.
 */
import {
  AF_INET,
  close,
  connect,
  inet,
  recv,
  send,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

export default async function main(args: string[]): Promise<number> {
  const [addr = "10.0.0.2", port = "7", size = String(1 << 20)] = args;
  const n = Number(size);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 7 + (i >> 8)) & 255;
  const t0 = performance.now();
  const fd = await socket(AF_INET, SOCK_STREAM);
  await connect(fd, inet(addr, Number(port)));
  const sending = (async () => {
    for (let off = 0; off < n; off += 65536) await send(fd, data.subarray(off, off + 65536));
  })();
  let got = 0;
  while (got < n) {
    const chunk = await recv(fd, 65536);
    if (chunk.length === 0) break;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== data[got + i]) {
        console.error(`echo: byte ${got + i} differs`);
        return 1;
      }
    }
    got += chunk.length;
  }
  await sending;
  await close(fd);
  if (got !== n) {
    console.error(`echo: got ${got} of ${n} bytes`);
    return 1;
  }
  console.log(`echo ok ${n} ${(performance.now() - t0).toFixed(1)}`);
  return 0;
}
