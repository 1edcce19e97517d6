/**
 * Test program: prints who it runs as and what that lets it do, one line:
 * "uid U caps C raw R bind80 B" (C comma-separated or "-"; R and B "ok" or an errno code).
 * With `spawn PROG ARGS...`, it then runs PROG as its child and waits for it.
 */
import {
  AF_INET,
  bind,
  close,
  ErrnoError,
  getinfo,
  inet,
  IPPROTO_ICMP,
  print,
  SOCK_RAW,
  SOCK_STREAM,
  socket,
  spawn,
  waitpid,
} from "../../../libc/mod.ts";

const code = (err: unknown) => err instanceof ErrnoError ? err.code : String(err);

export default async function main([mode, ...rest]: string[]): Promise<number> {
  const me = await getinfo();
  const raw = await socket(AF_INET, SOCK_RAW, IPPROTO_ICMP).then(close).then(() => "ok", code);
  const fd = await socket(AF_INET, SOCK_STREAM);
  const bind80 = await bind(fd, inet("127.0.0.1", 80)).then(() => "ok", code);
  await close(fd);
  print(`uid ${me.uid} caps ${me.caps.join(",") || "-"} raw ${raw} bind80 ${bind80}`);
  if (mode === "spawn") return await waitpid(await spawn(rest[0], rest.slice(1)));
  return 0;
}
