/**
 * poll() over this netstack's sockets, for the kernel and for processes' direct calls. Each
 * socket a call names is checked and registered once, whatever the number of entries naming it
 * ({@link PollList}), and a wake of a socket reads its readiness once for every call waiting on
 * it ({@link waitReady}): a wake costs in proportion to the calls waiting, not to their entries.
 */
import { POLLNVAL } from "../../kernel/abi.ts";
import type { Clock } from "../../kernel/clock.ts";
import type { PollList } from "../../kernel/poll_list.ts";
import { waitReady } from "../../kernel/wait_queue.ts";
import type { InetSocket } from "./socket.ts";

/**
 * Wait until a socket in `list` is ready, `timeout` ms pass (negative: forever) or `signal`
 * aborts; revents per entry. `find` gives the socket an id names (undefined: POLLNVAL).
 */
export async function pollSockets(
  find: (sid: number) => InetSocket | undefined,
  clock: Clock,
  list: PollList,
  timeout: number,
  signal: AbortSignal,
): Promise<number[]> {
  const deadline = timeout < 0 ? undefined : clock.now() + timeout;
  const perSocket = new Array<number>(list.ids.length);
  for (;;) {
    const waits: { target: InetSocket; mask: number }[] = [];
    let ready = false;
    list.ids.forEach((sid, j) => {
      const s = find(sid);
      const r = s ? s.readiness() & list.masks[j] : POLLNVAL;
      perSocket[j] = r;
      if (r !== 0) ready = true;
      if (s) waits.push({ target: s, mask: list.masks[j] });
    });
    const left = deadline === undefined ? undefined : Math.max(0, deadline - clock.now());
    if (ready || left === 0 || signal.aborted) return list.revents(perSocket);
    await waitReady(waits, clock, left, signal);
  }
}
