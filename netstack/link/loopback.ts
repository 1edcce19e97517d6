/**
 * The loopback device: no hardware, frames go straight back to the NetworkTask. Delivery is
 * deferred through the clock so a sender never re-enters the stack from inside its own send.
 */
import type { LinkPort } from "../../drivers/link/port.ts";
import type { Clock } from "../../kernel/clock.ts";

/** Loopback MTU, as Linux's lo. */
export const LOOPBACK_MTU = 65536;

/** A LinkPort that hands every sent frame back to its own receiver, in batches. */
export class LoopbackPort implements LinkPort {
  #handler?: (frame: Uint8Array) => void;
  #queue: Uint8Array[] = [];
  #scheduled = false;
  #closed = false;

  constructor(readonly clock: Clock) {}

  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(frame);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.clock.schedule(0, () => this.#drain());
    }
  }

  #drain() {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    for (const f of batch) this.#handler?.(f);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.#handler = handler;
  }

  close(): void {
    this.#closed = true;
    this.#queue = [];
  }
}
