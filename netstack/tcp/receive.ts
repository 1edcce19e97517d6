/**
 * Receive buffer with bounded out-of-order reassembly (RFC 9293 §3.10.7.4 seventh step,
 * RFC 2018 SACK blocks).
 *
 * One byte ring of up to SO_RCVBUF bytes (grown as needed, released when empty) holds the
 * in-order bytes the application has not
 * read yet followed by the receive window. Out-of-order bytes are written straight into their
 * place in the window and tracked as at most `maxRanges` sequence ranges, so memory never grows
 * past `capacity` plus a few small records whatever the peer sends.
 */

import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqSub } from "./seqnum.ts";
import { GrowableRing } from "./_ring.ts";

/** What {@link ReceiveBuffer.insert} did with a segment. */
export interface InsertResult {
  /** Bytes newly made readable in order (RCV.NXT advanced by this much). */
  advanced: number;
  /** The segment started beyond RCV.NXT and was held for reassembly (or dropped). */
  outOfOrder: boolean;
  /** The segment filled (part of) a hole, so queued out-of-order data became readable. */
  filledHole: boolean;
  /** Payload bytes accepted (in order or queued); the rest fell outside the window. */
  accepted: number;
}

interface Range {
  start: number;
  end: number;
  stamp: number;
}

/** In-order and out-of-order received bytes of one connection. */
export class ReceiveBuffer {
  readonly capacity: number;
  readonly maxRanges: number;
  #ring: GrowableRing;
  #len = 0;
  #next = 0;
  /**
   * Where in-order bytes go when nothing is queued before them (a socket's shared rx ring):
   * returns how many it took; those count as received and already read.
   */
  sink?: (data: Uint8Array) => number;
  /** The sink takes no byte from this sequence number on (an urgent mark); undefined: any. */
  sinkLimit?: number;
  #ranges: Range[] = [];
  #stamp = 0;

  constructor(capacity: number, maxRanges = 16) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this.maxRanges = maxRanges;
    this.#ring = new GrowableRing(this.capacity);
  }

  /** Bytes of storage allocated now (grows with what is held, released when empty). */
  get allocated(): number {
    return this.#ring.allocated;
  }

  /** Set the sequence number of the next expected byte (RCV.NXT after the SYN). */
  reset(next: number): void {
    this.#next = next >>> 0;
    this.#ring.release();
    this.#len = 0;
    this.#ranges = [];
  }

  /** Sequence number of the next in-order byte expected (RCV.NXT, not counting a FIN). */
  get next(): number {
    return this.#next;
  }

  /** Bytes readable in order. */
  get length(): number {
    return this.#len;
  }

  /** Free space from RCV.NXT on: the largest window that may be offered. */
  get window(): number {
    return this.capacity - this.#len;
  }

  /** Out-of-order bytes held for reassembly. */
  get outOfOrderBytes(): number {
    return this.#ranges.reduce((n, r) => n + seqSub(r.end, r.start), 0);
  }

  /** Whether any out-of-order data is waiting for a hole to be filled. */
  get hasHoles(): boolean {
    return this.#ranges.length > 0;
  }

  /** Accept a segment's payload starting at sequence number `seq`. */
  insert(seq: number, data: Uint8Array): InsertResult {
    const result = { advanced: 0, outOfOrder: false, filledHole: false, accepted: 0 };
    let off = seqSub(seq, this.#next);
    let bytes = data;
    if (off < 0) {
      if (-off >= bytes.length) return result;
      bytes = bytes.subarray(-off);
      off = 0;
    }
    const room = this.window - off;
    if (room <= 0) {
      result.outOfOrder = off > 0;
      return result;
    }
    if (bytes.length > room) bytes = bytes.subarray(0, room);
    if (bytes.length === 0) return result;
    const sinkable = this.sinkLimit === undefined
      ? bytes.length
      : Math.min(bytes.length, Math.max(0, seqSub(this.sinkLimit, this.#next)));
    if (off === 0 && this.sink && sinkable > 0 && this.#len === 0 && this.#ranges.length === 0) {
      // In order with nothing queued before it: the reader's own ring takes what fits, and
      // only the rest is stored here.
      const n = Math.max(0, Math.min(this.sink(bytes.subarray(0, sinkable)), sinkable));
      this.#next = seqAdd(this.#next, n);
      result.accepted = result.advanced = n;
      bytes = bytes.subarray(n);
      if (bytes.length === 0) return result;
    }
    const start = seqAdd(this.#next, off);
    const end = seqAdd(start, bytes.length);
    if (off > 0) {
      result.outOfOrder = true;
      if (!this.#addRange(start, end)) return result;
      this.#put(off, bytes);
      result.accepted = bytes.length;
      return result;
    }
    this.#put(0, bytes);
    result.accepted += bytes.length;
    let newNext = end;
    while (this.#ranges.length > 0) {
      const first = this.#lowestRange();
      if (seqGt(first.start, newNext)) break;
      newNext = seqMax(newNext, first.end);
      this.#ranges.splice(this.#ranges.indexOf(first), 1);
      result.filledHole = true;
    }
    const advanced = seqSub(newNext, this.#next);
    result.advanced += advanced;
    this.#len += advanced;
    this.#next = newNext;
    return result;
  }

  /** Take up to `max` in-order bytes out of the buffer. */
  read(max = Infinity): Uint8Array {
    const out = new Uint8Array(Math.max(0, Math.min(max, this.#len)));
    this.readInto(out);
    return out;
  }

  /** Move up to `dest.length` in-order bytes into `dest`; returns the count. */
  readInto(dest: Uint8Array): number {
    const n = Math.min(dest.length, this.#len);
    if (n === 0) return 0;
    this.#ring.readAt(0, n, dest);
    this.#ring.advance(n);
    this.#len -= n;
    if (this.#len === 0 && this.#ranges.length === 0) this.#ring.release();
    return n;
  }

  /** SACK blocks (RFC 2018 §4): the most recently changed range first, at most `max`. */
  sackBlocks(max: number): Array<[number, number]> {
    return [...this.#ranges]
      .sort((a, b) => b.stamp - a.stamp)
      .slice(0, max)
      .map((r) => [r.start, r.end]);
  }

  #lowestRange(): Range {
    let low = this.#ranges[0];
    for (const r of this.#ranges) if (seqLt(r.start, low.start)) low = r;
    return low;
  }

  #addRange(start: number, end: number): boolean {
    let merged: Range = { start, end, stamp: ++this.#stamp };
    const keep: Range[] = [];
    for (const r of this.#ranges) {
      if (seqLe(r.start, merged.end) && seqGe(r.end, merged.start)) {
        merged = {
          start: seqLt(r.start, merged.start) ? r.start : merged.start,
          end: seqGt(r.end, merged.end) ? r.end : merged.end,
          stamp: merged.stamp,
        };
      } else keep.push(r);
    }
    if (keep.length >= this.maxRanges) return false;
    keep.push(merged);
    this.#ranges = keep;
    return true;
  }

  #put(off: number, bytes: Uint8Array): void {
    this.#ring.writeAt(this.#len + off, bytes);
  }
}
