/**
 * Interop test program: `oob_probe PORT N` accepts N connections one after another; on each,
 * after 1 s, it tries recv(MSG_OOB), reads the stream without waiting read by read, tries
 * recv(MSG_OOB) again, and prints one JSON line: the results in order, an errno name or the
 * bytes read ("oob:x", "data:abc"). tests/interop/oob_edges_test.ts runs its Linux twin.
 */
import {
  accept,
  AF_INET,
  bind,
  close,
  ErrnoError,
  inet,
  listen,
  MSG_DONTWAIT,
  MSG_OOB,
  print,
  recv,
  SOCK_STREAM,
  socket,
} from "../../../libc/mod.ts";

async function attempt(fd: number, flags: number, tag: string): Promise<string> {
  try {
    const d = await recv(fd, 100, flags | MSG_DONTWAIT);
    return `${tag}:${new TextDecoder().decode(d)}`;
  } catch (err) {
    if (err instanceof ErrnoError) return err.code;
    throw err;
  }
}

export default async function main([port, n]: string[]): Promise<number> {
  const lfd = await socket(AF_INET, SOCK_STREAM);
  await bind(lfd, inet("0.0.0.0", Number(port)));
  await listen(lfd, 8);
  print("listening");
  for (let i = 0; i < Number(n); i++) {
    const { fd } = await accept(lfd);
    await new Promise((r) => setTimeout(r, 1000));
    const out = [await attempt(fd, MSG_OOB, "oob")];
    for (let j = 0; j < 8; j++) {
      const r = await attempt(fd, 0, "data");
      out.push(r);
      if (!r.startsWith("data:") || r === "data:") break;
    }
    out.push(await attempt(fd, MSG_OOB, "oob"));
    print(JSON.stringify(out));
    await close(fd);
  }
  await close(lfd);
  return 0;
}
