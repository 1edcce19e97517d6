/** A TCP connection inside one process over loopback, for test programs. */
import {
  accept,
  AF_INET,
  AF_INET6,
  bind,
  connect,
  inet,
  inet6,
  listen,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";

/** Both ends of a loopback TCP connection on `port` (over ::1 with `six`) and its listener. */
export async function loopbackPair(
  port: number,
  six = false,
): Promise<{ client: number; server: number; listener: number }> {
  const family = six ? AF_INET6 : AF_INET;
  const addr = six ? inet6("::1", port) : inet("127.0.0.1", port);
  const listener = await socket(family, SOCK_STREAM);
  await bind(listener, addr);
  await listen(listener, 4);
  const client = await socket(family, SOCK_STREAM);
  const accepted = accept(listener);
  await connect(client, addr);
  return { client, server: (await accepted).fd, listener };
}
