/**
 * A Linux TAP device as a cable, through Deno FFI on libc. Frames the kernel sends out of the
 * TAP interface arrive at `onFrame`; frames passed to `send` enter the kernel as if received
 * by that interface. Needs `--allow-ffi` and CAP_NET_ADMIN (or a TAP owned by the user).
 *
 * The receive loop waits in `poll()` (run off the main thread, so the event loop stays free)
 * for at most `pollTimeoutMs`, then reads with `read()` until EAGAIN or `batchLimit` frames,
 * and delivers the batch. `send` is a direct `write()`. The device may already exist (e.g.
 * `ip tuntap add dev NAME mode tap`, then it stays after close) or is created by the open
 * (then it vanishes when closed). The open descriptor keeps working if the interface is later
 * moved to another network namespace.
 *
 * @example
 * await using tap = await openTap("serin0");
 * tap.onFrame((f) => console.log("kernel sent", f.length, "bytes"));
 * tap.send(frame);
 */

import { ErrnoError, errnoName } from "../../kernel/errno.ts";
import type { LinkPort } from "./port.ts";
import { EAGAIN, EINTR, POLLERR, POLLHUP, POLLIN, POLLNVAL } from "./tap_thread_abi.ts";

/** Why a TAP link dropped a frame. */
export type TapDropReason = "closed" | "full" | "writeError" | "noHandler";

/** Counters of a TAP link; rx = read from the kernel, tx = written to the kernel. */
export interface TapStats {
  rxFrames: number;
  rxBytes: number;
  /** Read passes that returned at least one frame. */
  rxBatches: number;
  txFrames: number;
  txBytes: number;
  /** Failed reads other than EAGAIN. */
  readErrors: number;
  drops: Record<TapDropReason, number>;
}

/** An open TAP device: a {@link LinkPort} plus counters. */
export interface TapLink extends LinkPort, AsyncDisposable {
  /** Interface name. */
  readonly name: string;
  /** Live counters. */
  readonly stats: Readonly<TapStats>;
  /** Resolves once the receive loop has stopped and the descriptor is closed. */
  readonly closed: Promise<void>;
}

/** Options for {@link openTap}. */
export interface TapOptions {
  /** Longest a single poll() waits before checking for close, in ms. Default 50. */
  pollTimeoutMs?: number;
  /** Most frames read per batch before delivering and polling again. Default 256. */
  batchLimit?: number;
  /** Read buffer size, the largest frame accepted. Default 65,536. */
  bufferBytes?: number;
}

const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
/** _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
/** _IOW('T', 208, unsigned int) */
const TUNSETOFFLOAD = 0x400454d0;
const TUN_F_CSUM = 0x01;
const TUN_F_TSO4 = 0x02;
const TUN_F_TSO6 = 0x04;
/** Interface names are at most 15 bytes plus NUL. */
const IFNAMSIZ = 16;
/** struct ifreq: 16-byte name, then a union whose first member is `short ifr_flags`. */
const IFREQ_LEN = 40;
const IFREQ_FLAGS = 16;

