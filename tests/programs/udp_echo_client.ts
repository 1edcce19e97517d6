/** Test program: sends COUNT datagrams to HOST:PORT and prints each echo (UDP). */
import {
  AF_INET,
  close,
  inet,
  print,
  recvfrom,
  sendto,
  setsockopt,
  SO_RCVTIMEO,
  SOCK_DGRAM,
  socket,
  SOL_SOCKET,
} from "../../libc/mod.ts";

export default async function main([host, port, count]: string[]): Promise<number> {
  const fd = await socket(AF_INET, SOCK_DGRAM);
  await setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 3000);
  for (let i = 0; i < Number(count ?? 1); i++) {
    await sendto(fd, new TextEncoder().encode(`msg ${i}`), inet(host, Number(port)));
    const r = await recvfrom(fd, 1000);
    print(
      `echo from ${r.addr && "addr" in r.addr ? r.addr.addr : "?"}: ${
        new TextDecoder().decode(r.data)
      }`,
    );
  }
  await close(fd);
  return 0;
}
