/**
 * Test program: the root service and its root client that an AF_LOCAL squatter goes after.
 * - `serve PATH`: bind a stream socket at PATH, print "ready", then answer each client's line
 *   with "victim heard LINE" until killed.
 * - `client PATH SECRET`: connect to PATH, send SECRET, print "reply R" and "server uid U"
 *   (SO_PEERCRED of whoever answered).
 */
import {
  accept,
  AF_LOCAL,
  bind,
  close,
  connect,
  getpeercred,
  listen,
  local,
  print,
  recv,
  send,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

const text = new TextDecoder();

export default async function main([mode, path, secret = "secret"]: string[]): Promise<number> {
  const fd = await socket(AF_LOCAL, SOCK_STREAM);
  if (mode === "serve") {
    await bind(fd, local(path));
    await listen(fd, 16);
    print("ready");
    for (;;) {
      const c = await accept(fd);
      const line = text.decode(await recv(c.fd, 1000));
      await send(c.fd, `victim heard ${line}`);
      await close(c.fd);
    }
  }
  if (mode === "client") {
    await connect(fd, local(path));
    await send(fd, secret);
    print(`reply ${text.decode(await recv(fd, 1000))}`);
    print(`server uid ${(await getpeercred(fd)).uid}`);
    await close(fd);
    return 0;
  }
  print("usage: local_victim serve|client PATH [SECRET]");
  return 2;
}
