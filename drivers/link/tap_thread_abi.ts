/**
 * What a TAP thread (tap_thread_main.ts) and the code starting it (tap_threads.ts) share: the
 * start message, the indices of the shared counters, and the poll/errno numbers every TAP
 * reader uses (tap.ts too). It imports nothing, so the thread can load it with read access to
 * drivers/link/ only.
 */

/** poll() events and errno values (Linux). */
export const POLLIN = 0x001;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const EINTR = 4;
export const EAGAIN = 11;

/** Indices of the shared counters of a TAP thread pair. */
export const TapThreadCounter = {
  /** Nonzero: both threads should stop. */
  STOP: 0,
  RX_FRAMES: 1,
  TX_FRAMES: 2,
  READ_ERRORS: 3,
  WRITE_ERRORS: 4,
  /** Writes refused with EAGAIN (the TAP's queue was full): frame dropped. */
  TX_FULL: 5,
  /** Threads that have finished. */
  EXITED: 6,
  /** Frames read while the ring to the netstack was full: dropped. */
  RX_RING_FULL: 7,
} as const;

/** What a TAP thread receives at start. */
export interface TapThreadStart {
  role: "rx" | "tx";
  fd: number;
  ring: SharedArrayBuffer;
  /** The transmit ring: with `spinMs` > 0 the receive thread also writes from it after a read. */
  txRing: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  spinMs: number;
  pollTimeoutMs: number;
  batchLimit: number;
  bufferBytes: number;
  /** Every frame read or written carries a virtio-net header (the TAP has offloads on). */
  vnet: boolean;
  /** The interface MTU (sizes the segments of a TCP super-segment sent as one frame). */
  mtu: number;
}
