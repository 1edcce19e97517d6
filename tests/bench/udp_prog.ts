/**
 * UDP blast benchmark program (runs as a Serin process), for frames per second through a NIC.
 * Modes, each printing one JSON line at the end:
 *   count PORT IDLE_MS          count datagrams until none came for IDLE_MS after the first:
 *                               {frames, bytes, ms} (first → last datagram; prints "listening")
 *   blast HOST PORT MS LEN WIN  send LEN-byte datagrams for MS milliseconds with up to WIN sends
 *                               in flight: {sent, failed, ms}
 *   ifstats IFACE               the interface's counters: {rxPackets, rxBytes, txPackets, …}
 */
import {
  AF_INET,
  bind,
  close,
  type IfaceInfo,
  inet,
  netctl,
  poll,
  POLLIN,
  recvmsg,
  sendto,
  SOCK_DGRAM,
  socket,
} from "../../libc/mod.ts";

async function count(port: number, idleMs: number): Promise<number> {
  const fd = await socket(AF_INET, SOCK_DGRAM);
  await bind(fd, inet("0.0.0.0", port));
  console.log("listening");
  let frames = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  for (;;) {
    const p = await poll([{ fd, events: POLLIN }], frames === 0 ? -1 : idleMs);
    if (p.count === 0) break;
    const r = await recvmsg(fd, 2048);
    last = performance.now();
    if (frames === 0) first = last;
    frames++;
    bytes += r.data.length;
  }
  await close(fd);
  console.log(JSON.stringify({ frames, bytes, ms: last - first }));
  return 0;
}

async function blast(host: string, port: number, ms: number, len: number, win: number) {
  const fd = await socket(AF_INET, SOCK_DGRAM);
  const addr = inet(host, port);
  const data = new Uint8Array(len).fill(0x42);
  let sent = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() - t0 < ms) {
      try {
        await sendto(fd, data, addr);
        sent++;
      } catch {
        failed++; // ENOBUFS and the like: the frame never left
      }
    }
  };
  await Promise.all(Array.from({ length: win }, worker));
  const elapsed = performance.now() - t0;
  await close(fd);
  console.log(JSON.stringify({ sent, failed, ms: elapsed }));
  return 0;
}

async function ifstats(name: string): Promise<number> {
  const ifaces = await netctl({ op: "ifaces" }) as IfaceInfo[];
  const iface = ifaces.find((i) => i.name === name);
  if (!iface) {
    console.error(`udp_prog: no interface ${name}`);
    return 1;
  }
  console.log(JSON.stringify(iface.stats));
  return 0;
}

/** Run the mode named by the first argument. */
export default async function main(args: string[]): Promise<number> {
  const [mode, ...rest] = args;
  const num = (i: number) => Number(rest[i]);
  switch (mode) {
    case "count":
      return await count(num(0), num(1));
    case "blast":
      return await blast(rest[0], num(1), num(2), num(3), num(4));
    case "ifstats":
      return await ifstats(rest[0]);
    default:
      console.error(`udp_prog: unknown mode ${mode}`);
      return 2;
  }
}
