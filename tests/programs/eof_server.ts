/** Test program: binds PATH, accepts one connection and prints everything until EOF or error. */
import {
  accept,
  AF_LOCAL,
  bind,
  ErrnoError,
  listen,
  local,
  print,
  recv,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";

export default async function main([path]: string[]): Promise<number> {
  const fd = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(fd, local(path));
  await listen(fd);
  print("ready");
  const c = await accept(fd);
  const dec = new TextDecoder();
  for (;;) {
    try {
      const d = await recv(c.fd, 1000);
      if (d.length === 0) {
        print("EOF");
        return 0;
      }
      print(`data: ${dec.decode(d)}`);
    } catch (err) {
      print(`error: ${(err as ErrnoError).code}`);
      return 0;
    }
  }
}
