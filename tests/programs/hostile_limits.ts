/**
 * Test program: pushes one kernel limit until it holds, prints what it saw, then keeps
 * everything open (blocked in recv) until killed. MODE is one of:
 * - `fds`: open sockets until EMFILE; prints "fds N EMFILE".
 * - `dgram PATH`: bind an AF_LOCAL datagram socket at PATH and send to it without reading
 *   until EAGAIN; prints "dgram N EAGAIN".
 * - `rights`: send SCM_RIGHTS messages of 253 handles, then of one, over a socketpair without
 *   receiving until ENOBUFS; prints "rights N ENOBUFS".
 * Any other errno ends the flood with "MODE N CODE"; then "holding" is printed.
 */
import {
  AF_LOCAL,
  bind,
  ErrnoError,
  local,
  print,
  recv,
  sendmsg,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  socket,
  socketpair,
} from "../../libc/mod.ts";

async function flood(step: () => Promise<number>): Promise<[number, string]> {
  let n = 0;
  for (;;) {
    try {
      n += await step();
    } catch (err) {
      if (err instanceof ErrnoError) return [n, err.code];
      throw err;
    }
    if (n > 1_000_000) return [n, "none"];
  }
}

export default async function main([mode, path]: string[]): Promise<number> {
  const [hold] = await socketpair(AF_LOCAL, SOCK_STREAM);
  let result: [number, string];
  switch (mode) {
    case "fds":
      result = await flood(async () => (await socket(AF_LOCAL, SOCK_DGRAM), 1));
      break;
    case "dgram": {
      const rx = await socket(AF_LOCAL, SOCK_DGRAM);
      await bind(rx, local(path));
      const tx = await socket(AF_LOCAL, SOCK_DGRAM | SOCK_NONBLOCK);
      const data = new Uint8Array(16);
      result = await flood(async () => (await sendmsg(tx, data, { addr: local(path) }), 1));
      break;
    }
    case "rights": {
      const [a] = await socketpair(AF_LOCAL, SOCK_STREAM | SOCK_NONBLOCK);
      const rights = new Array(253).fill(hold);
      const one = new Uint8Array(1);
      const [big] = await flood(async () => (await sendmsg(a, one, { rights }), rights.length));
      // Then single handles, to fill the cap exactly.
      const [small, code] = await flood(async () => (await sendmsg(a, one, { rights: [hold] }), 1));
      result = [big + small, code];
      break;
    }
    default:
      print(`unknown mode ${mode}`);
      return 2;
  }
  print(`${mode} ${result[0]} ${result[1]}`);
  print("holding");
  await recv(hold);
  return 0;
}
