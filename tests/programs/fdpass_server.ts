/**
 * Test program for handle passing. `fdpass_server PATH ROLE`: binds PATH, accepts one
 * connection, prints the sender's SO_PEERCRED pid, receives one handle with SCM_RIGHTS and then
 * talks over it: ROLE "speak" sends a greeting, prints the reply and closes; ROLE "answer" replies
 * and waits for EOF.
 */
import {
  accept,
  AF_LOCAL,
  bind,
  close,
  getpeercred,
  getpid,
  listen,
  local,
  print,
  recv,
  recvmsg,
  send,
  SOCK_STREAM,
  socket,
} from "../../libc/mod.ts";

const text = new TextDecoder();

export default async function main([path, role]: string[]): Promise<number> {
  const fd = await socket(AF_LOCAL, SOCK_STREAM);
  await bind(fd, local(path));
  await listen(fd, 4);
  print("ready");
  const conn = await accept(fd);
  const cred = await getpeercred(conn.fd);
  print(`peer pid ${cred.pid}`);
  const msg = await recvmsg(conn.fd, 100);
  const passed = msg.rights?.[0];
  if (passed === undefined) throw new Error("no handle received");
  print(`got handle as fd ${passed} with "${text.decode(msg.data)}"`);
  await close(conn.fd);
  await close(fd);
  const me = await getpid();
  if (role === "speak") {
    await send(passed, `hello from ${me}`);
    print(`reply: ${text.decode(await recv(passed, 100))}`);
  } else {
    const got = text.decode(await recv(passed, 100));
    await send(passed, `${me} heard "${got}"`);
    print(`answered`);
    print(`eof: ${(await recv(passed, 100)).length === 0}`);
  }
  await close(passed);
  return 0;
}
