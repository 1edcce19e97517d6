/**
 * The byte storage behind the send and receive buffers: a ring that starts small, doubles as
 * data arrives (up to the buffer's capacity) and is released when empty, so memory follows the
 * data actually queued rather than SO_SNDBUF/SO_RCVBUF (10,000 idle connections stay cheap).
 */

import { copyBytes } from "../../kernel/bus/shared_copy.ts";

/** Smallest storage allocated. */
export const MIN_RING = 4096;
/**
 * Largest size a ring starts at again after a release. A flow that fills and drains its buffer
 * in turns (bulk transfer) would otherwise regrow 4 KiB → 8 KiB → … with a copy at each step.
 */
export const RESTART_LIMIT = 65536;

/** Most bytes of released storage kept for reuse by the rings of one thread. */
export const POOL_BYTES = 16 << 20;
const pool = new Map<number, Uint8Array[]>();
let pooledBytes = 0;

/**
 * Storage of `size` bytes: a released block of that size when one is kept (its old contents
 * are never read: rings read only what they wrote), else a new one. A bulk flow empties and
 * refills its buffers at every segment, and a fresh zeroed 64 KiB block each time costs more
 * than the TCP work.
 */
function takeBlock(size: number): Uint8Array {
  const b = pool.get(size)?.pop();
  if (!b) return new Uint8Array(size);
  pooledBytes -= size;
  return b;
}

function giveBlock(b: Uint8Array): void {
  if (pooledBytes + b.length > POOL_BYTES) return;
  let list = pool.get(b.length);
  if (!list) pool.set(b.length, list = []);
  list.push(b);
  pooledBytes += b.length;
}

/** A growable byte ring addressed by offset from its head. */
export class GrowableRing {
  #buf: Uint8Array | undefined;
  #head = 0;
  /** Size the storage had when last released: where the next allocation starts. */
  #lastSize = MIN_RING;

  constructor(readonly capacity: number) {}

  /** Bytes of storage currently allocated. */
  get allocated(): number {
    return this.#buf?.length ?? 0;
  }

  /** Make room for offsets [0, extent) from the head, keeping what is stored. */
  ensure(extent: number): Uint8Array {
    const cur = this.#buf;
    if (cur && cur.length >= extent) return cur;
    let size = cur ? cur.length : Math.min(this.#lastSize, this.capacity);
    const limit = Math.max(this.capacity, extent); // a forced append may pass the capacity
    while (size < extent) size = Math.min(size * 2, limit);
    const next = takeBlock(size);
    if (cur) {
      next.set(cur.subarray(this.#head), 0);
      next.set(cur.subarray(0, this.#head), cur.length - this.#head);
      giveBlock(cur);
    }
    this.#buf = next;
    this.#head = 0;
    return next;
  }

  /** Store `data` at `offset` from the head (room must have been ensured). */
  writeAt(offset: number, data: Uint8Array): void {
    const buf = this.ensure(offset + data.length);
    const size = buf.length;
    let pos = (this.#head + offset) % size;
    let done = 0;
    while (done < data.length) {
      const chunk = Math.min(data.length - done, size - pos);
      buf.set(data.subarray(done, done + chunk), pos);
      done += chunk;
      pos = (pos + chunk) % size;
    }
  }

  /** Copy `n` bytes from `offset` after the head into `out` at `at`. */
  readAt(offset: number, n: number, out: Uint8Array, at = 0): void {
    const buf = this.#buf;
    if (!buf || n === 0) return;
    const size = buf.length;
    let pos = (this.#head + offset) % size;
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, size - pos);
      copyBytes(out.subarray(at + done), buf.subarray(pos, pos + chunk)); // out may be shared
      done += chunk;
      pos = (pos + chunk) % size;
    }
  }

  /** A view of `n` bytes from `offset` after the head when they lie in one run, else undefined. */
  viewAt(offset: number, n: number): Uint8Array | undefined {
    const buf = this.#buf;
    if (!buf) return n === 0 ? new Uint8Array(0) : undefined;
    const pos = (this.#head + offset) % buf.length;
    return pos + n <= buf.length ? buf.subarray(pos, pos + n) : undefined;
  }

  /** Move the head forward by `n` bytes. */
  advance(n: number): void {
    if (this.#buf) this.#head = (this.#head + n) % this.#buf.length;
  }

  /** Give the storage back (nothing is held). */
  release(): void {
    if (this.#buf) {
      this.#lastSize = Math.min(Math.max(this.#buf.length, MIN_RING), RESTART_LIMIT);
      giveBlock(this.#buf);
    }
    this.#buf = undefined;
    this.#head = 0;
  }
}
