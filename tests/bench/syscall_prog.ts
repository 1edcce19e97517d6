/**
 * Benchmark program (runs as a Serin process): times N getsockopt round trips on an AF_LOCAL
 * socket (served by the kernel) and N on a UDP socket (served by the netstack over the process's
 * direct port); prints both lists of times as one JSON object.
 */
import {
  AF_INET,
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
  const time = async (fd: number) => {
    for (let i = 0; i < 2000; i++) await getsockopt(fd, SOL_SOCKET, SO_TYPE); // warm-up
    const times = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await getsockopt(fd, SOL_SOCKET, SO_TYPE);
      times[i] = performance.now() - t;
    }
    return Array.from(times);
  };
  const kernel = await time(await socket(AF_LOCAL, SOCK_DGRAM));
  const direct = await time(await socket(AF_INET, SOCK_DGRAM));
  print(JSON.stringify({ kernel, direct }));
  return 0;
}
