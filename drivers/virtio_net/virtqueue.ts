/**
 * Split virtqueues (virtio 1.2 §2.7): a descriptor table, the driver's available ring and the
 * device's used ring, in DMA memory. Ring indices are free-running 16-bit counters; the slot is
 * `idx % num`. {@link DriverQueue} and {@link DeviceQueue} are the two sides' views.
 *
 *   descriptor (16 bytes): addr u64 | len u32 | flags u16 | next u16
 *   avail: flags u16 | idx u16 | ring[num] u16 | used_event u16
 *   used:  flags u16 | idx u16 | ring[num] { id u32, len u32 } | avail_event u16
 *
 * With VIRTIO_F_EVENT_IDX (§2.7.10) the flags are ignored: each side publishes the index at
 * which it next wants to hear from the other (`used_event`, `avail_event`) and the other
 * notifies only when its index moves past it ({@link needEvent}).
 */

import type { DmaMemory } from "../hw/dma.ts";

/** Descriptor flags. */
export const DESC_F = { NEXT: 1, WRITE: 2 } as const;
/** avail.flags: the driver does not want interrupts for this queue. */
export const AVAIL_F_NO_INTERRUPT = 1;
/** used.flags: the device does not need notifications right now. */
export const USED_F_NO_NOTIFY = 1;

/**
 * Whether moving an index from `old` to `next` crosses `event` (Linux's `vring_need_event`):
 * the other side asked to hear when the entry at `event` was published.
 */
export function needEvent(event: number, next: number, old: number): boolean {
  return ((next - event - 1) & 0xffff) < ((next - old) & 0xffff);
}

/** Where a queue of `num` entries lives. */
export interface QueueLayout {
  num: number;
  desc: number;
  avail: number;
  used: number;
}

/** Entries between free-running 16-bit indices `from` and `to`. */
export function idxDistance(from: number, to: number): number {
  return (to - from) & 0xffff;
}

/** Allocate a queue of `num` (a power of two) entries in `dma`. */
export function allocQueue(dma: DmaMemory, num: number): QueueLayout {
  const desc = dma.alloc(16 * num, 16);
  const avail = dma.alloc(6 + 2 * num, 2);
  const used = dma.alloc(6 + 8 * num, 4);
  dma.bytes.fill(0, desc, desc + 16 * num);
  dma.bytes.fill(0, avail, avail + 6 + 2 * num);
  dma.bytes.fill(0, used, used + 6 + 8 * num);
  return { num, desc, avail, used };
}

/** Driver side: publish descriptor chains, collect used ones. */
export class DriverQueue {
  #availIdx = 0;
  #lastUsed = 0;

  /** View queue `q` in `dma`. */
  constructor(readonly dma: DmaMemory, readonly q: QueueLayout) {}

  /** Fill descriptor `i`. */
  setDesc(i: number, addr: number, len: number, flags: number, next = 0): void {
    const d = this.q.desc + 16 * i;
    this.dma.write64(d, addr);
    this.dma.write32(d + 8, len);
    this.dma.write16(d + 12, flags);
    this.dma.write16(d + 14, next);
  }

