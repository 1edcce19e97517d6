/**
 * The receiving side of a shared {@link FrameRing} in a thread with an event loop: drain the
 * ring, report the end of the burst, sleep on the ring (`Atomics.waitAsync`, so the event loop
 * keeps running) until the producer wakes it. Note that a pending `waitAsync` alone does not
 * keep a Deno event loop alive: the caller must hold something that does (a port, a timer).
 *
 * @example
 * void pumpRing(ring, (f) => handle(f), () => endOfBurst(), () => closed);
 */
import { setImmediate } from "node:timers";
import { type FrameRing, RingWord } from "./frame_ring.ts";

/** Most frames delivered in one go before yielding to the event loop. */
export const RING_BUDGET = 1024;

/**
 * Deliver every frame `ring` receives to `deliver`, calling `burstEnd` after each burst, until
 * `stopped()` or the ring is closed. Sleeps on the ring between bursts.
 */
export async function pumpRing(
  ring: FrameRing,
  deliver: (frame: Uint8Array) => void,
  burstEnd: () => void,
  stopped: () => boolean,
): Promise<void> {
  while (!stopped()) {
    let n = 0;
    for (let f = ring.pop(); f !== undefined; f = ring.pop()) {
      deliver(f);
      if (++n >= RING_BUDGET) break;
    }
    if (n > 0) burstEnd();
    if (stopped() || ring.closed) break;
    if (n >= RING_BUDGET) {
      await new Promise<void>((r) => setImmediate(r));
      continue;
    }
    const seq = ring.prepareSleep();
    if (seq === undefined) continue;
    const w = Atomics.waitAsync(ring.words, RingWord.WAKE, seq);
    if (w.async) await w.value;
  }
}
