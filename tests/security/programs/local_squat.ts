/**
 * Hostile test program: take over a root service's AF_LOCAL path, `local_squat PATH`. Unlink
 * the path, bind a socket of its own there and listen; any root client that connects would
 * then talk to the squatter, credentials and all. Prints "unlink CODE" and "bind CODE" (OK when
 * the step worked); if the bind worked, waits for one client and prints "stole from uid U: DATA".
 */
import {
  accept,
  AF_LOCAL,
  bind,
  getpeercred,
  listen,
  local,
  print,
  recv,
  SOCK_STREAM,
  socket,
  unlink,
} from "../../../libc/mod.ts";
import { attempt } from "./_attempt.ts";

export default async function main([path]: string[]): Promise<number> {
  await attempt("unlink", () => unlink(path));
  const fd = await socket(AF_LOCAL, SOCK_STREAM);
  if (!await attempt("bind", () => bind(fd, local(path)))) return 0;
  await listen(fd, 16);
  print("listening");
  const c = await accept(fd);
  const data = new TextDecoder().decode(await recv(c.fd, 1000));
  print(`stole from uid ${(await getpeercred(c.fd)).uid}: ${data}`);
  return 0;
}