const _SYMBOLS = {
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type _Libc = Deno.DynamicLibrary<typeof _SYMBOLS>["symbols"];

let _libc: _Libc | undefined;

/** libc, opened on first use so importing this module needs no FFI permission. */
function _lib(): _Libc {
  _libc ??= Deno.dlopen("libc.so.6", _SYMBOLS).symbols;
  return _libc;
}

function _errno(lib: _Libc): number {
  const p = lib.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/**
 * Open (or create) the TAP interface `name` and start its receive loop.
 * Throws {@link ErrnoError} if /dev/net/tun cannot be opened or the interface attached.
 */
export function openTap(name: string, opts: TapOptions = {}): Promise<TapLink> {
  try {
    return Promise.resolve(new _Tap(_lib(), openTapDescriptor(name), name, opts));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Open (or create) the TAP interface `name` and return its nonblocking descriptor, for callers
 * that run their own I/O loop (tap_threads.ts); close it with {@link closeTapDescriptor}.
 * Throws {@link ErrnoError} if /dev/net/tun cannot be opened or the interface attached.
 *
 * With `offload`, every frame read or written carries a virtio-net header (vnet_hdr.ts) and
 * Linux is told it may hand over TCP super-segments (TSO4/6) with partial checksums, as to a
 * virtio-net device: far fewer, larger frames for a bulk flow from Linux.
 */
export function openTapDescriptor(name: string, offload = false): number {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length === 0 || nameBytes.length >= IFNAMSIZ || nameBytes.includes(0)) {
    throw new ErrnoError("EINVAL", `Cannot open TAP "${name}": bad name`);
  }
  const lib = _lib();
  const path = new TextEncoder().encode("/dev/net/tun\0");
  const fd = lib.open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) throw new ErrnoError(errnoName(_errno(lib)), "Cannot open /dev/net/tun");
  const ifr = new Uint8Array(IFREQ_LEN);
  ifr.set(nameBytes, 0);
  const flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
  new DataView(ifr.buffer).setUint16(IFREQ_FLAGS, flags, true);
  if (lib.ioctl(fd, BigInt(TUNSETIFF), ifr) < 0) {
    const code = errnoName(_errno(lib));
    lib.close(fd);
    throw new ErrnoError(code, `Cannot attach TAP "${name}"`);
  }
  const features = BigInt(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
  // Should Linux refuse the offloads, the headers stay and its frames stay ordinary.
  if (offload) lib.ioctlInt(fd, BigInt(TUNSETOFFLOAD), features);
  return fd;
}

/** Close a descriptor from {@link openTapDescriptor}. */
export function closeTapDescriptor(fd: number): void {
  _lib().close(fd);
}

class _Tap implements TapLink {
  readonly stats: TapStats = {
    rxFrames: 0,
    rxBytes: 0,
    rxBatches: 0,
    txFrames: 0,
    txBytes: 0,
    readErrors: 0,
    drops: { closed: 0, full: 0, writeError: 0, noHandler: 0 },
  };
  readonly closed: Promise<void>;
  #handler: ((frame: Uint8Array) => void) | undefined;
  #closing = false;
  readonly #lib: _Libc;
  readonly #fd: number;
  readonly #pollTimeout: number;
  readonly #batchLimit: number;
  readonly #buf: Uint8Array;

  constructor(lib: _Libc, fd: number, readonly name: string, opts: TapOptions) {
    this.#lib = lib;
    this.#fd = fd;
    this.#pollTimeout = opts.pollTimeoutMs ?? 50;
    this.#batchLimit = opts.batchLimit ?? 256;
    this.#buf = new Uint8Array(opts.bufferBytes ?? 65_536);
    this.closed = this.#loop().catch(() => {
      this.stats.readErrors++; // poll itself failed; the descriptor is closed all the same
    });
  }

  send(frame: Uint8Array): void {
    if (this.#closing) {
      this.stats.drops.closed++;
      return;
    }
    const n = Number(this.#lib.write(this.#fd, frame, BigInt(frame.length)));
    if (n < 0) {
      if (_errno(this.#lib) === EAGAIN) this.stats.drops.full++;
      else this.stats.drops.writeError++;
      return;
    }
    this.stats.txFrames++;
    this.stats.txBytes += frame.length;
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.#handler = handler;
  }

  close(): void {
    this.#closing = true;
    this.#handler = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }

  /** Poll, read a batch, deliver it; the descriptor is closed only after the last poll. */
  async #loop(): Promise<void> {
    const pfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
    const view = new DataView(pfd.buffer);
    view.setInt32(0, this.#fd, true);
    view.setInt16(4, POLLIN, true);
    try {
      while (!this.#closing) {
        view.setInt16(6, 0, true);
        const ready = await this.#lib.poll(pfd, 1n, this.#pollTimeout);
        if (this.#closing) break;
        if (ready <= 0) continue; // timeout, or EINTR
        const revents = view.getInt16(6, true);
        if (revents & POLLIN) this.#readBatch();
        if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
          // The interface is gone (deleted, or its namespace destroyed): stop.
          this.stats.readErrors++;
          this.#closing = true;
        }
      }
    } finally {
      this.#closing = true;
      this.#lib.close(this.#fd);
    }
  }

  #readBatch(): void {
    const batch: Uint8Array[] = [];
    while (batch.length < this.#batchLimit) {
      const n = Number(this.#lib.read(this.#fd, this.#buf, BigInt(this.#buf.length)));
      if (n < 0) {
        const e = _errno(this.#lib);
        if (e === EINTR) continue;
        if (e !== EAGAIN) this.stats.readErrors++;
        break;
      }
      if (n === 0) break;
      batch.push(this.#buf.slice(0, n));
    }
    if (batch.length === 0) return;
    this.stats.rxBatches++;
    for (const frame of batch) {
      this.stats.rxFrames++;
      this.stats.rxBytes += frame.length;
      const h = this.#handler;
      if (h) h(frame);
      else this.stats.drops.noHandler++;
    }
  }
}
