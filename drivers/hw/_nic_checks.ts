/**
 * End-to-end checks every NIC must pass, parameterised by the {@link TestPair} under test (and,
 * where NICs differ, by a small description). Meant to be imported as a namespace:
 *
 * @example
 * import * as check from "../hw/_nic_checks.ts";
 * Deno.test("e1000: link change …", () => check.linkChange(pair()));
 */

import assert from "node:assert/strict";
import { InterruptLine } from "./control.ts";
import { type NicPair, numberedFrame, pumpOnce, sendAll } from "./frame_pump.ts";
import type { NicDevice, NicDriver } from "./nic.ts";
import { MAC_A, MAC_B, seqOf, type TestPair } from "./_nic_test_harness.ts";

/** `[0, 1, …, n - 1]`. */
function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Both drivers read their own MAC and see the link up. */
export function macAndLinkUp(p: NicPair): void {
  assert.deepEqual(p.drvA.mac, MAC_A);
  assert.deepEqual(p.drvB.mac, MAC_B);
  assert.equal(p.drvA.linkUp, true);
}

/** Sending `frames` one pump at a time (wrapping the rings) delivers each one, in order. */
export function inOrderOneByOne(
  p: TestPair<NicDevice, NicDriver>,
  frames: Uint8Array[],
): void {
  for (const f of frames) {
    assert.equal(p.drvA.transmit(f), true);
    pumpOnce(p);
  }
  assert.equal(p.received.length, frames.length);
  p.received.forEach((f, i) => assert.deepEqual(f, frames[i]));
}

/** How a NIC's TX ring fills and drains, for {@link txBackPressure}. */
export interface TxBackPressure {
  /** Frame number `i` to send. */
  frame: (i: number) => Uint8Array;
  /** How many frames the ring takes before `transmit` returns false. */
  capacity: number;
  /** Let the device send the queued frames (and assert what that shows on the way). */
  drain: () => void;
  /** Pumps after the next frame is queued (default 1). */
  pumpsAfter?: number;
}

/** `transmit` returns false once the TX ring is full, and succeeds again after it drains. */
export function txBackPressure(p: TestPair<NicDevice, NicDriver>, t: TxBackPressure): void {
  let accepted = 0;
  while (p.drvA.transmit(t.frame(accepted))) accepted++;
  assert.equal(accepted, t.capacity);
  t.drain();
  assert.equal(p.drvA.transmit(t.frame(t.capacity)), true);
  for (let i = 0; i < (t.pumpsAfter ?? 1); i++) pumpOnce(p);
  assert.deepEqual(p.received.map(seqOf), upTo(t.capacity + 1));
}

/**
 * Taking B's link down raises an interrupt and the driver reports down then up; `whileDown`
 * runs with the link down (after the driver has seen it).
 */
export function linkChange(p: NicPair, whileDown: () => void = () => {}): void {
  const seen: boolean[] = [];
  p.drvB.onLinkChange((up) => seen.push(up));
  const line = new InterruptLine(p.devB.resources.control);
  line.take();
  p.devB.setLink(false);
  assert.equal(line.pending, true);
  p.drvB.handleInterrupt();
  assert.equal(p.drvB.linkUp, false);
  whileDown();
  p.devB.setLink(true);
  p.drvB.handleInterrupt();
  assert.deepEqual(seen, [false, true]);
}

/** 10,000 frames of 60..1514 bytes from A arrive at B byte-identical, in order, none dropped. */
export function tenThousandFrames(p: NicPair): void {
  let next = 0;
  let bad = 0;
  p.drvB.onReceive((fs) => {
    for (const f of fs) {
      const want = numberedFrame(next++, MAC_B, MAC_A);
      if (f.length !== want.length || !f.every((b, i) => b === want[i])) bad++;
    }
  });
  const gen = function* () {
    for (let i = 0; i < 10_000; i++) yield numberedFrame(i, MAC_B, MAC_A);
  };
  sendAll(p, gen());
  assert.equal(next, 10_000);
  assert.equal(bad, 0);
  assert.deepEqual(p.devB.stats.drops, {});
}
