/**
 * Hostile program: poll amplification. Leaves POLLS poll() calls waiting, each naming one socket
 * ENTRIES times with an event that never comes (POLLPRI), then wakes that socket over and over
 * for MS milliseconds (a byte sent to it and read back, then a 1 ms timer: the test is about what
 * one wake costs, not about a syscall flood). Before the fix every wake re-checked every entry of
 * every call (2000 × 4096 of them) and took seconds (2000 × 1024: 1.8 s); now a wake reads the
 * socket's readiness once and tests one bit per call.
 *
 * Usage: `poll_amplify MODE POLLS ENTRIES MS` with MODE `inet` (a loopback TCP connection, polled
 * on the process's direct port) or `local` (an AF_LOCAL socketpair, polled in the kernel).
 * Prints `einval CODE` (a poll of 1025 entries), `polls N waiting`, then
 * `wakes N avg MS max MS`, and exits 0.
 */
import {
  AF_LOCAL,
  close,
  ErrnoError,
  IPPROTO_TCP,
  poll,
  POLLPRI,
  print,
  recv,
  send,
  setsockopt,
  SOCK_STREAM,
  socketpair,
  TCP_NODELAY,
} from "../../../libc/mod.ts";
import { loopbackPair } from "../../programs/_loopback_pair.ts";

export default async function main(args: string[]): Promise<number> {
  const [mode = "inet", polls = "2000", entries = "1024", ms = "3000"] = args;
  const pair = mode === "local"
    ? await socketpair(AF_LOCAL, SOCK_STREAM).then(([a, b]) => ({ client: a, server: b }))
    : await loopbackPair(40000 + Math.floor(Math.random() * 20000));
  const { client, server } = pair;
  if (mode !== "local") await setsockopt(client, IPPROTO_TCP, TCP_NODELAY, 1); // a wake per byte

  // More entries than RLIMIT_NOFILE: EINVAL, as on Linux.
  try {
    await poll(new Array(1025).fill({ fd: server, events: POLLPRI }), 0);
    print("einval none");
  } catch (err) {
    print(`einval ${err instanceof ErrnoError ? err.code : String(err)}`);
  }

  const waiting: Promise<unknown>[] = [];
  const list = new Array(Number(entries)).fill({ fd: server, events: POLLPRI });
  let refused = 0;
  for (let i = 0; i < Number(polls); i++) {
    waiting.push(poll(list, -1).catch(() => refused++));
  }
  // Let them all arrive and register.
  await new Promise((r) => setTimeout(r, 200));
  print(`polls ${Number(polls) - refused} waiting`);

  const byte = new Uint8Array([1]);
  const times: number[] = [];
  const end = performance.now() + Number(ms);
  while (performance.now() < end) {
    const t0 = performance.now();
    await send(client, byte);
    await recv(server, 1);
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 1));
  }
  const avg = times.reduce((a, b) => a + b, 0) / Math.max(1, times.length);
  print(`wakes ${times.length} avg ${avg.toFixed(2)} max ${Math.max(...times).toFixed(2)}`);
  await close(client);
  await close(server);
  return 0;
}
