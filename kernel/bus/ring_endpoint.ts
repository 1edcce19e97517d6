/**
 * An {@link Endpoint} over two {@link ByteRing}s in SharedArrayBuffers, one per direction, plus
 * a shared control word for close. A drop-in for `portEndpoint` when both ends are threads of
 * one process: messages are CBOR (codec.ts) like on a port, but a round trip skips postMessage.
 *
 * Receiving never blocks the event loop: after the ring runs dry the receiver polls it for
 * `spin` microtask turns (cheap when the peer answers within microseconds), then parks in
 * `Atomics.waitAsync` on the ring's sequence word, which the producer only notifies when the
 * receiver has said it sleeps. An idle endpoint costs no CPU. Everything available is drained
 * per wake-up. Messages over the ring's record limit are split into fragments (tag
 * {@link TAG_MORE}) and joined on arrival. When the ring is full, `post` queues locally and a
 * flusher waits for the consumer to free space.
 *
 * Like a pending `Atomics.waitAsync`, an idle ring endpoint does not keep the event loop alive.
 * Messages still queued locally by back-pressure when `close()` is called are dropped.
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
/** Default number of microtask turns spent polling an empty ring before sleeping. */
export const DEFAULT_SPIN = 200;
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
  /** Microtask turns to poll an empty ring before sleeping (default {@link DEFAULT_SPIN}). */
  spin?: number;
}

/** Options for {@link createRingChannel}. */
export interface RingChannelOptions {
  /** Data bytes per direction (default 1 MiB, multiple of 8). */
  capacity?: number;
  /** Spin turns for both ends (default {@link DEFAULT_SPIN}). */
  spin?: number;
}

/** Allocate the rings for one channel: hand `a` to one thread and `b` to the other. */
export function createRingChannel(opts: RingChannelOptions = {}): { a: RingInit; b: RingInit } {
  const ab = allocRing(opts.capacity ?? DEFAULT_RING_CAPACITY);
  const ba = allocRing(opts.capacity ?? DEFAULT_RING_CAPACITY);
  const control = new SharedArrayBuffer(64);
  const spin = opts.spin;
  return {
    a: { tx: ab, rx: ba, control, ...(spin === undefined ? {} : { spin }) },
    b: { tx: ba, rx: ab, control, ...(spin === undefined ? {} : { spin }) },
  };
}

/** Open one end of a ring channel as an Endpoint (each RingInit at most once). */
export function ringEndpoint(init: RingInit): Endpoint {
  const tx = new ByteRing(init.tx);
  const rx = new ByteRing(init.rx);
  const ctl = new Int32Array(init.control);
  const spin = Math.max(0, init.spin ?? DEFAULT_SPIN);
  let handler: ((msg: unknown) => void) | undefined;
  let badHandler: ((err: unknown) => void) | undefined;
  const early: unknown[] = [];
  const closers: Array<() => void> = [];
  let closed = false;
  const peerClosed = () => Atomics.load(ctl, CLOSED) === 1;

  const finish = () => {
    if (closed) return;
    closed = true;
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
    if (handler) handler(msg);
    else early.push(msg);
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
      let ready = false;
      for (let i = 0; i < spin && !ready; i++) {
        await null;
        ready = closed || rx.hasData() || peerClosed();
      }
      if (ready) continue;
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
  const queue: RingRecord[] = [];
  let flushing = false;
  const flush = async () => {
    flushing = true;
    let i = 0;
    while (!closed && i < queue.length) {
      if (tx.tryWrite(queue[i].bytes, queue[i].tag)) {
        i++;
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
    if (peerClosed()) finish();
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
