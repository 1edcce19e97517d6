/**
 * poll() over any mix of fds: local sockets are checked in the kernel, INET sockets are asked
 * of their netstack (which can itself wait); whichever side becomes ready first ends the wait.
 *
 * Each fd is checked and waited on once however many entries name it (kernel/poll_list.ts), and
 * a local socket's wake reads its readiness once for all the calls waiting on it
 * ({@link waitReady}). A call takes at most RLIMIT_NOFILE entries (EINVAL beyond, as Linux) and is
 * charged to its process's kernel memory while it waits (ENOMEM when that does not fit).
 */
import * as abi from "./abi.ts";
import type { NetRequest } from "./bus/messages.ts";
import type { RpcPeer } from "./bus/rpc.ts";
import { ErrnoError } from "./errno.ts";
import type { Handle } from "./handles.ts";
import type { Kernel } from "./kernel.ts";
import { PollList } from "./poll_list.ts";
import type { Process } from "./process.ts";
import { type Pollable, waitReady } from "./wait_queue.ts";

/** poll()'s answer: revents per entry, in order, and how many are non-zero. */
export interface PollResult {
  count: number;
  revents: number[];
}

/** The distinct INET fds of a call at one netstack: their socket ids and masks, and slots. */
interface NetGroup {
  fds: { fd: number; events: number }[];
  slots: number[];
}

/** Wait until an fd in `fds` is ready, `timeout` ms pass (negative: forever), or abort. */
export async function pollFds(
  k: Kernel,
  proc: Process,
  fds: { fd: number; events: number }[],
  timeout: number,
  signal: AbortSignal,
): Promise<PollResult> {
  const list = new PollList(fds);
  const bytes = list.bytes;
  try {
    proc.charge(bytes, "poll");
  } catch {
    throw new ErrnoError("ENOMEM", `Cannot poll: process ${proc.pid} is over its memory budget`);
  }
  try {
    return await pollList(k, proc, list, timeout, signal);
  } finally {
    proc.uncharge(bytes);
  }
}

async function pollList(
  k: Kernel,
  proc: Process,
  list: PollList,
  timeout: number,
  signal: AbortSignal,
): Promise<PollResult> {
  const deadline = timeout < 0 ? undefined : k.clock.now() + timeout;
  const done = (perFd: number[]) => {
    const revents = list.revents(perFd);
    return { count: revents.filter((r) => r !== 0).length, revents };
  };
  for (;;) {
    const left = deadline === undefined ? undefined : Math.max(0, deadline - k.clock.now());
    const { perFd, local, nets } = sweepLocal(proc, list);
    if (nets.size > 0) await sweepNets(proc, nets, perFd, 0);
    if (perFd.some((r) => r !== 0) || left === 0 || signal.aborted) return done(perFd);
    // Sleep: local sockets once each, plus a blocking poll at each netstack involved.
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const waits: Promise<unknown>[] = [waitReady(local, k.clock, left, ac.signal)];
    for (const [net, g] of nets) {
      const req: NetRequest = { op: "poll", fds: g.fds, timeout: left ?? -1, pid: proc.pid };
      waits.push(net.call(req, { signal: ac.signal }).catch(() => {}));
    }
    await Promise.race(waits);
    ac.abort();
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) return { count: 0, revents: new Array<number>(list.length).fill(0) };
  }
}

/**
 * Readiness of each distinct fd the kernel serves (POLLNVAL for closed ones), the local ones to
 * wait on, and the INET ones grouped by netstack.
 */
function sweepLocal(proc: Process, list: PollList) {
  const perFd = new Array<number>(list.ids.length).fill(0);
  const local: { target: Pollable; mask: number }[] = [];
  const nets = new Map<RpcPeer, NetGroup>();
  list.ids.forEach((fd, j) => {
    const h: Handle | undefined = proc.fds.peek(fd);
    const mask = list.masks[j];
    if (!h) {
      perFd[j] = abi.POLLNVAL;
      return;
    }
    switch (h.kind) {
      case "stdio":
        perFd[j] = (h.stream === 0 ? 0 : abi.POLLOUT) & mask;
        return;
      case "local":
        perFd[j] = h.readiness() & mask;
        local.push({ target: h, mask });
        return;
      case "inet": {
        let g = nets.get(h.net);
        if (!g) nets.set(h.net, g = { fds: [], slots: [] });
        g.fds.push({ fd: h.sid, events: mask });
        g.slots.push(j);
        return;
      }
    }
  });
  return { perFd, local, nets };
}

/** Ask each netstack for its fds' readiness now (`timeout` 0), into `perFd`. */
async function sweepNets(
  proc: Process,
  nets: Map<RpcPeer, NetGroup>,
  perFd: number[],
  timeout: number,
): Promise<void> {
  await Promise.all([...nets].map(async ([net, g]) => {
    try {
      const req: NetRequest = { op: "poll", fds: g.fds, timeout, pid: proc.pid };
      const r = await net.call(req) as number[];
      g.slots.forEach((j, i) => (perFd[j] = r[i] ?? 0));
    } catch {
      g.slots.forEach((j) => (perFd[j] = abi.POLLERR));
    }
  }));
}
