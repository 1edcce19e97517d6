/**
 * The AF_LOCAL state of one host: its path namespace, the accounting of handles in flight and of
 * queued memory, and the collector of sockets only their own queues keep alive.
 */
import type { Clock } from "../clock.ts";
import type { LocalSocket } from "./local_socket.ts";
import { LocalNamespace } from "./namespace.ts";

/** Most handles one process may have in flight (queued in SCM_RIGHTS messages) at once. */
export const MAX_INFLIGHT_PER_PROCESS = 1024;

/**
 * Per-host state shared by local sockets: the path namespace, in-flight handle accounting (per
 * sending process, so one process filling its quota cannot stop another's handle passing), and
 * a collector for sockets kept alive only by messages queued in unreachable sockets (a socket
 * sent into its own receive queue, then closed: Linux's unix_gc).
 */
export class LocalHost {
  readonly ns = new LocalNamespace<LocalSocket>();
  /** Handles currently inside queued SCM_RIGHTS messages, on the whole host. */
  inflight = 0;
  /** Sockets currently open on this host. */
  open = 0;
  /** Bytes charged to senders for messages queued on this host (see queue_memory.ts). */
  memory = 0;
  /** Open sockets, for the cycle collector. */
  readonly sockets = new Set<LocalSocket>();
  /** In-flight handles by sending pid. */
  readonly inflightBy = new Map<number, number>();
  #collecting = false;

  constructor(
    readonly clock: Clock,
    readonly maxInflight = 65536,
    readonly maxInflightPerProcess = MAX_INFLIGHT_PER_PROCESS,
  ) {}

  /** Account `n` (may be negative) in-flight handles to `pid`. */
  charge(pid: number, n: number): void {
    this.inflight += n;
    const v = (this.inflightBy.get(pid) ?? 0) + n;
    if (v <= 0) this.inflightBy.delete(pid);
    else this.inflightBy.set(pid, v);
  }

  /**
   * Free sockets that only queued SCM_RIGHTS messages keep alive and that no fd can reach any
   * more (mark from every socket an fd holds, through the handles queued in it and the
   * connections waiting in its backlog; purge the queues of what is left).
   */
  collect(): void {
    if (this.#collecting || this.inflight === 0) return;
    this.#collecting = true;
    try {
      const reachable = new Set<LocalSocket>();
      const stack: LocalSocket[] = [];
      for (const s of this.sockets) {
        if (s.refs > s.inflightRefs) {
          reachable.add(s);
          stack.push(s);
        }
      }
      while (stack.length) {
        for (const next of stack.pop()!.children()) {
          if (!reachable.has(next)) {
            reachable.add(next);
            stack.push(next);
          }
        }
      }
      const garbage = [...this.sockets].filter((s) => s.refs > 0 && !reachable.has(s));
      for (const g of garbage) g.purgeQueue();
    } finally {
      this.#collecting = false;
    }
  }
}