  /** Put chain head `i` in the next avail slot without publishing it. */
  stage(i: number): void {
    this.dma.write16(this.q.avail + 4 + 2 * (this.#availIdx % this.q.num), i);
    this.#availIdx = (this.#availIdx + 1) & 0xffff;
  }

  #published = 0;

  /** Make every staged chain visible to the device (one atomic index store). */
  publish(): void {
    this.dma.store16(this.q.avail + 2, this.#availIdx);
  }

  /**
   * Publish, and say whether the device wants a notification for what was published since the
   * last call: with EVENT_IDX, when the index crossed its `avail_event`; else unless NO_NOTIFY.
   */
  publishNeedsKick(eventIdx: boolean): boolean {
    const old = this.#published;
    if (old === this.#availIdx) return false;
    this.publish();
    this.#published = this.#availIdx;
    if (!eventIdx) return !this.notifySuppressed;
    return needEvent(this.dma.load16(this.q.used + 4 + 8 * this.q.num), this.#availIdx, old);
  }

  /** With EVENT_IDX: ask for an interrupt once `ahead` more used entries than now are returned. */
  setUsedEvent(ahead: number): void {
    this.dma.store16(this.q.avail + 4 + 2 * this.q.num, (this.#lastUsed + ahead) & 0xffff);
  }

  /** With EVENT_IDX: ask for no interrupt (until some 65,000 more entries are returned). */
  suppressUsedEvent(): void {
    this.setUsedEvent(0xffff);
  }

  /** Set avail.flags (e.g. {@link AVAIL_F_NO_INTERRUPT}). */
  setAvailFlags(flags: number): void {
    this.dma.store16(this.q.avail, flags);
  }

  /** True when the device asked not to be notified. */
  get notifySuppressed(): boolean {
    return (this.dma.load16(this.q.used) & USED_F_NO_NOTIFY) !== 0;
  }

  /** Used elements returned and not yet popped. */
  get usedPending(): number {
    return idxDistance(this.#lastUsed, this.dma.load16(this.q.used + 2));
  }

  /** Next used element `{ id, len }`, or undefined when the device has returned nothing new. */
  popUsed(): { id: number; len: number } | undefined {
    if (this.dma.load16(this.q.used + 2) === this.#lastUsed) return undefined;
    const e = this.q.used + 4 + 8 * (this.#lastUsed % this.q.num);
    this.#lastUsed = (this.#lastUsed + 1) & 0xffff;
    return { id: this.dma.read32(e), len: this.dma.read32(e + 4) };
  }
}

/** One buffer of a chain as the device sees it. */
export interface ChainPart {
  addr: number;
  len: number;
  write: boolean;
}

/** Device side: take available chains, return used ones. */
export class DeviceQueue {
  #lastAvail = 0;
  #usedIdx = 0;

  /** View queue `q` in `dma` (validated by the caller to lie inside it). */
  constructor(readonly dma: DmaMemory, readonly q: QueueLayout) {}

  /** Chains the driver made available that the device has not taken. */
  get pending(): number {
    return idxDistance(this.#lastAvail, this.dma.load16(this.q.avail + 2));
  }

  /** True when the driver asked for no interrupts on this queue. */
  get interruptSuppressed(): boolean {
    return (this.dma.load16(this.q.avail) & AVAIL_F_NO_INTERRUPT) !== 0;
  }

  /** Set used.flags (e.g. {@link USED_F_NO_NOTIFY}). */
  setUsedFlags(flags: number): void {
    this.dma.store16(this.q.used, flags);
  }

  /**
   * Take the next chain: its head id and parts, or undefined if none is available. A chain
   * that loops, leaves the table or leaves DMA memory comes back with `parts` = null.
   */
  pop(): { head: number; parts: ChainPart[] | null } | undefined {
    if (this.pending === 0) return undefined;
    const head = this.dma.read16(this.q.avail + 4 + 2 * (this.#lastAvail % this.q.num));
    this.#lastAvail = (this.#lastAvail + 1) & 0xffff;
    const parts: ChainPart[] = [];
    let i = head;
    for (let n = 0; n < this.q.num; n++) {
      if (i >= this.q.num) return { head, parts: null };
      const d = this.q.desc + 16 * i;
      const addr = this.dma.read64(d);
      const len = this.dma.read32(d + 8);
      const flags = this.dma.read16(d + 12);
      if (!this.dma.contains(addr, len)) return { head, parts: null };
      parts.push({ addr, len, write: (flags & DESC_F.WRITE) !== 0 });
      if (!(flags & DESC_F.NEXT)) return { head, parts };
      i = this.dma.read16(d + 14);
    }
    return { head, parts: null };
  }

  /** Return chain `head` with `len` bytes written; publish the used index unless `hold`. */
  push(head: number, len: number, hold = false): void {
    const e = this.q.used + 4 + 8 * (this.#usedIdx % this.q.num);
    this.dma.write32(e, head);
    this.dma.write32(e + 4, len);
    this.#usedIdx = (this.#usedIdx + 1) & 0xffff;
    if (!hold) this.dma.store16(this.q.used + 2, this.#usedIdx);
  }

  /** Publish used entries pushed with `hold`. */
  publishUsed(): void {
    this.dma.store16(this.q.used + 2, this.#usedIdx);
  }

  /** Give back the last `n` chains popped (not yet pushed): they are popped again next time. */
  unpop(n: number): void {
    this.#lastAvail = (this.#lastAvail - n) & 0xffff;
  }

  #signalled = 0;

  /**
   * Whether the driver wants an interrupt for the used entries published since the last call:
   * with EVENT_IDX when they crossed its `used_event`, else unless avail.flags NO_INTERRUPT.
   */
  needsInterrupt(eventIdx: boolean): boolean {
    const old = this.#signalled;
    if (old === this.#usedIdx) return false;
    this.#signalled = this.#usedIdx;
    if (!eventIdx) return !this.interruptSuppressed;
    return needEvent(this.dma.load16(this.q.avail + 4 + 2 * this.q.num), this.#usedIdx, old);
  }

  /** With EVENT_IDX: ask the driver to notify when it publishes past what was taken so far. */
  setAvailEvent(): void {
    this.dma.store16(this.q.used + 4 + 8 * this.q.num, this.#lastAvail);
  }
}
