/**
 * Test program, hostile: sets SO_REUSEADDR and binds a UDP socket to ADDR:PORT beside a service
 * already on that port, then prints each datagram it takes for up to WAIT ms. Prints
 * "bind: CODE" and exits 1 when the bind is refused.
 */
import {
  AF_INET,
  AF_INET6,
  bind,
  close,
  ErrnoError,
  inet,
  inet6,
  poll,
  POLLIN,
  print,
  recvfrom,
  setsockopt,
  SO_REUSEADDR,
  SOCK_DGRAM,
  socket,
  SOL_SOCKET,
} from "../../libc/mod.ts";

export default async function main([addr, port, wait]: string[]): Promise<number> {
  const v6 = addr.includes(":");
  const fd = await socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM);
  await setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  try {
    await bind(fd, v6 ? inet6(addr, Number(port)) : inet(addr, Number(port)));
  } catch (err) {
    if (!(err instanceof ErrnoError)) throw err;
    print(`bind: ${err.code}`);
    return 1;
  }
  print("bound");
  const deadline = Date.now() + Number(wait ?? 1000);
  while (Date.now() < deadline) {
    const r = await poll([{ fd, events: POLLIN }], Math.max(0, deadline - Date.now()));
    if (r.count === 0) break;
    print(`took: ${new TextDecoder().decode((await recvfrom(fd, 1500)).data)}`);
  }
  await close(fd);
  return 0;
}
