/**
 * Open file descriptions: what an fd points at. Several fds (after dup or SCM_RIGHTS, in one or
 * several processes) can share one description; it is released when the last reference goes.
 */
import type { WaitQueue } from "./wait_queue.ts";

/** Common part of every open file description. */
export interface HandleBase {
  /** References from fd tables and from in-flight SCM_RIGHTS messages. */
  refs: number;
  /** O_NONBLOCK. */
  nonblock: boolean;
  /** Woken whenever readiness may have changed. */
  readonly wq: WaitQueue;
  /** Called once when the last reference is dropped. */
  release(): void;
}

/** Drop one reference; release the handle when it was the last. */
export function unref(h: HandleBase): void {
  if (--h.refs === 0) h.release();
}
