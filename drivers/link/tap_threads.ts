/**
 * The fast path between a TAP device and a netstack: two dedicated threads move frames between
 * the TAP descriptor and the netstack's shared {@link FrameRing}s, so no event loop sits in the
 * way. (NIC models, fault injection and capture keep using tap.ts in the hardware worker: there
 * a thread would only add a hop, since the worker writes to the TAP directly.) The receive thread blocks in `poll()` and reads until EAGAIN into the ring; the transmit
 * thread sleeps in `Atomics.wait` on the other ring and writes what arrives. Each wakes in tens
 * of microseconds, where a promise-based FFI poll plus a message hop took hundreds.
 *
 * The threads run tap_thread_main.ts with FFI and read access to this directory only (the
 * hardware worker is given the same for drivers/).
 *
 * Every frame that cannot be passed on is counted: ring full (in the ring header), read and
 * write errors, EAGAIN on write (see {@link TapThreadCounter}).
 */
import type { FrameRing } from "./frame_ring.ts";
import { TapThreadCounter, type TapThreadStart } from "./tap_thread_abi.ts";
import { VNET_HDR_LEN } from "./vnet_hdr.ts";

export { TapThreadCounter };
import { offerRings } from "./message_link.ts";
import { closeTapDescriptor, openTapDescriptor } from "./tap.ts";

/** Options for {@link attachTapThreads}. */
export interface TapThreadsOptions {
  /** Longest a blocking poll or wait lasts before checking for stop, in ms. Default 50. */
  pollTimeoutMs?: number;
  /** Most frames read per pass before waking the netstack. Default 256. */
  batchLimit?: number;
  /** Read buffer size, the largest frame accepted. Default 65,536, or 68 KiB with offload. */
  bufferBytes?: number;
  /**
   * Turn on TAP offloads (default true): Linux sends TCP super-segments of up to 64 KB with
   * partial checksums, which the receive thread completes, instead of 1500-byte frames.
   */
  offload?: boolean;
  /** The interface MTU: a TCP super-segment the netstack sends is cut to it by Linux. */
  mtu?: number;
  /**
   * How long the receive thread keeps writing replies itself after a read, in ms. Default 0:
   * on a 2-vCPU machine the spinning costs bulk throughput more than it saves in latency
   * (0.5 ms took about 15% off ping but 30% off bulk TCP).
   */
  spinMs?: number;
}

/** A running TAP thread pair. */
export interface TapThreads extends AsyncDisposable {
  /** Resolves once both threads are running (frames from Linux wait in the TAP until then). */
  readonly ready: Promise<void>;
  /** Live counters, indexed by {@link TapThreadCounter}. */
  readonly counters: Int32Array;
  /** Stop both threads, wait for them, close the descriptor. */
  close(): Promise<void>;
}

/**
 * Open TAP `name`, offer shared rings to the netstack's {@link messagePortLink} at the other end
 * of `port`, and start the two threads. Frames the netstack posts as messages before it takes
 * up the rings are written from this thread.
 */
export function attachTapThreads(
  name: string,
  port: MessagePort,
  opts: TapThreadsOptions = {},
): TapThreads {
  const offload = opts.offload ?? true;
  const fd = openTapDescriptor(name, offload);
  const rings = offerRings(port);
  const counters = new Int32Array(new SharedArrayBuffer(32));
  const early = _earlyWriter(fd, counters, offload);
  port.onmessage = (e: MessageEvent) => {
    if (!Array.isArray(e.data)) return;
    for (const b of e.data) if (b instanceof ArrayBuffer) early(new Uint8Array(b));
  };
  // Frames from Linux go into the netstack's receive ring; the netstack's sends come out of tx.
  return _startThreads(name, fd, counters, rings.tx, rings.rx, opts, () => port.close());
}

/** Start the receive thread (Linux → `toStack`) and the transmit thread (`fromStack` → Linux). */
function _startThreads(
  name: string,
  fd: number,
  counters: Int32Array,
  toStack: FrameRing,
  fromStack: FrameRing,
  opts: TapThreadsOptions,
  onClosed?: () => void,
): TapThreads {
  const url = new URL("./tap_thread_main.ts", import.meta.url).href;
  const started: Promise<void>[] = [];
  const start = (role: "rx" | "tx", ring: FrameRing) => {
    const w = new Worker(url, {
      type: "module",
      name: `tap ${name} ${role}`,
      deno: { permissions: _FFI_ONLY },
    } as WorkerOptions);
    let up = () => {};
    started.push(new Promise<void>((resolve) => (up = resolve)));
    const done = new Promise<void>((resolve) => {
      w.onmessage = (e) => e.data === "done" ? resolve() : up();
      w.onerror = (e) => {
        e.preventDefault();
        const which = role === "rx" ? TapThreadCounter.READ_ERRORS : TapThreadCounter.WRITE_ERRORS;
        Atomics.add(counters, which, 1);
        up();
        resolve();
      };
    });
    w.postMessage(
      {
        role,
        fd,
        ring: ring.sab,
        txRing: fromStack.sab,
        spinMs: opts.spinMs ?? 0,
        counters: counters.buffer as SharedArrayBuffer,
        pollTimeoutMs: opts.pollTimeoutMs ?? 50,
        batchLimit: opts.batchLimit ?? 256,
        bufferBytes: opts.bufferBytes ?? (opts.offload ?? true ? 69_632 : 65_536),
        vnet: opts.offload ?? true,
        mtu: opts.mtu ?? 1500,
      } satisfies TapThreadStart,
    );
    return done.then(() => w.terminate());
  };
  const finished = Promise.all([start("rx", toStack), start("tx", fromStack)]);
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      Atomics.store(counters, TapThreadCounter.STOP, 1);
      toStack.close();
      fromStack.close();
      await finished;
      onClosed?.();
      closeTapDescriptor(fd);
    })();
  const ready = Promise.all(started).then(() => {});
  return { ready, counters, close, [Symbol.asyncDispose]: close };
}

/** FFI, and reading this directory's modules (the thread's own code). */
const _FFI_ONLY = {
  ffi: true,
  // This folder's modules, and the copy routine the frame rings use.
  read: [
    new URL(".", import.meta.url).pathname,
    new URL("../../kernel/bus/shared_copy.ts", import.meta.url).pathname,
  ],
  write: false,
  net: false,
  env: false,
  run: false,
  sys: false,
  import: false,
};

/** A writer for frames that arrive as messages before the netstack switched to the rings. */
function _earlyWriter(fd: number, counters: Int32Array, vnet: boolean): (f: Uint8Array) => void {
  const lib = Deno.dlopen("libc.so.6", {
    write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  }).symbols;
  return (frame) => {
    // With offloads on, a frame goes out behind an all-zero header: nothing left to finish.
    const f = vnet ? new Uint8Array(VNET_HDR_LEN + frame.length) : frame;
    if (vnet) f.set(frame, VNET_HDR_LEN);
    if (Number(lib.write(fd, f, BigInt(f.length))) < 0) {
      Atomics.add(counters, TapThreadCounter.WRITE_ERRORS, 1);
    } else Atomics.add(counters, TapThreadCounter.TX_FRAMES, 1);
  };
}
