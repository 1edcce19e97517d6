/**
 * The shared-memory window of one TCP socket between a process and its netstack: two byte rings
 * in one SharedArrayBuffer the process allocates and hands over. The process writes what it
 * sends into `tx` and the netstack moves it into the connection; the netstack puts what arrives
 * in order into `rx` and the process reads it there. Neither side waits for the other while a
 * ring has room or bytes: a message ("bell") is needed only when the other side asked for one
 * because it ran dry, so bulk data crosses without a message per write.
 *
 * Indexes are running byte counts (mod 2^32) in Int32 words, read and written with Atomics so
 * the bytes copied before a publish are visible after it. tx has one writer per share (the
 * process that made it) and one reader (the netstack); rx has one writer (the netstack) and
 * readers that claim bytes with compare-exchange, so the netstack may serve a receive from the
 * same ring. Everything read from the control words is untrusted by the netstack: a count that
 * makes no sense marks the share corrupt instead of being used.
 */

import { copyBytes } from "./shared_copy.ts";

/** Bytes in each ring of a share libc makes (each ring may be 64 KiB to 4 MiB, a power of two). */
export const SHARE_RING = 2 << 20;
/** Smallest ring a share may have. */
export const MIN_SHARE_RING = 64 << 10;
/** Largest ring a share may have. */
export const MAX_SHARE_RING = 4 << 20;
const CTL_BYTES = 64;

/** Size of the SharedArrayBuffer behind a share whose rings hold `ring` bytes each. */
export function shareBytes(ring = SHARE_RING): number {
  return CTL_BYTES + 2 * ring;
}

const TX_HEAD = 0;
const TX_TAIL = 1;
const TX_BELL = 2;
const RX_HEAD = 3;
const RX_TAIL = 4;
const RX_BELL = 5;
const STATE = 6;

/** State bit: the netstack dropped the share; every call goes by message again. */
export const SHARE_REVOKED = 1;
/** State bit: tx takes no more bytes (shut down, reset or failed); a send by message says why. */
export const SHARE_WRITE_END = 2;
/** State bit: rx gets no more bytes; once it is empty a receive by message gives EOF or the error. */
export const SHARE_READ_END = 4;

/** The two rings of one socket's share, as either side sees them. */
export class SharedStream {
  readonly ctl: Int32Array;
  readonly tx: Uint8Array;
  readonly rx: Uint8Array;
  /** Bytes in each ring. */
  readonly ring: number;

  /**
   * The netstack's own copies of the indexes only it writes (tx tail, rx head): what the
   * holder writes there is never believed. Undefined on the process side.
   */
  #own?: { txTail: number; rxHead: number };

