/**
 * Send buffer: a byte ring of fixed capacity (SO_SNDBUF) holding every byte from SND.UNA on.
 * Offset 0 is the oldest unacknowledged byte; the connection knows how many of the bytes are
 * already in flight (unacked) and which are still unsent. Storage grows with what is held
 * and is released when everything is acknowledged (see _ring.ts) — or is a process's shared tx
 * ring, which the process fills itself and the buffer only {@link SendBuffer.adopt}s.
 */

import { GrowableRing } from "./_ring.ts";

/** Where a send buffer's bytes live, addressed by offset from the oldest one. */
export interface SendStorage {
  /** Bytes of memory it holds for the buffer (0 when the memory is someone else's). */
  readonly allocated: number;
  /** Store `data` at `offset`. */
  writeAt(offset: number, data: Uint8Array): void;
  /** Copy `n` bytes from `offset` into `out` at `at`. */
  readAt(offset: number, n: number, out: Uint8Array, at?: number): void;
  /** A view of `n` bytes from `offset` when they lie in one run, else undefined. */
  viewAt(offset: number, n: number): Uint8Array | undefined;
  /** The `n` oldest bytes are gone. */
  advance(n: number): void;
  /** Nothing is held: memory may go. */
  release(): void;
}

/** Outgoing bytes of one connection, from the oldest unacknowledged one on. */
export class SendBuffer {
  #capacity: number;
  #ring: SendStorage;
  #len = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
    this.#ring = new GrowableRing(this.#capacity);
  }

  /** Most bytes it holds (SO_SNDBUF, or the size of the shared ring it lives in). */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Move the bytes held into `storage` (of `capacity` bytes) and keep them there from now on;
   * returns false, changing nothing, when they do not fit.
   */
  moveTo(storage: SendStorage, capacity: number): boolean {
    if (this.#len > capacity) return false;
    this.#move(storage, capacity);
    return true;
  }

  /** Back to private storage of SO_SNDBUF `capacity` bytes (the shared ring is given up). */
  moveToOwn(capacity: number): void {
    const own = new GrowableRing(Math.max(1, Math.floor(capacity)));
    this.#move(own, own.capacity); // may hold more than SO_SNDBUF: the ring grows past it
  }

  #move(storage: SendStorage, capacity: number): void {
    const held = this.read(0, this.#len);
    this.#ring.release();
    if (held.length > 0) storage.writeAt(0, held);
    this.#ring = storage;
    this.#capacity = capacity;
  }

  /** `n` bytes the storage's owner wrote after the ones held join them (no copy). */
  adopt(n: number): void {
    this.#len += n;
  }

  /** Bytes held (unacknowledged plus unsent). */
  get length(): number {
    return this.#len;
  }

  /** Bytes that can still be written. */
  get free(): number {
    return Math.max(0, this.#capacity - this.#len);
  }

  /** Bytes of storage allocated now. */
  get allocated(): number {
    return this.#ring.allocated;
  }

  /**
   * Append as much of `data` as fits; returns the number of bytes taken (0 when full). With
   * `beyondCapacity` all of it is taken: bytes a closing socket's process already wrote to its
   * shared ring count as sent, as bytes in a kernel's socket buffer do.
   */
  write(data: Uint8Array, beyondCapacity = false): number {
    const n = beyondCapacity ? data.length : Math.min(data.length, this.free);
    if (n === 0) return 0;
    this.#ring.writeAt(this.#len, data.subarray(0, n));
    this.#len += n;
    return n;
  }

  /**
   * `len` bytes starting `offset` bytes after the oldest one (clamped to what is held), without
   * a copy when they lie in one run: valid only until the buffer next changes.
   */
  view(offset: number, len: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.#len));
    const n = Math.max(0, Math.min(len, this.#len - start));
    return this.#ring.viewAt(start, n) ?? this.read(start, n);
  }

  /** Copy of `len` bytes starting `offset` bytes after the oldest one (clamped to what is held). */
  read(offset: number, len: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.#len));
    const n = Math.max(0, Math.min(len, this.#len - start));
    const out = new Uint8Array(n);
    this.#ring.readAt(start, n, out);
    return out;
  }

  /** Drop the `n` oldest bytes (they were acknowledged). */
  consume(n: number): void {
    const k = Math.max(0, Math.min(n, this.#len));
    this.#ring.advance(k);
    this.#len -= k;
    if (this.#len === 0) this.#ring.release();
  }

  /** Drop everything (connection reset). */
  clear(): void {
    this.#ring.advance(this.#len);
    this.#len = 0;
    this.#ring.release();
  }
}
