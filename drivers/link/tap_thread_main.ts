/**
 * One TAP thread (see tap_threads.ts): the receive thread blocks in `poll()` and reads frames
 * from the TAP into the netstack's ring; the transmit thread sleeps in `Atomics.wait` on the
 * other ring and writes what arrives. It runs with FFI and read access to drivers/link/ only.
 */
import { FrameRing, RingWord } from "./frame_ring.ts";
import {
  completeChecksum,
  GsoBuilder,
  parseVnetHdr,
  VNET_F_NEEDS_CSUM,
  VNET_HDR_LEN,
} from "./vnet_hdr.ts";
import {
  EAGAIN,
  EINTR,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  TapThreadCounter,
  type TapThreadStart,
} from "./tap_thread_abi.ts";

/** Longest a partly gathered GSO packet waits for more segments before it is sent (ms). */
const GSO_HOLD_MS = 0.1;

/** Serve the start message: run the receive or transmit loop until told to stop. */
export function tapThread(): void {
  const C = TapThreadCounter;
  const scope = self as unknown as {
    onmessage: (e: MessageEvent) => void;
    postMessage(message: unknown): void;
  };
  scope.onmessage = (e: MessageEvent) => {
    const s = e.data as TapThreadStart;
    const lib = Deno.dlopen("libc.so.6", {
      read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
      poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
      __errno_location: { parameters: [], result: "pointer" },
    });
    const f = lib.symbols;
    const errno = () => {
      const p = f.__errno_location();
      return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
    };
    const ring = new FrameRing(s.ring);
    const txRing = new FrameRing(s.txRing);
    const counters = new Int32Array(s.counters);
    const put = (bytes: Uint8Array) => {
      const k = Number(f.write(s.fd, bytes, BigInt(bytes.length)));
      if (k >= 0) Atomics.add(counters, C.TX_FRAMES, 1);
      else if (errno() === EAGAIN) Atomics.add(counters, C.TX_FULL, 1);
      else Atomics.add(counters, C.WRITE_ERRORS, 1);
    };
    // With offloads on, frames go out behind a virtio-net header, and a run of full-sized
    // segments of one TCP flow goes out as one GSO packet (GsoBuilder).
    const gso = new GsoBuilder(new Uint8Array(VNET_HDR_LEN + 65_535 + 14), s.mtu);
    const flush = () => {
      const bytes = gso.take();
      if (bytes) put(bytes);
    };
    const write = (frame: Uint8Array) => {
      if (!s.vnet) return put(frame);
      if (gso.add(frame)) return;
      flush();
      if (!gso.add(frame)) Atomics.add(counters, C.WRITE_ERRORS, 1); // larger than any frame
    };
    /** The frame behind a virtio-net header, its checksum finished if Linux left it partial. */
    const received = (b: Uint8Array): Uint8Array | undefined => {
      if (b.length <= VNET_HDR_LEN) return undefined;
      const h = parseVnetHdr(b);
      const frame = b.subarray(VNET_HDR_LEN);
      if ((h.flags & VNET_F_NEEDS_CSUM) && !completeChecksum(frame, h.csumStart, h.csumOffset)) {
        return undefined;
      }
      return frame;
    };
    const stopped = () => Atomics.load(counters, C.STOP) !== 0 || ring.closed;
    scope.postMessage("started");
    try {
      if (s.role === "rx") {
        const pfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
        const view = new DataView(pfd.buffer);
        view.setInt32(0, s.fd, true);
        view.setInt16(4, POLLIN, true);
        const buf = new Uint8Array(s.bufferBytes);
        const size = BigInt(buf.length);
        while (!stopped()) {
          view.setInt16(6, 0, true);
          if (f.poll(pfd, 1n, s.pollTimeoutMs) <= 0) continue; // timeout, or EINTR
          const revents = view.getInt16(6, true);
          if (revents & POLLIN) {
            let n = 0;
            while (n < s.batchLimit) {
              const k = Number(f.read(s.fd, buf, size));
              if (k < 0) {
                const err = errno();
                if (err === EINTR) continue;
                if (err !== EAGAIN) Atomics.add(counters, C.READ_ERRORS, 1);
                break;
              }
              if (k === 0) break;
              n++;
              const frame = s.vnet ? received(buf.subarray(0, k)) : buf.subarray(0, k);
              if (!frame) Atomics.add(counters, C.READ_ERRORS, 1);
              else if (ring.push(frame)) Atomics.add(counters, C.RX_FRAMES, 1);
              else Atomics.add(counters, C.RX_RING_FULL, 1);
            }
            if (n > 0) ring.wakeConsumer();
            // Stay awake a moment: the answer (an echo reply, an ACK) usually follows within a
            // few hundred µs, and writing it from here saves waking the transmit thread.
            let until = performance.now() + s.spinMs;
            while (performance.now() < until && !stopped()) {
              if (txRing.consumeLocked(write)) until = performance.now() + s.spinMs;
              flush();
              view.setInt16(6, 0, true);
              if (f.poll(pfd, 1n, 0) !== 0) break;
            }
          }
          if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
            // The interface is gone (deleted, or its namespace destroyed): stop.
            Atomics.add(counters, C.READ_ERRORS, 1);
            break;
          }
        }
      } else {
        while (!stopped()) {
          while (ring.consumeLocked(write));
          if (gso.open) {
            // The netstack sends a burst a segment at a time: give the rest a moment to join.
            const seq = ring.prepareSleep();
            if (seq !== undefined) Atomics.wait(ring.words, RingWord.WAKE, seq, GSO_HOLD_MS);
            if (!ring.empty) continue;
          }
          flush();
          const seq = ring.prepareSleep();
          if (seq !== undefined) Atomics.wait(ring.words, RingWord.WAKE, seq, s.pollTimeoutMs);
        }
      }
    } finally {
      Atomics.add(counters, C.EXITED, 1);
      lib.close();
      scope.postMessage("done");
    }
  };
}

tapThread();
