/**
 * Head/tail descriptor ring arithmetic (8254x SDM §3.2.6, §3.4). The hardware owns the
 * descriptors from head up to (not including) tail; software owns the rest. Head == tail means
 * the hardware owns none, so software keeps one slot back to tell full from empty.
 */

import { DESC_SIZE } from "./descriptors.ts";

/** RDLEN/TDLEN must be a multiple of 128 bytes, i.e. of this many descriptors. */
export const RING_GRANULE = 128 / DESC_SIZE;
/** Ring sizes the driver accepts (descriptors). */
export const MIN_RING = 8;
/** Largest ring: 65536 descriptors per the SDM; kept small here. */
export const MAX_RING = 4096;

/** The index after `i` in a ring of `count`. */
export function ringNext(i: number, count: number): number {
  return i + 1 === count ? 0 : i + 1;
}

/** Descriptors from `from` up to (not including) `to`, going forward around the ring. */
export function ringDistance(from: number, to: number, count: number): number {
  return to >= from ? to - from : to + count - from;
}

/** True when `count` is a legal ring size. */
export function validRingSize(count: number): boolean {
  return Number.isInteger(count) && count >= MIN_RING && count <= MAX_RING &&
    count % RING_GRANULE === 0;
}

/** A ring's placement in DMA memory. */
export class DescRing {
  /** A ring of `count` descriptors starting at physical address `base`. */
  constructor(readonly base: number, readonly count: number) {}

  /** Physical address of descriptor `i`. */
  addr(i: number): number {
    return this.base + i * DESC_SIZE;
  }

  /** Bytes the ring occupies (the RDLEN/TDLEN value). */
  get byteLength(): number {
    return this.count * DESC_SIZE;
  }
}
