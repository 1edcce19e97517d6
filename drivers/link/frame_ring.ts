/**
 * A single-producer, single-consumer ring of Ethernet frames in a SharedArrayBuffer, for
 * carrying frames between two threads without a message per batch. One thread only pushes, the
 * other only pops; each frame is copied in once and out once.
 *
 * Layout: a 32-byte header of Int32 words (see {@link RingWord}), then `capacity` data bytes.
 * A record is a 4-byte little-endian length and the frame, padded to a multiple of 4. A record
 * never wraps: when it does not fit before the end, the producer writes {@link WRAP} and starts
 * again at offset 0. `head` and `tail` are byte counters that only grow (mod 2^32).
 *
 * Wake-ups: a consumer that found the ring empty sets `sleeping` and waits on `wake`; a
 * producer that sees `sleeping` after pushing clears it and bumps and notifies `wake`. Both
 * re-check after publishing (the Atomics operations are sequentially consistent), so a frame is
 * never left unseen while its consumer sleeps.
 *
 * @example
 * const ring = new FrameRing(FrameRing.create(1 << 20));
 * ring.push(frame); ring.wakeConsumer();
 * for (let f = ring.pop(); f; f = ring.pop()) handle(f);
 */
import { copyBytes } from "../../kernel/bus/shared_copy.ts";

/** Indices of the header words. */
export const RingWord = {
  HEAD: 0,
  TAIL: 1,
  WAKE: 2,
  SLEEPING: 3,
  CLOSED: 4,
  /** Frames the producer dropped because the ring was full. */
  FULL_DROPS: 5,
  /** Held (1) by the consumer thread taking frames, when two threads share the consumer role. */
  CONSUMER_LOCK: 6,
  /** Times the consumer found a malformed record and discarded what was queued. */
  CORRUPT: 7,
} as const;

/** Header size in bytes. */
export const RING_HEADER_BYTES = 32;
/** Length word marking "the rest of the data area is unused, continue at 0". */
export const WRAP = 0xffffffff;
/** Default data capacity: room for about 2,700 full-size frames (a TCP burst of 4 MB). */
export const DEFAULT_RING_BYTES = 1 << 22;

/** One direction of a shared frame channel. */
export class FrameRing {
  readonly sab: SharedArrayBuffer;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #mask: number;
  readonly capacity: number;

