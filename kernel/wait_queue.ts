/**
 * Where blocked system calls sleep: a socket owns a {@link WaitQueue} and wakes it on every
 * state change; a sleeper re-checks its condition after waking. Timeouts go through the Clock.
 */
import type { Clock } from "./clock.ts";

/** Why a wait ended. */
export type WakeReason = "woken" | "timeout" | "aborted";

/** A set of sleepers woken together. */
export class WaitQueue {
  #sleepers = new Set<() => void>();
  #watcher?: () => void;

  /** Wake every sleeper (they re-check their conditions), after the watcher has run. */
  wake(): void {
    this.#watcher?.();
    const all = [...this.#sleepers];
    this.#sleepers.clear();
    for (const s of all) s();
  }

  /** Run `fn` at every wake, before the sleepers (undefined: stop). */
  watch(fn: (() => void) | undefined): void {
    this.#watcher = fn;
  }

  /** Number of sleepers, for leak checks. */
  get size(): number {
    return this.#sleepers.size;
  }

  /** @internal */
  _add(s: () => void): void {
    this.#sleepers.add(s);
  }

  /** @internal */
  _remove(s: () => void): void {
    this.#sleepers.delete(s);
  }
}

/**
 * Sleep until any queue wakes, `timeoutMs` passes (undefined or negative: forever), or `signal`
 * aborts.
 */
export function waitAny(
  queues: WaitQueue[],
  clock: Clock,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<WakeReason> {
  if (signal?.aborted) return Promise.resolve("aborted");
  if (timeoutMs !== undefined && timeoutMs === 0) return Promise.resolve("timeout");
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: WakeReason) => {
      if (done) return;
      done = true;
      for (const q of queues) q._remove(sleeper);
      timer?.cancel();
      signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const sleeper = () => finish("woken");
    const onAbort = () => finish("aborted");
    for (const q of queues) q._add(sleeper);
    const timer = timeoutMs !== undefined && timeoutMs > 0
      ? clock.schedule(timeoutMs, () => finish("timeout"))
      : undefined;
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A deadline helper: remaining ms until `deadline` (undefined = forever). */
export function remaining(clock: Clock, deadline: number | undefined): number | undefined {
  if (deadline === undefined) return undefined;
  return Math.max(0, deadline - clock.now());
}
