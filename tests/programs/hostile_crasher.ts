/**
 * Test program for crash cycles: opens local and inet sockets, passes handles, connects, and
 * dies at step STEP (0-7): ACTION `throw` throws there; ACTION `block` prints "at STEP" and
 * blocks so the test can kill it; ACTION `count` only prints the netstack's socket count
 * ("sockets N") and exits; ACTION `cycle` sends a socketpair end into its own receive queue
 * and exits (an SCM_RIGHTS reference cycle); ACTION `spin` creates and closes inet sockets
 * (STEP `tcp` or `udp`) in 8 loops until killed. PORT is a free TCP/UDP port for this cycle.
 */
import {
  accept,
  AF_INET,
  AF_LOCAL,
  bind,
  close,
  connect,
  inet,
  listen,
  local,
  netctl,
  print,
  recv,
  send,
  sendmsg,
  SOCK_DGRAM,
  SOCK_STREAM,
  socket,
  socketpair,
} from "../../libc/mod.ts";

export default async function main([action, stepArg, portArg]: string[]): Promise<number> {
  if (action === "cycle") {
    // A socket inside its own receive queue: only a garbage collector can free it.
    const [a, b] = await socketpair(AF_LOCAL, SOCK_STREAM);
    await sendmsg(a, new Uint8Array(1), { rights: [b] });
    return 0;
  }
  if (action === "spin") {
    // Sockets created and closed as fast as possible, so a kill lands mid-socket() often.
    print("spinning");
    const loop = async () => {
      for (;;) await close(await socket(AF_INET, stepArg === "tcp" ? SOCK_STREAM : SOCK_DGRAM));
    };
    await Promise.all(Array.from({ length: 8 }, loop));
  }
  if (action === "count") {
    const list = await netctl({ op: "sockets" }) as Array<Record<string, unknown>>;
    print(`sockets ${list.length}`);
    // Ports processes had to the netstack and no longer have are closed there too.
    const { counters } = await netctl({ op: "stats" }) as { counters: Record<string, number> };
    const open = (counters["direct ports: opened"] ?? 0) - (counters["direct ports: closed"] ?? 0);
    print(`direct ports ${open}`);
    for (const s of list) print(`${s.proto} ${s.local} ${s.remote} ${s.state}`);
    return 0;
  }
  const stop = Number(stepArg);
  const port = Number(portArg);
  const [x] = await socketpair(AF_LOCAL, SOCK_STREAM);
  const steps: Array<() => Promise<unknown>> = [
    async () => bind(await socket(AF_INET, SOCK_DGRAM), inet("127.0.0.1", port)),
    async () => {
      const l = await socket(AF_INET, SOCK_STREAM);
      await bind(l, inet("127.0.0.1", port));
      await listen(l);
      const c = await socket(AF_INET, SOCK_STREAM);
      const accepted = accept(l);
      await connect(c, inet("127.0.0.1", port));
      const { fd } = await accepted;
      await send(c, "hello");
      await recv(fd);
      await send(fd, "unread reply");
      return c;
    },
    // x travels into y's queue: no cycle (closing y frees x). See `cycle` for the other case.
    () => sendmsg(x, new TextEncoder().encode("fd"), { rights: [x] }),
    async () => bind(await socket(AF_LOCAL, SOCK_DGRAM), local(`/run/crash${port}`)),
    async () => {
      const [p, q] = await socketpair(AF_LOCAL, SOCK_DGRAM);
      await send(p, "queued");
      return sendmsg(q, new Uint8Array(1), { rights: [q, x] });
    },
    async () => connect(await socket(AF_INET, SOCK_STREAM), inet("127.0.0.1", 1)).catch(() => 0),
    async () => send(await socket(AF_INET, SOCK_DGRAM), "x").catch(() => 0),
    () => Promise.resolve(),
  ];
  for (let i = 0; i < steps.length; i++) {
    if (i === stop) {
      if (action === "throw") throw new Error(`crash at step ${i}`);
      const [w] = await socketpair(AF_LOCAL, SOCK_STREAM);
      print(`at ${i}`);
      await recv(w);
    }
    await steps[i]();
  }
  return 0;
}
