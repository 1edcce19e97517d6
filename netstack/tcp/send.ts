/**
 * Send buffer: a byte ring of fixed capacity (SO_SNDBUF) holding every byte from SND.UNA on.
 * Offset 0 is the oldest unacknowledged byte; the connection knows how many of the bytes are
 * already in flight (unacked) and which are still unsent. Storage is allocated on first write,
 * so idle or half-open connections cost no buffer memory.
 */

/** Outgoing bytes of one connection, from the oldest unacknowledged one on. */
export class SendBuffer {
  readonly capacity: number;
  #buf: Uint8Array | undefined;
  #head = 0;
  #len = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
  }

  /** Bytes held (unacknowledged plus unsent). */
  get length(): number {
    return this.#len;
  }

  /** Bytes that can still be written. */
  get free(): number {
    return this.capacity - this.#len;
  }

  /** Append as much of `data` as fits; returns the number of bytes taken (0 when full). */
  write(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    if (n === 0) return 0;
    const buf = (this.#buf ??= new Uint8Array(this.capacity));
    let pos = (this.#head + this.#len) % this.capacity;
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, this.capacity - pos);
      buf.set(data.subarray(done, done + chunk), pos);
      done += chunk;
      pos = (pos + chunk) % this.capacity;
    }
    this.#len += n;
    return n;
  }

  /** Copy of `len` bytes starting `offset` bytes after the oldest one (clamped to what is held). */
  read(offset: number, len: number): Uint8Array {
    const start = Math.max(0, Math.min(offset, this.#len));
    const n = Math.max(0, Math.min(len, this.#len - start));
    const out = new Uint8Array(n);
    if (n === 0 || !this.#buf) return out;
    let pos = (this.#head + start) % this.capacity;
    let done = 0;
    while (done < n) {
      const chunk = Math.min(n - done, this.capacity - pos);
      out.set(this.#buf.subarray(pos, pos + chunk), done);
      done += chunk;
      pos = (pos + chunk) % this.capacity;
    }
    return out;
  }

  /** Drop the `n` oldest bytes (they were acknowledged). */
  consume(n: number): void {
    const k = Math.max(0, Math.min(n, this.#len));
    this.#head = (this.#head + k) % this.capacity;
    this.#len -= k;
    if (this.#len === 0) this.#head = 0;
  }

  /** Drop everything (connection reset). */
  clear(): void {
    this.#head = 0;
    this.#len = 0;
  }
}
