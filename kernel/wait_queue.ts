/**
 * Where blocked system calls sleep: a socket owns a {@link WaitQueue} and wakes it on every
 * state change; a sleeper re-checks its condition after waking. Timeouts go through the Clock.
 *
 * poll() waits differently ({@link waitReady}): each call registers once per object it names
 * (not per entry), and a wake reads the object's readiness once for all of its poll waiters and
 * ends only the waits whose events it meets. A wake costs one readiness check plus one bit test
 * per waiting poll call, however many entries those calls listed.
 */
import type { Clock } from "./clock.ts";

/** Why a wait ended. */
export type WakeReason = "woken" | "timeout" | "aborted";

/** One poll() call's interest in the owner of a {@link WaitQueue}. */
export interface PollInterest {
  /** The events that end the wait (the call's events for this object, plus POLLERR/POLLHUP). */
  mask: number;
  /** Called with the owner's readiness once it meets {@link mask}. */
  ready(revents: number): void;
}

/** Something poll() can wait on: a wait queue and the readiness of its owner. */
export interface Pollable {
  readonly wq: WaitQueue;
  readiness(): number;
}

/** A set of sleepers woken together. */
export class WaitQueue {
  #sleepers = new Set<() => void>();
  #watcher?: () => void;
  #polls?: Set<PollInterest>;
  #pollReadiness?: () => number;
  #pollCheckQueued = false;

  /** Wake every sleeper (they re-check their conditions), after the watcher has run. */
  wake(): void {
    this.#watcher?.();
    if (this.#polls !== undefined && this.#polls.size > 0 && !this.#pollCheckQueued) {
      // Read after the waker is done (it may change more state in the same turn), once.
      this.#pollCheckQueued = true;
      queueMicrotask(this.#checkPolls);
    }
    if (this.#sleepers.size === 0) return;
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

  /** Number of poll() calls waiting here, for leak checks. */
  get polls(): number {
    return this.#polls?.size ?? 0;
  }

  /**
   * Let `interest` know when the owner's `readiness` meets its mask (checked after each wake,
   * once for all interests). Undo with {@link removePoll}.
   */
  addPoll(interest: PollInterest, readiness: () => number): void {
    this.#polls ??= new Set();
    this.#polls.add(interest);
    this.#pollReadiness = readiness;
  }

  /** Forget an interest added with {@link addPoll}. */
  removePoll(interest: PollInterest): void {
    this.#polls?.delete(interest);
  }

  #checkPolls = (): void => {
    this.#pollCheckQueued = false;
    const polls = this.#polls;
    if (!polls || polls.size === 0) return;
    const r = this.#pollReadiness!();
    if (r === 0) return;
    for (const p of polls) if (r & p.mask) p.ready(r);
  };

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
 * Sleep until `register`'s waiters wake us, `timeoutMs` passes (undefined or negative: forever),
 * or `signal` aborts. `register` installs the waiters and returns what removes them.
 */
function sleepOn(
  register: (wake: () => void) => () => void,
  clock: Clock,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<WakeReason> {
  if (signal?.aborted) return Promise.resolve("aborted");
  if (timeoutMs !== undefined && timeoutMs === 0) return Promise.resolve("timeout");
  return new Promise((resolve) => {
    let done = false;
    // A waiter that fires while being registered finds nothing to remove yet.
    let unregister = () => {};
    const finish = (r: WakeReason) => {
      if (done) return;
      done = true;
      unregister();
      timer?.cancel();
      signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const onAbort = () => finish("aborted");
    const remove = register(() => finish("woken"));
    if (done) remove();
    else unregister = remove;
    const timer = timeoutMs !== undefined && timeoutMs > 0
      ? clock.schedule(timeoutMs, () => finish("timeout"))
      : undefined;
    signal?.addEventListener("abort", onAbort, { once: true });
  });
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
  return sleepOn(
    (wake) => {
      for (const q of queues) q._add(wake);
      return () => {
        for (const q of queues) q._remove(wake);
      };
    },
    clock,
    timeoutMs,
    signal,
  );
}

/**
 * poll()'s sleep: until one of `targets` is ready for its mask, `timeoutMs` passes (undefined or
 * negative: forever), or `signal` aborts. One registration per target: the caller lists each
 * object once, with the union of the events its entries asked for.
 */
export function waitReady(
  targets: ReadonlyArray<{ target: Pollable; mask: number }>,
  clock: Clock,
  timeoutMs?: number,
  signal?: AbortSignal,
): Promise<WakeReason> {
  return sleepOn(
    (ready) => {
      const interests: PollInterest[] = targets.map((t) => {
        const interest = { mask: t.mask, ready };
        t.target.wq.addPoll(interest, () => t.target.readiness());
        return interest;
      });
      return () => targets.forEach((t, i) => t.target.wq.removePoll(interests[i]));
    },
    clock,
    timeoutMs,
    signal,
  );
}

/** A deadline helper: remaining ms until `deadline` (undefined = forever). */
export function remaining(clock: Clock, deadline: number | undefined): number | undefined {
  if (deadline === undefined) return undefined;
  return Math.max(0, deadline - clock.now());
}
