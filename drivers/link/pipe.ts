/**
 * A point-to-point cable: two {@link LinkPort}s where a frame sent on one end arrives at the
 * other. Delivery goes through a shared queue, so handlers may send from inside `onFrame`
 * without recursing.
 *
 * @example
 * const [a, b] = linkPair();
 * b.onFrame((f) => console.log("got", f.length));
 * a.send(new Uint8Array(60));
 */

import { type Clock, RealClock } from "../../kernel/clock.ts";
import type { LinkPort } from "./port.ts";
import { DeliveryQueue } from "./_delivery_queue.ts";

/** Why a pipe end dropped a frame. */
export type PipeDropReason = "closed" | "peerClosed" | "noHandler" | "queueFull";

/** Counters of one pipe end; tx = sent into the cable, rx = handed to this end's handler. */
export interface PipeStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  drops: Record<PipeDropReason, number>;
}

/** One end of a {@link linkPair}, with its counters. */
export interface PipeEnd extends LinkPort {
  /** Live counters of this end. */
  readonly stats: Readonly<PipeStats>;
}

/** Options for {@link linkPair}. */
export interface PipeOptions {
  /** Clock for continuing a long drain (see DeliveryQueue). Default: a RealClock. */
  clock?: Clock;
  /** Frames in flight at once before sends are dropped with "queueFull". Default 4096. */
  queueLimit?: number;
}

class _End implements PipeEnd {
  peer!: _End;
  handler: ((frame: Uint8Array) => void) | undefined;
  closed = false;
  readonly stats: PipeStats = {
    txFrames: 0,
    txBytes: 0,
    rxFrames: 0,
    rxBytes: 0,
    drops: { closed: 0, peerClosed: 0, noHandler: 0, queueFull: 0 },
  };

  constructor(private readonly queue: DeliveryQueue) {}

  send(frame: Uint8Array): void {
    if (this.closed) {
      this.stats.drops.closed++;
      return;
    }
    if (this.peer.closed) {
      this.stats.drops.peerClosed++;
      return;
    }
    const ok = this.queue.push(() => this.peer.receive(frame));
    if (!ok) {
      this.stats.drops.queueFull++;
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  receive(frame: Uint8Array): void {
    if (this.closed) {
      this.peer.stats.drops.peerClosed++;
      return;
    }
    const h = this.handler;
    if (!h) {
      this.stats.drops.noHandler++;
      return;
    }
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    h(frame);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.handler = handler;
  }

  close(): void {
    this.closed = true;
    this.handler = undefined;
    if (this.peer.closed) this.queue.clear();
  }
}

/** Make a point-to-point cable and return its two ends. */
export function linkPair(opts: PipeOptions = {}): [PipeEnd, PipeEnd] {
  const queue = new DeliveryQueue(opts.clock ?? new RealClock(), { limit: opts.queueLimit });
  const a = new _End(queue);
  const b = new _End(queue);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
