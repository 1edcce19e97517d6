/**
 * A LinkPort over a MessagePort. Two modes:
 *
 * - Shared rings (the fast path): the side created with `{ shared: true }` makes two
 *   {@link FrameRing}s and posts them over the port; from then on frames travel through the
 *   rings and the port carries nothing. A receiver sleeping on an empty ring is woken with
 *   `Atomics.notify` (about half the latency of a message here, and no per-batch structured
 *   clone); a burst costs one wake-up however many frames it holds.
 * - Messages (until the rings arrive, or when neither side asks for them): frames sent in one
 *   turn of the event loop travel together as one message, their buffers transferred.
 *
 * Frames that cannot be delivered (full ring, closed link, no handler, malformed message) are
 * counted in `stats.dropped`, never lost silently.
 */
import { DEFAULT_RING_BYTES, FrameRing, RingWord } from "./frame_ring.ts";
import type { LinkPort } from "./port.ts";
import { pumpRing } from "./ring_pump.ts";

/** Most frames carried by one message. */
export const MAX_BATCH = 256;

/** Options for {@link messagePortLink}. */
export interface MessageLinkOptions {
  /**
   * Offer shared frame rings to the other side (default false: accept them if offered). Set it
   * on exactly one end of a channel: two offers cross and neither is taken up.
   */
  shared?: boolean;
  /** Data bytes per ring direction (power of two; default 4 MiB). */
  ringBytes?: number;
}

/** The message that hands the rings over: `rx` is the receiver's receive ring. */
interface RingOffer {
  serinRings: { rx: SharedArrayBuffer; tx: SharedArrayBuffer };
}

/**
 * Offer a pair of fresh shared rings to the {@link messagePortLink} at the other end of `port`
 * and return this side's ends: `rx` carries the peer's frames to us, `tx` ours to the peer.
 */
export function offerRings(
  port: MessagePort,
  ringBytes = DEFAULT_RING_BYTES,
): { rx: FrameRing; tx: FrameRing } {
  const mine = FrameRing.create(ringBytes);
  const theirs = FrameRing.create(ringBytes);
  port.postMessage({ serinRings: { rx: theirs, tx: mine } } satisfies RingOffer);
  return { rx: new FrameRing(mine), tx: new FrameRing(theirs) };
}

/** Counters of a {@link messagePortLink}. */
export interface MessageLinkStats {
  sentFrames: number;
  /** Messages posted; with shared rings, wake-ups sent to a sleeping receiver. */
  sentBatches: number;
  receivedFrames: number;
  /** Frames dropped for any reason (the sum of the reasons below and malformed messages). */
  dropped: number;
  /** Sends refused because the shared ring was full. */
  ringFull: number;
  /** Frames that arrived with no handler registered. */
  noHandler: number;
  /** Sends after close. */
  closedDrops: number;
}

/** Wrap one end of a MessageChannel as a LinkPort. */
export function messagePortLink(
  port: MessagePort,
  opts: MessageLinkOptions = {},
): LinkPort & { readonly stats: MessageLinkStats } {
  let handler: ((f: Uint8Array) => void) | undefined;
  let burstEnd: (() => void) | undefined;
  let out: ArrayBuffer[] = [];
  let scheduled = false;
  let closed = false;
  let tx: FrameRing | undefined;
  let rx: FrameRing | undefined;
  const stats: MessageLinkStats = {
    sentFrames: 0,
    sentBatches: 0,
    receivedFrames: 0,
    dropped: 0,
    ringFull: 0,
    noHandler: 0,
    closedDrops: 0,
  };
  const deliver = (f: Uint8Array) => {
    stats.receivedFrames++;
    if (handler) handler(f);
    else {
      stats.noHandler++;
      stats.dropped++;
    }
  };
  const flush = () => {
    scheduled = false;
    while (out.length) {
      const batch = out.splice(0, MAX_BATCH);
      stats.sentBatches++;
      port.postMessage(batch, batch);
    }
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  };
  const startRings = (mine: { rx: FrameRing; tx: FrameRing }) => {
    tx = mine.tx;
    rx = mine.rx;
    // Frames queued for a message not yet posted go into the ring instead, in order.
    for (const b of out.splice(0)) if (!tx.push(new Uint8Array(b))) countFull();
    tx.wakeConsumer();
    void pumpRing(rx, deliver, () => burstEnd?.(), () => closed);
  };
  const countFull = () => {
    stats.ringFull++;
    stats.dropped++;
  };
  port.onmessage = (e: MessageEvent) => {
    const data = e.data as unknown;
    if (!Array.isArray(data)) {
      const offer = (data as Partial<RingOffer> | null)?.serinRings;
      if (!tx && offer && FrameRing.isRing(offer.rx) && FrameRing.isRing(offer.tx)) {
        return startRings({ rx: new FrameRing(offer.rx), tx: new FrameRing(offer.tx) });
      }
      stats.dropped++;
      return;
    }
    for (const b of data) {
      if (b instanceof ArrayBuffer) deliver(new Uint8Array(b));
      else stats.dropped++;
    }
    burstEnd?.();
  };
  if (opts.shared) startRings(offerRings(port, opts.ringBytes));
  return {
    stats,
    send(frame) {
      if (closed || tx?.closed) {
        stats.closedDrops++;
        stats.dropped++;
        return;
      }
      if (tx) {
        if (!tx.push(frame)) return countFull();
        stats.sentFrames++;
        // Wake a sleeping receiver now, not at the end of this turn: it starts on this frame
        // while we carry on (the check costs one atomic load when it is awake).
        if (tx.wakeConsumer()) stats.sentBatches++;
        return;
      }
      // Transfer needs a whole, unshared buffer: copy views into larger or pooled buffers.
      const whole = frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength &&
        frame.buffer instanceof ArrayBuffer;
      out.push(whole ? frame.buffer as ArrayBuffer : frame.slice().buffer);
      stats.sentFrames++;
      schedule();
    },
    onFrame(h) {
      handler = h;
    },
    onBurstEnd(callback) {
      burstEnd = callback;
    },
    linkDrops() {
      const drops: Record<string, number> = {
        // Counted by the producer on the far side, in the ring's shared header.
        "link: rx-ring-full": rx?.fullDrops ?? 0,
        "link: rx-ring-corrupt": rx ? Atomics.load(rx.words, RingWord.CORRUPT) : 0,
        "link: rx-no-handler": stats.noHandler,
        "link: tx-ring-full": stats.ringFull,
        "link: tx-closed": stats.closedDrops,
      };
      for (const k in drops) if (drops[k] === 0) delete drops[k];
      return drops;
    },
    close() {
      closed = true;
      out = [];
      tx?.close();
      rx?.close();
      port.close();
    },
  };
}
