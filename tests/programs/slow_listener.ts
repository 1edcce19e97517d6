/**
 * Test program: a service slow to come up. Waits DELAY ms, then listens on TCP PORT, prints
 * "listening on PORT" and accepts (and closes) connections until killed.
 */
import {
  accept,
  AF_INET,
  bind,
  close,
  inet,
  listen,
  print,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";

export default async function main([port, delay]: string[]): Promise<number> {
  await new Promise((r) => setTimeout(r, Number(delay)));
  const fd = await socket(AF_INET, SOCK_STREAM);
  await bind(fd, inet("0.0.0.0", Number(port)));
  await listen(fd, 16);
  print(`listening on ${port}`);
  for (;;) await close((await accept(fd)).fd);
}
