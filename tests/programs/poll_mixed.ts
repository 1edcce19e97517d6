/**
 * Test program: poll() over a local socketpair end and an INET UDP socket together: first a
 * timeout with nothing ready, then each becoming readable; prints one line per step.
 */
import {
  AF_INET,
  AF_LOCAL,
  bind,
  getsockname,
  inet,
  poll,
  POLLIN,
  print,
  send,
  sendto,
  SOCK_DGRAM,
  SOCK_STREAM,
  socket,
  socketpair,
} from "../../libc/mod.ts";

export default async function main(): Promise<number> {
  const [a, b] = await socketpair(AF_LOCAL, SOCK_STREAM);
  const u = await socket(AF_INET, SOCK_DGRAM);
  await bind(u, inet("127.0.0.1", 0));
  const me = await getsockname(u);
  const set = [{ fd: b, events: POLLIN }, { fd: u, events: POLLIN }];
  const t0 = performance.now();
  const idle = await poll(set, 80);
  print(`timeout: count ${idle.count} after ${performance.now() - t0 >= 75 ? ">=" : "<"}75ms`);
  setTimeout(() => sendto(u, new TextEncoder().encode("x"), me), 30);
  const r1 = await poll(set, 2000);
  print(`udp: count ${r1.count} revents ${r1.revents.join(",")}`);
  await send(a, "y");
  const r2 = await poll([{ fd: b, events: POLLIN }, { fd: 999, events: POLLIN }], 0);
  print(`local: count ${r2.count} revents ${r2.revents.join(",")}`);
  return 0;
}