  /** A fresh ring buffer with `capacity` data bytes (a power of two, at least 4096). */
  static create(capacity = DEFAULT_RING_BYTES): SharedArrayBuffer {
    if (capacity < 4096 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`Ring capacity must be a power of two >= 4096, not ${capacity}`);
    }
    return new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
  }

  /** True if `x` looks like a buffer made by {@link FrameRing.create}. */
  static isRing(x: unknown): x is SharedArrayBuffer {
    if (!(x instanceof SharedArrayBuffer)) return false;
    const c = x.byteLength - RING_HEADER_BYTES;
    return c >= 4096 && (c & (c - 1)) === 0;
  }

  constructor(sab: SharedArrayBuffer) {
    if (!FrameRing.isRing(sab)) throw new RangeError("Not a frame ring buffer");
    this.sab = sab;
    this.capacity = sab.byteLength - RING_HEADER_BYTES;
    this.#mask = this.capacity - 1;
    this.#words = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(sab, RING_HEADER_BYTES);
    this.#view = new DataView(sab, RING_HEADER_BYTES);
  }

  /** The Int32 header words (for `Atomics.wait`/`waitAsync` on {@link RingWord.WAKE}). */
  get words(): Int32Array {
    return this.#words;
  }

  /** Bytes in use. */
  get used(): number {
    return (Atomics.load(this.#words, RingWord.HEAD) - Atomics.load(this.#words, RingWord.TAIL)) >>>
      0;
  }

  /** True when there is nothing to pop. */
  get empty(): boolean {
    return Atomics.load(this.#words, RingWord.HEAD) === Atomics.load(this.#words, RingWord.TAIL);
  }

  /** Frames dropped because the ring was full (counted by the producer). */
  get fullDrops(): number {
    return Atomics.load(this.#words, RingWord.FULL_DROPS);
  }

  /** True once either side called {@link close}. */
  get closed(): boolean {
    return Atomics.load(this.#words, RingWord.CLOSED) !== 0;
  }

  /**
   * Producer: copy `frame` in. False (and counted in {@link fullDrops}) when there is no room;
   * a frame longer than a quarter of the ring is refused the same way.
   */
  push(frame: Uint8Array): boolean {
    const w = this.#words;
    const size = 4 + ((frame.length + 3) & ~3);
    const head = Atomics.load(w, RingWord.HEAD) >>> 0;
    const tail = Atomics.load(w, RingWord.TAIL) >>> 0;
    const pos = head & this.#mask;
    const skip = pos + size > this.capacity ? this.capacity - pos : 0;
    if (size > this.capacity >>> 2 || ((head - tail) >>> 0) + skip + size > this.capacity) {
      Atomics.add(w, RingWord.FULL_DROPS, 1);
      return false;
    }
    let at = pos;
    if (skip) {
      this.#view.setUint32(pos, WRAP, true);
      at = 0;
    }
    this.#view.setUint32(at, frame.length, true);
    copyBytes(this.#bytes.subarray(at + 4), frame);
    Atomics.store(w, RingWord.HEAD, (head + skip + size) | 0);
    return true;
  }

  /** Consumer: the next frame (a fresh copy the caller owns), or undefined when empty. */
  pop(): Uint8Array | undefined {
    let frame: Uint8Array | undefined;
    this.consume((f) => copyBytes(frame = new Uint8Array(f.length), f));
    return frame;
  }

  /**
   * Consumer: pass the next frame to `fn` as a view into the ring (valid only during the call),
   * then release its space. False when empty. Saves the copy {@link pop} makes.
   *
   * The producer is another thread and may be broken: a record that cannot be one a producer
   * wrote (too long, or past the head) is not trusted; everything queued is discarded and
   * counted in {@link RingWord.CORRUPT}, so the ring starts clean instead of looping on garbage.
   */
  consume(fn: (frame: Uint8Array) => void): boolean {
    const w = this.#words;
    let tail = Atomics.load(w, RingWord.TAIL) >>> 0;
    const head = Atomics.load(w, RingWord.HEAD) >>> 0;
    if (tail === head) return false;
    let pos = tail & this.#mask;
    let len = this.#view.getUint32(pos, true);
    if (len === WRAP) {
      tail = (tail + this.capacity - pos) >>> 0;
      pos = 0;
      len = this.#view.getUint32(0, true);
    }
    const size = 4 + ((len + 3) & ~3);
    if (len > this.capacity >>> 2 || size > ((head - tail) >>> 0)) {
      Atomics.add(w, RingWord.CORRUPT, 1);
      Atomics.store(w, RingWord.TAIL, head | 0);
      return false;
    }
    try {
      fn(this.#bytes.subarray(pos + 4, pos + 4 + len));
    } finally {
      Atomics.store(w, RingWord.TAIL, (tail + size) | 0);
    }
    return true;
  }

  /**
   * {@link consume} for a consumer role shared by two threads: takes the next frame only if the
   * other thread is not taking one at the same moment (false then, as when empty).
   */
  consumeLocked(fn: (frame: Uint8Array) => void): boolean {
    const w = this.#words;
    if (Atomics.compareExchange(w, RingWord.CONSUMER_LOCK, 0, 1) !== 0) return false;
    try {
      return this.consume(fn);
    } finally {
      Atomics.store(w, RingWord.CONSUMER_LOCK, 0);
    }
  }

  /**
   * Producer: wake the consumer if it said it is sleeping (true then). Call after a push or a
   * batch of pushes; when the consumer is awake this is a single atomic load.
   */
  wakeConsumer(): boolean {
    const w = this.#words;
    if (Atomics.load(w, RingWord.SLEEPING) === 0) return false;
    Atomics.store(w, RingWord.SLEEPING, 0);
    Atomics.add(w, RingWord.WAKE, 1);
    Atomics.notify(w, RingWord.WAKE);
    return true;
  }

  /**
   * Consumer: announce sleep. Returns the wake sequence to wait on, or undefined if frames (or a
   * close) arrived meanwhile and the caller should drain again instead of sleeping.
   */
  prepareSleep(): number | undefined {
    const w = this.#words;
    const seq = Atomics.load(w, RingWord.WAKE);
    Atomics.store(w, RingWord.SLEEPING, 1);
    if (!this.empty || this.closed) {
      Atomics.store(w, RingWord.SLEEPING, 0);
      return undefined;
    }
    return seq;
  }

  /** Mark the ring closed (either side) and wake its consumer. */
  close(): void {
    const w = this.#words;
    Atomics.store(w, RingWord.CLOSED, 1);
    Atomics.store(w, RingWord.SLEEPING, 0);
    Atomics.add(w, RingWord.WAKE, 1);
    Atomics.notify(w, RingWord.WAKE);
  }
}
