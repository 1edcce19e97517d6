/**
 * Frame delivery for in-process cables (pipe, switch). Sends are queued and drained in a loop,
 * so a receive handler that sends again from inside `onFrame` adds to the queue instead of
 * recursing. A drain runs at most `budget` jobs synchronously; the rest continue from a clock
 * wake-up, so two handlers that answer each other forever cannot starve the event loop.
 */

import type { Clock, Timer } from "../../kernel/clock.ts";

/** Limits for a {@link DeliveryQueue}. */
export interface DeliveryQueueOptions {
  /** Jobs that may wait at once; pushes beyond this are refused. Default 4096. */
  limit?: number;
  /** Jobs run synchronously per drain before yielding to the clock. Default 1024. */
  budget?: number;
}

/** A FIFO of delivery jobs, drained iteratively (see the module comment). */
export class DeliveryQueue {
  readonly #clock: Clock;
  readonly #limit: number;
  readonly #budget: number;
  #jobs: Array<() => void> = [];
  #head = 0;
  #draining = false;
  #timer: Timer | undefined;
  /** Jobs whose handler threw (the exception is swallowed; the last one is kept). */
  handlerErrors = 0;
  /** The most recent exception thrown by a job. */
  lastError: unknown = undefined;

  constructor(clock: Clock, opts: DeliveryQueueOptions = {}) {
    this.#clock = clock;
    this.#limit = opts.limit ?? 4096;
    this.#budget = opts.budget ?? 1024;
  }

  /** Jobs waiting to run. */
  get length(): number {
    return this.#jobs.length - this.#head;
  }

  /** Queue `job` and drain unless a drain is already running; false if the queue is full. */
  push(job: () => void): boolean {
    if (this.length >= this.#limit) return false;
    this.#jobs.push(job);
    if (!this.#draining && this.#timer === undefined) this.#drain();
    return true;
  }

  /** Forget every waiting job and cancel any pending continuation. */
  clear(): void {
    this.#jobs = [];
    this.#head = 0;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #drain(): void {
    this.#draining = true;
    try {
      let ran = 0;
      while (this.#head < this.#jobs.length) {
        if (ran >= this.#budget) {
          this.#timer = this.#clock.schedule(0, () => {
            this.#timer = undefined;
            this.#drain();
          });
          break;
        }
        const job = this.#jobs[this.#head];
        this.#jobs[this.#head++] = _noop;
        ran++;
        try {
          job();
        } catch (e) {
          this.handlerErrors++;
          this.lastError = e;
        }
      }
      this.#compact();
    } finally {
      this.#draining = false;
    }
  }

  #compact(): void {
    if (this.#head === this.#jobs.length) {
      this.#jobs = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
      this.#jobs = this.#jobs.slice(this.#head);
      this.#head = 0;
    }
  }
}

function _noop(): void {}
