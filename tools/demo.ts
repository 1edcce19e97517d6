/**
 * The demonstration `deno task run` plays with no arguments: a LocalSocket handle pass between
 * processes, then a look at the process table. Grows as the network comes up.
 */
import {
  accept,
  AF_LOCAL,
  bind,
  close,
  connect,
  getpid,
  listen,
  local,
  print,
  ps,
  recv,
  recvmsg,
  send,
  sendmsg,
  SOCK_STREAM,
  socket,
  socketpair,
  spawn,
  waitpid,
} from "../libc/mod.ts";

const td = new TextDecoder();

export default async function main(args: string[]): Promise<number> {
  if (args[0] === "receiver") return await receiver(args[1]);
  print("== LocalSocket handle passing ==");
  const path = "/run/demo.sock";
  const child = await spawn("demo", ["receiver", path]);
  let c = -1;
  for (let i = 0; i < 100 && c < 0; i++) {
    const fd = await socket(AF_LOCAL, SOCK_STREAM);
    try {
      await connect(fd, local(path));
      c = fd;
    } catch {
      await close(fd);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const [mine, theirs] = await socketpair(AF_LOCAL, SOCK_STREAM);
  await sendmsg(c, new TextEncoder().encode("here is a socket"), { rights: [theirs] });
  await close(theirs);
  print(`pid ${await getpid()}: passed fd ${theirs} to pid ${child} over ${path}, closed my copy`);
  print(`pid ${await getpid()}: child says "${td.decode(await recv(mine, 200))}"`);
  print("== processes ==");
  for (const p of await ps()) print(`  ${p.pid} ${p.name} fds=${p.fds} ${p.state}`);
  await close(mine);
  return await waitpid(child);
}

async function receiver(path: string): Promise<number> {
  const l = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(l, local(path));
  await listen(l, 1);
  const conn = await accept(l);
  const m = await recvmsg(conn.fd, 200);
  const fd = m.rights![0];
  print(`pid ${await getpid()}: received "${td.decode(m.data)}" and it became my fd ${fd}`);
  await send(fd, `hello over the passed socket from pid ${await getpid()}`);
  return 0;
}
