/**
 * SACK scoreboard for loss recovery (RFC 6675 §§3–4): the sequence ranges the peer reported as
 * received above SND.UNA, with the IsLost() and pipe computations the sender needs.
 */

import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin, seqSub } from "./seqnum.ts";

/** DupThresh of RFC 6675 §2. */
export const DUP_THRESH = 3;

/** SACKed ranges above SND.UNA, sorted and disjoint. */
export class SackScoreboard {
  #blocks: Array<[number, number]> = [];
  readonly maxBlocks: number;

  constructor(maxBlocks = 64) {
    this.maxBlocks = maxBlocks;
  }

  /** The SACKed ranges, lowest first. */
  get blocks(): ReadonlyArray<readonly [number, number]> {
    return this.#blocks;
  }

  /** Forget everything (after an RTO, RFC 6675 §5.1, or a reset). */
  clear(): void {
    this.#blocks = [];
  }

  /**
   * Merge the peer's SACK blocks, ignoring any not inside (sndUna, sndMax]; drop what the
   * cumulative ACK now covers. Returns whether anything new was SACKed.
   */
  update(sndUna: number, sndMax: number, sack: ReadonlyArray<readonly [number, number]>): boolean {
    let changed = false;
    for (const [l, r] of sack) {
      if (!seqLt(l, r) || seqLe(l, sndUna) || seqGt(r, sndMax)) continue;
      if (this.#insert(l >>> 0, r >>> 0)) changed = true;
    }
    this.#blocks = this.#blocks
      .filter(([, r]) => seqGt(r, sndUna))
      .map(([l, r]) => [seqMax(l, sndUna), r]);
    return changed;
  }

  /** SACKed bytes above `seq`. */
  sackedAbove(seq: number): number {
    let n = 0;
    for (const [l, r] of this.#blocks) if (seqGt(r, seq)) n += seqSub(r, seqMax(l, seq));
    return n;
  }

  /** Whether `seq` is inside a SACKed range. */
  isSacked(seq: number): boolean {
    return this.#blocks.some(([l, r]) => seqGe(seq, l) && seqLt(seq, r));
  }

  /** RFC 6675 IsLost(): enough SACKed bytes or discontiguous ranges lie above `seq`. */
  isLost(seq: number, mss: number): boolean {
    let bytes = 0;
    let count = 0;
    for (const [l, r] of this.#blocks) {
      if (seqLe(r, seq)) continue;
      bytes += seqSub(r, seqMax(l, seqAdd(seq, 1)));
      count++;
    }
    return count >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss;
  }

  /** Unsacked ranges between `sndUna` and `end`, lowest first. */
  holes(sndUna: number, end: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let at = sndUna;
    for (const [l, r] of this.#blocks) {
      if (seqGe(at, end)) break;
      if (seqGt(l, at)) out.push([at, seqMin(l, end)]);
      at = seqMax(at, r);
    }
    if (seqLt(at, end)) out.push([at, end]);
    return out;
  }

  /** RFC 6675 SetPipe(): bytes believed to be in the network, in whole MSS-sized pieces. */
  pipe(sndUna: number, sndNxt: number, highRxt: number, mss: number): number {
    let pipe = 0;
    for (const [a, b] of this.holes(sndUna, sndNxt)) {
      for (let s = a; seqLt(s, b); s = seqAdd(s, Math.min(mss, seqSub(b, s)))) {
        const len = Math.min(mss, seqSub(b, s));
        if (!this.isLost(s, mss)) pipe += len;
        if (seqLt(s, highRxt)) pipe += len;
      }
    }
    return pipe;
  }

  /** RFC 6675 NextSeg() rule 1: the first lost, unsacked piece at or above `from`. */
  nextLost(sndUna: number, sndNxt: number, from: number, mss: number): [number, number] | void {
    for (const [a, b] of this.holes(sndUna, sndNxt)) {
      const s = seqMax(a, from);
      if (seqGe(s, b)) continue;
      if (this.isLost(s, mss)) return [s, Math.min(mss, seqSub(b, s))];
      return;
    }
  }

  #insert(l: number, r: number): boolean {
    const covered = this.#blocks.some(([a, b]) => seqLe(a, l) && seqGe(b, r));
    if (covered) return false;
    let nl = l;
    let nr = r;
    const keep: Array<[number, number]> = [];
    for (const [a, b] of this.#blocks) {
      if (seqLe(a, nr) && seqGe(b, nl)) {
        nl = seqMin(a, nl);
        nr = seqMax(b, nr);
      } else keep.push([a, b]);
    }
    keep.push([nl, nr]);
    keep.sort((x, y) => seqSub(x[0], y[0]));
    if (keep.length > this.maxBlocks) keep.pop();
    this.#blocks = keep;
    return true;
  }
}
