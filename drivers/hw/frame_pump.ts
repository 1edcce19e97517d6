/**
 * One-thread harness for two NICs cabled back to back: an in-memory {@link LinkPort} pair and a
 * pump that services both devices and drivers until nothing moves. Used by every NIC's
 * end-to-end test and by {@link measureFramesPerSecond} for benchmarks.
 *
 * @example
 * const fps = measureFramesPerSecond(pair, 100_000, 1514, () => performance.now());
 */

import type { LinkPort } from "../link/port.ts";
import type { NicDevice, NicDriver } from "./nic.ts";

/** A cable whose two ends deliver synchronously to each other. */
export function memoryLinkPair(): [LinkPort, LinkPort] {
  const handlers: Array<((f: Uint8Array) => void) | undefined> = [undefined, undefined];
  const open = [true, true];
  const end = (me: 0 | 1): LinkPort => ({
    send(frame) {
      const peer = 1 - me;
      if (open[me] && open[peer]) handlers[peer]?.(frame);
    },
    onFrame(handler) {
      handlers[me] = handler;
    },
    close() {
      open[me] = false;
    },
  });
  return [end(0), end(1)];
}

/**
 * Frame number `i` from `src` to `dst`: 60..1514 bytes (varied), EtherType 0x88b5 (local
 * experimental), the number in bytes 14..17 and a pattern after it.
 */
export function numberedFrame(i: number, dst: Uint8Array, src: Uint8Array): Uint8Array {
  const size = 60 + ((i * 7919) % 1455);
  const f = new Uint8Array(size);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  new DataView(f.buffer).setUint32(14, i);
  for (let j = 18; j < size; j++) f[j] = (i + j) & 0xff;
  return f;
}

/** Two device models on one cable with their drivers. */
export interface NicPair {
  devA: NicDevice;
  drvA: NicDriver;
  devB: NicDevice;
  drvB: NicDriver;
}

/** Service both devices and drivers once, in the order the frames flow. */
export function pumpOnce(p: NicPair): void {
  p.devA.service();
  p.drvA.handleInterrupt();
  p.devB.service();
  p.drvB.handleInterrupt();
}

/**
 * Send `frames` from A to B, retrying on back-pressure and pumping between bursts. Returns how
 * many pumps it took. B's `onReceive` callback (set by the caller) sees the frames.
 */
export function sendAll(p: NicPair, frames: Iterable<Uint8Array>): number {
  let pumps = 0;
  for (const f of frames) {
    while (!p.drvA.transmit(f)) {
      pumpOnce(p);
      pumps++;
    }
  }
  for (let i = 0; i < 4; i++) pumpOnce(p);
  return pumps + 4;
}

/**
 * Frames per second for `count` frames of `size` bytes (addressed to B) from A to B, both NICs
 * pumped on this thread; `now` reads milliseconds (pass `() => performance.now()`).
 */
export function measureFramesPerSecond(
  p: NicPair,
  count: number,
  size: number,
  now: () => number,
): number {
  const frame = new Uint8Array(size);
  frame.set(p.drvB.mac, 0);
  frame.set(p.drvA.mac, 6);
  let received = 0;
  p.drvB.onReceive((fs) => (received += fs.length));
  const gen = function* () {
    for (let i = 0; i < count; i++) yield frame;
  };
  const t0 = now();
  sendAll(p, gen());
  const ms = now() - t0;
  return ms > 0 ? (received * 1000) / ms : Infinity;
}
