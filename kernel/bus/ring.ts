/**
 * A single-producer single-consumer byte ring in one SharedArrayBuffer, for passing variable
 * length records between two threads without postMessage.
 *
 * Layout: a 384-byte header of Int32 words (each on its own 64-byte line so the producer's and
 * consumer's words do not share a cache line), then `capacity` data bytes.
 *
 * ```text
 *  header word   owner     meaning
 *  HEAD          producer  byte offset where the next record goes
 *  TAIL          consumer  byte offset of the oldest unread record
 *  DATA_SEQ      producer  bumped when the producer wakes a sleeping consumer
 *  SLEEPING      consumer  1 while the consumer is (about to be) waiting for data
 *  SPACE_SEQ     consumer  bumped when the consumer wakes a producer waiting for space
 *  WANT_SPACE    producer  1 while the producer is (about to be) waiting for space
 *
 *  record: | length: i32 | tag: i32 | payload (length bytes) | pad to 8 |
 *  a length of -1 is a skip marker: the rest of the data area is unused, continue at 0
 * ```
 *
 * Records never straddle the end of the data area. HEAD == TAIL means empty; the producer keeps
 * at least {@link RECORD_ALIGN} bytes free so a full ring never looks empty. Waking is lazy: a
 * side only calls `Atomics.notify` when the other side has said it is going to sleep.
 */

/** Default data capacity of a ring in bytes (1 MiB). */
export const DEFAULT_RING_CAPACITY = 1 << 20;
/** Records start on multiples of this many bytes. */
export const RECORD_ALIGN = 8;
/** Bytes of the per-record header (length and tag). */
export const RECORD_HEADER = 8;
/** Bytes before the data area in the SharedArrayBuffer. */
export const RING_HEADER_BYTES = 384;

const W = {
  head: 0,
  tail: 16,
  dataSeq: 32,
  sleeping: 48,
  spaceSeq: 64,
  wantSpace: 80,
} as const;
const SKIP = -1;

/** Allocate the SharedArrayBuffer for a ring holding `capacity` data bytes. */
export function allocRing(capacity: number = DEFAULT_RING_CAPACITY): SharedArrayBuffer {
  if (!Number.isSafeInteger(capacity) || capacity < 64 || capacity % RECORD_ALIGN !== 0) {
    throw new RangeError(`Cannot create ring: capacity ${capacity} is not a multiple of 8 ≥ 64`);
  }
  return new SharedArrayBuffer(RING_HEADER_BYTES + capacity);
}

/** One record read from a ring: its tag and a private copy of its payload. */
export interface RingRecord {
  tag: number;
  bytes: Uint8Array;
}

/**
 * A view of one ring. Exactly one thread may write (tryWrite, armSpace/waitSpace) and exactly
 * one may read (drain, armData/waitData) at a time; both may hold a ByteRing over the same SAB.
 */
export class ByteRing {
  /** Data bytes in the ring. */
  readonly capacity: number;
  /** Largest payload `tryWrite` accepts; any record up to this size eventually fits. */
  readonly maxRecord: number;
  #ctl: Int32Array;
  #data: Uint8Array;
  #view: DataView;

  constructor(sab: SharedArrayBuffer) {
    this.capacity = sab.byteLength - RING_HEADER_BYTES;
    if (this.capacity < 64 || this.capacity % RECORD_ALIGN !== 0) {
      throw new RangeError(`Cannot use ring: ${sab.byteLength} bytes is not a valid ring size`);
    }
    // About half the ring: wherever HEAD sits, an empty ring has that much room in one piece.
    this.maxRecord = align(Math.floor(this.capacity / 2) - RECORD_ALIGN + 1) - 2 * RECORD_HEADER;
    this.#ctl = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    this.#data = new Uint8Array(sab, RING_HEADER_BYTES, this.capacity);
    this.#view = new DataView(sab, RING_HEADER_BYTES, this.capacity);
  }

