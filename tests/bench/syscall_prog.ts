/** Benchmark program (runs as a Serin process): times N getsockopt round trips. */
import {
  AF_LOCAL,
  getsockopt,
  print,
  SO_TYPE,
  SOCK_DGRAM,
  socket,
  SOL_SOCKET,
} from "../../libc/mod.ts";

export default async function main([count]: string[]): Promise<number> {
  const n = Number(count ?? 20000);
  const fd = await socket(AF_LOCAL, SOCK_DGRAM);
  for (let i = 0; i < 2000; i++) await getsockopt(fd, SOL_SOCKET, SO_TYPE); // warm-up
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await getsockopt(fd, SOL_SOCKET, SO_TYPE);
    times[i] = performance.now() - t;
  }
  print(JSON.stringify(Array.from(times)));
  return 0;
}
