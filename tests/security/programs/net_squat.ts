/**
 * Hostile test program: take TCP ports before a root service does, with SO_REUSEADDR and
 * SO_REUSEPORT set (the service sets SO_REUSEADDR too, as httpd does). ADDR is an IPv4 or IPv6
 * address (`0.0.0.0`, `10.0.0.1`, `::`).
 * - `net_squat first ADDR PORT [ADDR PORT…]`: bind and listen on each at once.
 * - `net_squat late ADDR PORT`: bind at once, listen only once someone else answers on the
 *   port (the squatter hopes to share the port with a listener already there).
 * Prints "bind ADDR PORT CODE" and "listen ADDR PORT CODE" (OK when the step worked), then
 * serves: a client it gets is answered "HTTP/1.0 200 OK" with body "squatted", and
 * "stole: LINE" is printed with its request line.
 *
 * `net_squat get ADDR PORT COUNT` is the client (run as root): prints the first line of the
 * body that each of COUNT GET / requests to ADDR:PORT brings back, as "body: LINE".
 */
import {
  accept,
  AF_INET,
  AF_INET6,
  bind,
  close,
  connect,
  inet,
  inet6,
  listen,
  print,
  recv,
  send,
  setsockopt,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_STREAM,
  socket,
  SOL_SOCKET,
} from "../../../libc/mod.ts";
import { attempt } from "./_attempt.ts";

const addrOf = (a: string, port: number) => a.includes(":") ? inet6(a, port) : inet(a, port);

/** Whether something answers a connection to 127.0.0.1:port. */
async function answered(port: number): Promise<boolean> {
  const fd = await socket(AF_INET, SOCK_STREAM);
  try {
    await connect(fd, inet("127.0.0.1", port));
    return true;
  } catch {
    return false;
  } finally {
    await close(fd);
  }
}

async function get(addr: string, port: number): Promise<void> {
  const fd = await socket(addr.includes(":") ? AF_INET6 : AF_INET, SOCK_STREAM);
  await connect(fd, addrOf(addr, port));
  await send(fd, "GET / HTTP/1.0\r\n\r\n");
  let text = "";
  for (;;) {
    const d = await recv(fd, 65536);
    if (d.length === 0) break;
    text += new TextDecoder().decode(d);
  }
  const body = text.split(/\r?\n\r?\n/)[1] ?? "";
  print(`body: ${body.split("\n")[0]}`);
  await close(fd);
}

/** Bind (and listen, unless `late`) on addr:port; the listening fd, or undefined. */
async function squat(addr: string, port: number, late: boolean): Promise<number | undefined> {
  const fd = await socket(addr.includes(":") ? AF_INET6 : AF_INET, SOCK_STREAM);
  await setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  await setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (!await attempt(`bind ${addr} ${port}`, () => bind(fd, addrOf(addr, port)))) return;
  if (late) {
    while (!await answered(port)) await new Promise((r) => setTimeout(r, 10));
  }
  if (!await attempt(`listen ${addr} ${port}`, () => listen(fd, 16))) return;
  return fd;
}

/** Answer every client of `fd` as if it were the service. */
async function serve(fd: number): Promise<void> {
  for (;;) {
    const c = await accept(fd);
    const line = new TextDecoder().decode(await recv(c.fd, 1000)).split("\r\n")[0];
    print(`stole: ${line}`);
    await send(c.fd, "HTTP/1.0 200 OK\r\n\r\nsquatted\n");
    await close(c.fd);
  }
}

export default async function main([mode, ...args]: string[]): Promise<number> {
  if (mode === "get") {
    for (let i = 0; i < Number(args[2] ?? 1); i++) await get(args[0], Number(args[1]));
    return 0;
  }
  const fds: number[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) {
    const fd = await squat(args[i], Number(args[i + 1]), mode === "late");
    if (fd !== undefined) fds.push(fd);
  }
  print("squatting");
  await Promise.all(fds.map(serve));
  return 0;
}
