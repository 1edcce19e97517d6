/** Test program: a UDP echo server on PORT answering COUNT datagrams. */
import {
  AF_INET,
  bind,
  inet,
  print,
  recvfrom,
  sendto,
  SOCK_DGRAM,
  socket,
} from "../../libc/mod.ts";

export default async function main([port, count]: string[]): Promise<number> {
  const fd = await socket(AF_INET, SOCK_DGRAM);
  await bind(fd, inet("0.0.0.0", Number(port)));
  print("ready");
  for (let i = 0; i < Number(count ?? 1); i++) {
    const r = await recvfrom(fd, 65536);
    await sendto(fd, r.data, r.addr!);
  }
  return 0;
}
