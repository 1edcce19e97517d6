/**
 * Hostile test program: forge bytes in front of a TCP stream, then pass the socket on.
 * - `recv PATH` (the victim, root): serve an AF_LOCAL stream socket at PATH, take one INET
 *   socket passed over it (SCM_RIGHTS), and print what it reads from it: "got: TEXT"
 *   (everything until the peer closes or 2 s pass without bytes).
 * - `attack PATH ADDR PORT` (uid 1000): connect to the echo service at ADDR:PORT, have it send
 *   "peer bytes" back, and push "FORGED " in front of them with the netstack's `unread` call;
 *   prints "unread CODE" (OK when it was taken). Then also tries to give back bytes it has
 *   read (a replay): "replay CODE". Then passes the socket to the victim at PATH and prints
 *   "passed".
 */
import {
  accept,
  AF_INET,
  AF_LOCAL,
  bind,
  close,
  connect,
  inet,
  listen,
  local,
  MSG_PEEK,
  netcall,
  poll,
  POLLIN,
  print,
  recv,
  recvmsg,
  sendmsg,
  SOCK_STREAM,
  socket,
  syscall,
} from "../../../libc/mod.ts";
import { attempt } from "./_attempt.ts";

const te = new TextEncoder();

async function victim(path: string): Promise<number> {
  const l = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(l, local(path));
  await listen(l, 4);
  print("ready");
  const c = await accept(l);
  const m = await recvmsg(c.fd, 100);
  const fd = m.rights?.[0];
  if (fd === undefined) {
    print("no socket passed");
    return 1;
  }
  let text = "";
  while ((await poll([{ fd, events: POLLIN }], 2000)).revents[0] & POLLIN) {
    const d = await recv(fd, 1000);
    if (d.length === 0) break;
    text += new TextDecoder().decode(d);
  }
  print(`got: ${text}`);
  return 0;
}

async function attack(path: string, addr: string, port: number): Promise<number> {
  // A socket whose id on the direct port we know, and whose bytes libc does not buffer.
  const { fd, sid } = await syscall({
    op: "socket",
    domain: AF_INET,
    type: SOCK_STREAM,
    protocol: 0,
    direct: true,
  }) as { fd: number; sid: number };
  await connect(fd, inet(addr, port));
  await netcall({ op: "sendmsg", fd: sid, data: te.encode("old bytes, peer bytes"), flags: 0 });
  // Read the first part; wait until the rest is there (a peek leaves it in the socket).
  const first = await netcall({ op: "recvmsg", fd: sid, len: 11, flags: 0 }) as {
    data: Uint8Array;
  };
  while (
    (await netcall({ op: "recvmsg", fd: sid, len: 100, flags: MSG_PEEK }) as { data: Uint8Array })
      .data.length < 10
  ) {
    await new Promise((r) => setTimeout(r, 5));
  }
  await attempt("unread", () => netcall({ op: "unread", fd: sid, data: te.encode("FORGED ") }));
  // Giving back what it read is allowed only as the tail of its last receive: here, it is.
  // Reading once more first makes the same give-back a replay, refused.
  const last = await netcall({ op: "recvmsg", fd: sid, len: 1, flags: 0 }) as {
    data: Uint8Array;
  };
  await attempt("replay", () => netcall({ op: "unread", fd: sid, data: first.data }));
  await netcall({ op: "unread", fd: sid, data: last.data }); // its own last byte: fine
  const s = await socket(AF_LOCAL, SOCK_STREAM);
  await connect(s, local(path));
  await sendmsg(s, te.encode("x"), { rights: [fd] });
  print("passed");
  await close(s);
  return 0;
}

export default async function main([mode, ...args]: string[]): Promise<number> {
  if (mode === "recv") return await victim(args[0]);
  if (mode === "attack") return await attack(args[0], args[1], Number(args[2]));
  print(`unknown mode ${mode}`);
  return 2;
}
