/**
 * An {@link Endpoint} over two {@link ByteRing}s in SharedArrayBuffers, one per direction, plus
 * a shared control word for close. A drop-in for `portEndpoint` when both ends are threads of
 * one process: messages are CBOR (codec.ts) like on a port, but a round trip skips postMessage.
 *
 * Receiving never blocks the event loop: after the ring runs dry the receiver polls it for
 * `spinUs` microseconds, yielding to microtasks between polls, then parks in `Atomics.waitAsync`
 * on the ring's sequence word, which the producer only notifies when the receiver has said it
 * sleeps. Spinning pays off only when the peer answers within that window and has a CPU of its
 * own, so it backs off while it keeps missing. An idle endpoint costs no CPU. Everything
 * available is drained per wake-up. Messages over the ring's record limit are split into
 * fragments (tag {@link TAG_MORE}) and joined on arrival. When the ring is full, `post` queues
 * locally and a flusher waits for the consumer to free space.
 *
 * An open endpoint keeps the event loop alive (as a listening MessagePort does) with an idle
 * timer that never fires: a pending `Atomics.waitAsync` alone does not, and Deno would otherwise
 * end the loop before delivering a wake-up. Messages still queued locally by back-pressure when
 * `close()` is called are dropped.
 *
 * @example
 * ```ts
 * const { a, b } = createRingChannel();
 * worker.postMessage({ ring: b }); // the worker calls ringEndpoint(e.data.ring)
 * const peer = new RpcPeer(ringEndpoint(a));
 * ```
 */
import type { Endpoint } from "./endpoint.ts";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { allocRing, ByteRing, DEFAULT_RING_CAPACITY, type RingRecord } from "./ring.ts";

/** Record tag: a whole message, or the last fragment of one. */
export const TAG_WHOLE = 0;
/** Record tag: a fragment with more fragments of the same message after it. */
export const TAG_MORE = 1;
/** Default microseconds spent polling an empty ring before sleeping (see tests/bench/ring.ts). */
export const DEFAULT_SPIN_US = 20;
/** After this long delivering without a break, the receiver yields to other tasks (ms). */
const BUSY_YIELD_MS = 2;
/** Most records handled per drain before letting microtasks run. */
const DRAIN_BATCH = 256;
const CLOSED = 0;

/** One side's view of a ring channel; structured-cloneable, so it can be posted to a worker. */
export interface RingInit {
  /** Ring this side writes. */
  tx: SharedArrayBuffer;
  /** Ring this side reads. */
  rx: SharedArrayBuffer;
  /** Shared Int32 control words; word 0 is 1 once either side closed. */
  control: SharedArrayBuffer;
  /** Microseconds to poll an empty ring before sleeping (default {@link DEFAULT_SPIN_US}). */
  spinUs?: number;
  /** Spin even when spins keep missing (default false: back off, see SpinPolicy). */
  alwaysSpin?: boolean;
}

/** Options for {@link createRingChannel}. */
export interface RingChannelOptions {
  /** Data bytes per direction (default 1 MiB, multiple of 8). */
  capacity?: number;
  /** Spin time for both ends in µs (default {@link DEFAULT_SPIN_US}). */
  spinUs?: number;
  /** Both ends spin even when spins keep missing (default false). */
  alwaysSpin?: boolean;
}

/** Allocate the rings for one channel: hand `a` to one thread and `b` to the other. */
export function createRingChannel(opts: RingChannelOptions = {}): { a: RingInit; b: RingInit } {
  const ab = allocRing(opts.capacity ?? DEFAULT_RING_CAPACITY);
  const ba = allocRing(opts.capacity ?? DEFAULT_RING_CAPACITY);
  const control = new SharedArrayBuffer(64);
  const spin = {
    ...(opts.spinUs === undefined ? {} : { spinUs: opts.spinUs }),
    ...(opts.alwaysSpin === undefined ? {} : { alwaysSpin: opts.alwaysSpin }),
  };
  return {
    a: { tx: ab, rx: ba, control, ...spin },
    b: { tx: ba, rx: ab, control, ...spin },
  };
}