  /**
   * Views over `sab`: {@link shareBytes} long for a ring size between the limits. The netstack
   * opens it `asNetstack`, keeping its own indexes (the holder may scribble over the words).
   */
  constructor(readonly sab: SharedArrayBuffer, asNetstack = false) {
    const ring = sab instanceof SharedArrayBuffer ? (sab.byteLength - CTL_BYTES) / 2 : 0;
    if (ring < MIN_SHARE_RING || ring > MAX_SHARE_RING || (ring & (ring - 1)) !== 0) {
      throw new RangeError("not a stream share");
    }
    this.ring = ring;
    this.ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
    this.tx = new Uint8Array(sab, CTL_BYTES, ring);
    this.rx = new Uint8Array(sab, CTL_BYTES + ring, ring);
    if (asNetstack) {
      this.#own = {
        txTail: Atomics.load(this.ctl, TX_TAIL),
        rxHead: Atomics.load(this.ctl, RX_HEAD),
      };
    }
  }

  #txTail(): number {
    return this.#own ? this.#own.txTail : Atomics.load(this.ctl, TX_TAIL);
  }

  #rxHead(): number {
    return this.#own ? this.#own.rxHead : Atomics.load(this.ctl, RX_HEAD);
  }

  /** A new, empty share with rings of `ring` bytes (made by the process). */
  static create(ring = SHARE_RING): SharedStream {
    return new SharedStream(new SharedArrayBuffer(shareBytes(ring)));
  }

  /** The state bits. */
  get state(): number {
    return Atomics.load(this.ctl, STATE);
  }

  /** Set state bits (netstack). */
  setState(bits: number): void {
    Atomics.or(this.ctl, STATE, bits);
  }

  // ---- tx: the process writes, the netstack reads -----------------------------------------

  /** Bytes in tx not yet taken by the netstack; -1 if the counts are corrupt. */
  txUsed(): number {
    return used(Atomics.load(this.ctl, TX_HEAD), this.#txTail(), this.ring);
  }

  /** Copy as much of `data` into tx as fits and publish it; returns the count (process). */
  txWrite(data: Uint8Array): number {
    const u = this.txUsed();
    if (u < 0) return 0;
    const n = Math.min(data.length, this.ring - u);
    if (n === 0) return 0;
    const head = Atomics.load(this.ctl, TX_HEAD);
    copyIn(this.tx, head, data.subarray(0, n));
    Atomics.store(this.ctl, TX_HEAD, (head + n) | 0);
    return n;
  }

  /** Whether the netstack asked to be told of new tx bytes; clears the request (process). */
  txTakeBell(): boolean {
    return Atomics.exchange(this.ctl, TX_BELL, 0) !== 0;
  }

  /** The contiguous run of tx bytes at the tail, at most `max` long (netstack; no copy). */
  txPeek(max: number): Uint8Array {
    const u = this.txUsed();
    if (u <= 0) return this.tx.subarray(0, 0);
    const at = (this.#txTail() >>> 0) % this.ring;
    return this.tx.subarray(at, at + Math.min(u, max, this.ring - at));
  }

  /** Copy `n` tx bytes from `offset` after the tail into `out` at `o` (netstack). */
  txReadAt(offset: number, n: number, out: Uint8Array, o = 0): void {
    copyOut(this.tx, (this.#txTail() >>> 0) + offset, out.subarray(o, o + n));
  }

  /**
   * Put bytes at `offset` after the tail and publish them as written (netstack, before the
   * holder writes anything: the bytes a connection already held when its rings were shared).
   */
  txPlace(offset: number, data: Uint8Array): void {
    const at = (this.#txTail() >>> 0) + offset;
    copyIn(this.tx, at, data);
    Atomics.store(this.ctl, TX_HEAD, (at + data.length) | 0);
  }

  /** Mark `n` tx bytes taken (netstack). */
  txConsume(n: number): void {
    const tail = (this.#txTail() + n) | 0;
    if (this.#own) this.#own.txTail = tail;
    Atomics.store(this.ctl, TX_TAIL, tail);
  }

  /**
   * Ask for a bell on the next tx write (netstack, when it has taken all but the `held` bytes
   * its send buffer keeps there). Returns true if bytes arrived meanwhile, so the caller takes
   * them now instead of waiting.
   */
  txArmBell(held = 0): boolean {
    Atomics.store(this.ctl, TX_BELL, 1);
    return this.txUsed() > held;
  }

  // ---- rx: the netstack writes, readers claim ----------------------------------------------

  /** Bytes in rx not yet read; -1 if the counts are corrupt. */
  rxUsed(): number {
    return used(this.#rxHead(), Atomics.load(this.ctl, RX_TAIL), this.ring);
  }

  /** The contiguous free run of rx at the head, at most `max` long, to fill in place (netstack). */
  rxSpace(max: number): Uint8Array {
    const u = this.rxUsed();
    if (u < 0) return this.rx.subarray(0, 0);
    const at = (this.#rxHead() >>> 0) % this.ring;
    return this.rx.subarray(at, at + Math.min(this.ring - u, max, this.ring - at));
  }

  /** Publish `n` bytes written into {@link rxSpace} (netstack). */
  rxCommit(n: number): void {
    const head = (this.#rxHead() + n) | 0;
    if (this.#own) this.#own.rxHead = head;
    Atomics.store(this.ctl, RX_HEAD, head);
  }

  /**
   * Take up to `max` bytes out of rx (a copy); with `peek` they stay. Safe against another
   * reader: bytes are claimed by compare-exchange after they are copied.
   */
  rxRead(max: number, peek = false): Uint8Array {
    for (;;) {
      const tail = Atomics.load(this.ctl, RX_TAIL);
      const u = this.rxUsed();
      const n = Math.min(Math.max(u, 0), max);
      const out = new Uint8Array(n);
      copyOut(this.rx, tail, out);
      if (peek || n === 0) return out;
      if (Atomics.compareExchange(this.ctl, RX_TAIL, tail, (tail + n) | 0) === tail) return out;
    }
  }

  /** Ask for a bell once a reader frees room in rx (netstack, when rx is full). */
  rxArmBell(): boolean {
    Atomics.store(this.ctl, RX_BELL, 1);
    return this.rxUsed() < this.ring;
  }

  /** Whether the netstack asked to be told rx has room; clears the request (reader). */
  rxTakeBell(): boolean {
    return Atomics.exchange(this.ctl, RX_BELL, 0) !== 0;
  }
}

/** Bytes between tail and head, or -1 when that is more than the ring can hold. */
function used(head: number, tail: number, ring: number): number {
  const u = (head - tail) >>> 0;
  return u <= ring ? u : -1;
}

/** Copy `data` into `ring` at running count `at`, wrapping. */
function copyIn(ring: Uint8Array, at: number, data: Uint8Array): void {
  const pos = (at >>> 0) % ring.length;
  const first = Math.min(data.length, ring.length - pos);
  copyBytes(ring.subarray(pos), data.subarray(0, first));
  if (first < data.length) copyBytes(ring, data.subarray(first));
}

/** Fill `out` from `ring` at running count `at`, wrapping. */
function copyOut(ring: Uint8Array, at: number, out: Uint8Array): void {
  const pos = (at >>> 0) % ring.length;
  const first = Math.min(out.length, ring.length - pos);
  copyBytes(out, ring.subarray(pos, pos + first));
  if (first < out.length) copyBytes(out.subarray(first), ring.subarray(0, out.length - first));
}
