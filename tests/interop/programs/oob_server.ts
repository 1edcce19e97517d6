/**
 * Interop test program: `oob_server PORT` accepts one TCP connection, waits for POLLPRI, reads
 * the stream up to the urgent mark, the out-of-band byte with MSG_OOB, then the rest to EOF,
 * and prints {"before","oob","after"} as JSON.
 */
import {
  accept,
  AF_INET,
  bind,
  close,
  inet,
  listen,
  MSG_OOB,
  poll,
  POLLPRI,
  print,
  recv,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

export default async function main([port]: string[]): Promise<number> {
  const dec = new TextDecoder();
  const lfd = await socket(AF_INET, SOCK_STREAM);
  await bind(lfd, inet("0.0.0.0", Number(port)));
  await listen(lfd, 4);
  print(`listening on ${port}`);
  const { fd } = await accept(lfd);
  await close(lfd);
  const p = await poll([{ fd, events: POLLPRI }], 10_000);
  if (!(p.revents[0] & POLLPRI)) {
    print("no POLLPRI");
    return 1;
  }
  const before = dec.decode(await recv(fd, 1000)); // stops at the mark
  const oob = dec.decode(await recv(fd, 1, MSG_OOB));
  let after = "";
  for (;;) {
    const d = await recv(fd, 1000);
    if (d.length === 0) break;
    after += dec.decode(d);
  }
  await close(fd);
  print(JSON.stringify({ before, oob, after }));
  return 0;
}