/** Open one end of a ring channel as an Endpoint (each RingInit at most once). */
export function ringEndpoint(init: RingInit): Endpoint {
  const tx = new ByteRing(init.tx);
  const rx = new ByteRing(init.rx);
  const ctl = new Int32Array(init.control);
  const spinMs = Math.max(0, init.spinUs ?? DEFAULT_SPIN_US) / 1000;
  const spin = new SpinPolicy(spinMs > 0, init.alwaysSpin ?? false);
  let handler: ((msg: unknown) => void) | undefined;
  let badHandler: ((err: unknown) => void) | undefined;
  const early: unknown[] = [];
  const closers: Array<() => void> = [];
  let closed = false;
  const queue: RingRecord[] = []; // records waiting for ring space, oldest first
  const peerClosed = () => Atomics.load(ctl, CLOSED) === 1;

  // Keeps the event loop alive while open; cleared on close.
  const keepAlive = setInterval(() => {}, 2 ** 30);
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(keepAlive);
    queue.length = 0;
    for (const c of closers.splice(0)) c();
  };

  // --- receiving ---
  let partial: Uint8Array[] = [];
  const deliverBytes = (bytes: Uint8Array) => {
    let msg: unknown;
    try {
      msg = decodeMessage(bytes);
    } catch (err) {
      badHandler?.(err);
      return;
    }
    if (!handler) return void early.push(msg);
    try {
      handler(msg);
    } catch (err) {
      // Report like an exception in a port's onmessage would, and keep receiving.
      queueMicrotask(() => {
        throw err;
      });
    }
  };
  const deliver = (r: RingRecord) => {
    if (r.tag === TAG_MORE) {
      partial.push(r.bytes);
      return;
    }
    if (r.tag !== TAG_WHOLE) {
      partial = [];
      badHandler?.(new TypeError(`Unknown ring record tag ${r.tag}`));
      return;
    }
    if (partial.length === 0) return deliverBytes(r.bytes);
    partial.push(r.bytes);
    deliverBytes(join(partial));
    partial = [];
  };

  const receive = async () => {
    const batch: RingRecord[] = [];
    let busySince = -1;
    while (!closed) {
      const sawClose = peerClosed();
      batch.length = 0;
      rx.drain(batch, DRAIN_BATCH);
      for (const r of batch) {
        if (closed) return;
        deliver(r);
      }
      if (sawClose && !rx.hasData()) return finish();
      if (batch.length > 0) {
        const now = performance.now();
        if (busySince < 0) busySince = now;
        if (now - busySince > BUSY_YIELD_MS) {
          await macrotask();
          busySince = -1;
        } else await null; // let handlers' microtasks (e.g. replies) run
        continue;
      }
      busySince = -1;
      if (spin.shouldSpin()) {
        let ready = false;
        const until = performance.now() + spinMs;
        for (let i = 1; !ready; i++) {
          await null;
          ready = closed || rx.hasData() || peerClosed();
          if (i % 16 === 0 && performance.now() > until) break;
        }
        spin.record(ready);
        if (ready) continue;
      }
      const token = rx.armData();
      if (token === undefined) continue;
      if (peerClosed()) {
        rx.disarmData();
        continue;
      }
      await rx.waitData(token);
    }
  };

  // --- sending ---
  let flushing = false;
  const flush = async () => {
    flushing = true;
    let i = 0;
    while (!closed && i < queue.length) {
      if (tx.tryWrite(queue[i].bytes, queue[i].tag)) {
        i++;
        if (i === 4096) {
          queue.splice(0, i); // let written records go
          i = 0;
        }
        continue;
      }
      const n = queue[i].bytes.length;
      const token = tx.armSpace(() => tx.fits(n));
      if (token === undefined) continue;
      if (peerClosed()) break;
      await tx.waitSpace(token);
    }
    queue.splice(0, i);
    flushing = false;
  };
  const push = (bytes: Uint8Array, tag: number) => {
    if (queue.length === 0 && tx.tryWrite(bytes, tag)) return;
    queue.push({ tag, bytes });
    if (!flushing) flush();
  };

  receive();
  return {
    post(msg) {
      if (closed) return;
      const bytes = new Uint8Array(encodeMessage(msg));
      const max = tx.maxRecord;
      if (bytes.length <= max) return push(bytes, TAG_WHOLE);
      for (let at = 0; at < bytes.length; at += max) {
        const end = Math.min(bytes.length, at + max);
        push(bytes.subarray(at, end), end < bytes.length ? TAG_MORE : TAG_WHOLE);
      }
    },
    listen(h, bad) {
      handler = h;
      badHandler = bad;
      for (const m of early.splice(0)) h(m);
    },
    onClose(h) {
      if (closed) h();
      else closers.push(h);
    },
    close() {
      if (closed) return;
      Atomics.store(ctl, CLOSED, 1);
      tx.wakeAll();
      rx.wakeAll();
      finish();
    },
    get closed() {
      return closed;
    },
  };
}

/**
 * When to spin: always while spins pay off; after {@link SpinPolicy.MAX_MISSES} spins in a row
 * that ended without data (the peer is slow, or has no CPU while we spin), only one sleep in
 * {@link SpinPolicy.RETRY_EVERY}, to notice when spinning starts to pay again.
 */
class SpinPolicy {
  static readonly MAX_MISSES = 2;
  static readonly RETRY_EVERY = 32;
  #enabled: boolean;
  #always: boolean;
  #misses = 0;
  #skipped = 0;

  constructor(enabled: boolean, always: boolean) {
    this.#enabled = enabled;
    this.#always = always;
  }

  shouldSpin(): boolean {
    if (!this.#enabled) return false;
    if (
      this.#always || this.#misses < SpinPolicy.MAX_MISSES ||
      this.#skipped >= SpinPolicy.RETRY_EVERY
    ) {
      this.#skipped = 0;
      return true;
    }
    this.#skipped++;
    return false;
  }

  record(hit: boolean) {
    this.#misses = hit ? 0 : this.#misses + 1;
  }
}

function join(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Resolve after other queued tasks had a turn (a MessageChannel round, ~20 µs). */
function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port2.onmessage = () => {
      ch.port1.close();
      ch.port2.close();
      resolve();
    };
    ch.port1.postMessage(null);
  });
}
