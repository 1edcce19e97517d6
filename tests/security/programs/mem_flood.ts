/**
 * Hostile program: pins netstack memory with loopback TCP connections whose data is never read.
 * Opens CONNS connections to itself (asking for 16 MiB SO_SNDBUF/SO_RCVBUF on every end), floods
 * sends of 64 KiB on each (MSG_DONTWAIT) until each one refuses, tries a few more sockets, prints
 * what it saw, then keeps trying (a send every 10 ms, connections in turn) until killed.
 *
 * Prints `flood SENT BYTES CODE=N ...` (the errnos that stopped the sends), `socket CODE` (a new
 * socket once the flood stopped: ENOMEM past the budget) and `holding`.
 */
import {
  accept,
  AF_INET,
  bind,
  connect,
  ErrnoError,
  getsockname,
  inet,
  listen,
  MSG_DONTWAIT,
  print,
  send,
  setsockopt,
  SO_RCVBUF,
  SO_SNDBUF,
  SOCK_STREAM,
  socket,
  SOL_SOCKET,
} from "../../../libc/mod.ts";

const BIG = 16 << 20;

async function bigBuffers(fd: number): Promise<void> {
  await setsockopt(fd, SOL_SOCKET, SO_SNDBUF, BIG);
  await setsockopt(fd, SOL_SOCKET, SO_RCVBUF, BIG);
}

export default async function main([conns = "60"]: string[]): Promise<number> {
  const listener = await socket(AF_INET, SOCK_STREAM);
  await bigBuffers(listener); // accepted ends inherit them
  await bind(listener, inet("127.0.0.1", 0));
  await listen(listener, 128);
  const addr = await getsockname(listener);
  const clients: number[] = [];
  const servers: number[] = [];
  for (let i = 0; i < Number(conns); i++) {
    const c = await socket(AF_INET, SOCK_STREAM);
    await bigBuffers(c);
    const accepted = accept(listener);
    await connect(c, addr);
    clients.push(c);
    servers.push((await accepted).fd);
  }
  const chunk = new Uint8Array(65536);
  const codes = new Map<string, number>();
  let sent = 0;
  const sendSome = async (fd: number): Promise<boolean> => {
    try {
      sent += await send(fd, chunk, MSG_DONTWAIT);
      return true;
    } catch (err) {
      const code = err instanceof ErrnoError ? err.code : String(err);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      return false;
    }
  };
  await Promise.all(clients.map(async (fd) => {
    for (let i = 0; i < 1024 && await sendSome(fd); i++) { /* until refused */ }
  }));
  print(`flood ${sent} ${[...codes].map(([c, n]) => `${c}=${n}`).join(" ")}`);
  let socketCode = "none";
  try {
    // Each is charged a little (2 KiB): enough of them reach the budget if the flood did not.
    for (let i = 0; i < 1024; i++) await socket(AF_INET, SOCK_STREAM);
  } catch (err) {
    socketCode = err instanceof ErrnoError ? err.code : String(err);
  }
  print(`socket ${socketCode}`);
  print("holding");
  // Keep at it: every connection tries again, one send every 10 ms in turn.
  for (let i = 0;; i++) {
    await sendSome(clients[i % clients.length]);
    await new Promise((r) => setTimeout(r, 10));
  }
}
