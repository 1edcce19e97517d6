/**
 * poll() over any mix of fds: local sockets are checked in the kernel, INET sockets are asked
 * of their netstack (which can itself wait); whichever side becomes ready first ends the wait.
 */
import * as abi from "./abi.ts";
import type { NetRequest, PollFd } from "./bus/messages.ts";
import type { RpcPeer } from "./bus/rpc.ts";
import type { Kernel } from "./kernel.ts";
import type { Process } from "./process.ts";
import { waitAny, type WaitQueue } from "./wait_queue.ts";

/** poll()'s answer: revents per entry, in order, and how many are non-zero. */
export interface PollResult {
  count: number;
  revents: number[];
}

const ALWAYS = abi.POLLERR | abi.POLLHUP | abi.POLLNVAL;

/** Wait until an fd in `fds` is ready, `timeout` ms pass (negative: forever), or abort. */
export async function pollFds(
  k: Kernel,
  proc: Process,
  fds: PollFd[],
  timeout: number,
  signal: AbortSignal,
): Promise<PollResult> {
  const deadline = timeout < 0 ? undefined : k.clock.now() + timeout;
  for (;;) {
    const left = deadline === undefined ? undefined : Math.max(0, deadline - k.clock.now());
    const now = await sweep(proc, fds, 0);
    if (now.count > 0 || left === 0 || signal.aborted) return now;
    // Sleep: local wait queues plus a blocking poll at each netstack involved.
    const queues: WaitQueue[] = [];
    const nets = new Map<RpcPeer, PollFd[]>();
    for (const p of fds) {
      const h = proc.fds.peek(p.fd);
      if (!h) continue;
      if (h.kind === "inet") {
        const list = nets.get(h.net) ?? [];
        list.push({ fd: h.sid, events: p.events });
        nets.set(h.net, list);
      } else queues.push(h.wq);
    }
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const waits: Promise<unknown>[] = [waitAny(queues, k.clock, left, ac.signal)];
    for (const [net, list] of nets) {
      waits.push(
        net.call({ op: "poll", fds: list, timeout: left ?? -1 } satisfies NetRequest, {
          signal: ac.signal,
        }).catch(() => {}),
      );
    }
    await Promise.race(waits);
    ac.abort();
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) return { count: 0, revents: fds.map(() => 0) };
  }
}

async function sweep(proc: Process, fds: PollFd[], timeout: number): Promise<PollResult> {
  const revents = fds.map(() => 0);
  const nets = new Map<RpcPeer, number[]>();
  fds.forEach((p, i) => {
    const h = proc.fds.peek(p.fd);
    if (!h) {
      revents[i] = abi.POLLNVAL;
      return;
    }
    switch (h.kind) {
      case "stdio":
        revents[i] = (h.stream === 0 ? 0 : abi.POLLOUT) & (p.events | ALWAYS);
        return;
      case "local":
        revents[i] = h.readiness() & (p.events | ALWAYS);
        return;
      case "inet": {
        const list = nets.get(h.net) ?? [];
        list.push(i);
        nets.set(h.net, list);
        return;
      }
    }
  });
  for (const [net, idx] of nets) {
    const list = idx.map((i) => {
      const h = proc.fds.peek(fds[i].fd)!;
      return { fd: (h as { sid: number }).sid, events: fds[i].events };
    });
    try {
      const r = await net.call({ op: "poll", fds: list, timeout } satisfies NetRequest) as number[];
      idx.forEach((i, j) => (revents[i] = (r[j] ?? 0) & (fds[i].events | ALWAYS)));
    } catch {
      idx.forEach((i) => (revents[i] = abi.POLLERR));
    }
  }
  return { count: revents.filter((r) => r !== 0).length, revents };
}