  /** Bytes currently used by unread records (including headers, padding and skip space). */
  get used(): number {
    const h = Atomics.load(this.#ctl, W.head);
    const t = Atomics.load(this.#ctl, W.tail);
    return h >= t ? h - t : this.capacity - t + h;
  }

  /** True when at least one record is waiting to be read. */
  hasData(): boolean {
    return Atomics.load(this.#ctl, W.head) !== Atomics.load(this.#ctl, W.tail);
  }

  /**
   * Producer: append one record. Returns false when the ring has no room right now (retry after
   * the consumer frees space). Throws RangeError for a payload over {@link maxRecord}, which
   * would never fit.
   */
  tryWrite(payload: Uint8Array, tag = 0): boolean {
    const n = payload.length;
    if (n > this.maxRecord) {
      throw new RangeError(`Cannot write ${n}-byte record: the limit is ${this.maxRecord}`);
    }
    const need = RECORD_HEADER + align(n);
    const cap = this.capacity;
    const head = Atomics.load(this.#ctl, W.head);
    const tail = Atomics.load(this.#ctl, W.tail);
    let at = head;
    if (head >= tail) {
      // Free: [head, cap) and [0, tail - ALIGN). Prefer the end; otherwise skip to 0.
      if (cap - head < need) {
        if (tail - RECORD_ALIGN < need) return false;
        this.#view.setInt32(head, SKIP, true);
        at = 0;
      } else if (head + need === cap && tail === 0) {
        return false; // would wrap HEAD onto TAIL and look empty
      }
    } else if (tail - head - RECORD_ALIGN < need) {
      return false;
    }
    this.#view.setInt32(at, n, true);
    this.#view.setInt32(at + 4, tag, true);
    this.#data.set(payload, at + RECORD_HEADER);
    const next = at + need;
    Atomics.store(this.#ctl, W.head, next === cap ? 0 : next);
    this.#signal(W.sleeping, W.dataSeq);
    return true;
  }

  /**
   * Consumer: read every record available now (up to `max`), appending copies to `out`, then
   * free their space (waking a producer that waits for it). Returns how many were read.
   */
  drain(out: RingRecord[], max = Infinity): number {
    const head = Atomics.load(this.#ctl, W.head);
    let tail = Atomics.load(this.#ctl, W.tail);
    let count = 0;
    while (tail !== head && count < max) {
      const len = this.#view.getInt32(tail, true);
      if (len === SKIP) {
        tail = 0;
        continue;
      }
      const tag = this.#view.getInt32(tail + 4, true);
      const start = tail + RECORD_HEADER;
      out.push({ tag, bytes: this.#data.slice(start, start + len) });
      const next = start + align(len);
      tail = next === this.capacity ? 0 : next;
      count++;
    }
    Atomics.store(this.#ctl, W.tail, tail);
    if (count > 0) this.#signal(W.wantSpace, W.spaceSeq);
    return count;
  }

  /**
   * Consumer: announce the intent to sleep. Returns the token to pass to {@link waitData}, or
   * undefined when data is already there (then read instead of sleeping).
   */
  armData(): number | undefined {
    return this.#arm(W.sleeping, W.dataSeq, () => this.hasData());
  }

  /** Consumer: resolves once the producer signals after {@link armData} (or at once). */
  waitData(token: number): Promise<unknown> | undefined {
    return this.#wait(W.dataSeq, token);
  }

  /** Consumer: withdraw an {@link armData} without waiting. */
  disarmData(): void {
    Atomics.store(this.#ctl, W.sleeping, 0);
  }

  /**
   * Producer: announce waiting for space after a failed tryWrite. Returns the token for
   * {@link waitSpace}, or undefined when `fits()` already holds (retry the write instead).
   */
  armSpace(fits: () => boolean): number | undefined {
    return this.#arm(W.wantSpace, W.spaceSeq, fits);
  }

  /** Producer: resolves once the consumer frees space after {@link armSpace} (or at once). */
  waitSpace(token: number): Promise<unknown> | undefined {
    return this.#wait(W.spaceSeq, token);
  }

  /** True if a record of `n` payload bytes would fit right now. */
  fits(n: number): boolean {
    const need = RECORD_HEADER + align(n);
    const head = Atomics.load(this.#ctl, W.head);
    const tail = Atomics.load(this.#ctl, W.tail);
    if (head < tail) return tail - head - RECORD_ALIGN >= need;
    if (this.capacity - head > need) return true;
    if (this.capacity - head === need) return tail !== 0;
    return tail - RECORD_ALIGN >= need;
  }

  /** Wake whoever waits on this ring, data or space, whatever their flags say (for close). */
  wakeAll(): void {
    for (const seq of [W.dataSeq, W.spaceSeq]) {
      Atomics.add(this.#ctl, seq, 1);
      Atomics.notify(this.#ctl, seq);
    }
  }

  #arm(flag: number, seq: number, ready: () => boolean): number | undefined {
    const token = Atomics.load(this.#ctl, seq);
    Atomics.store(this.#ctl, flag, 1);
    // Seq-cst store then load here, store then load in #signal's caller: one side sees the other.
    if (ready()) {
      Atomics.store(this.#ctl, flag, 0);
      return undefined;
    }
    return token;
  }

  #wait(seq: number, token: number): Promise<unknown> | undefined {
    const r = Atomics.waitAsync(this.#ctl, seq, token);
    return r.async ? r.value : undefined;
  }

  #signal(flag: number, seq: number) {
    if (Atomics.load(this.#ctl, flag) === 0) return;
    if (Atomics.compareExchange(this.#ctl, flag, 1, 0) !== 1) return;
    Atomics.add(this.#ctl, seq, 1);
    Atomics.notify(this.#ctl, seq);
  }
}

function align(n: number): number {
  return (n + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1);
}
