/**
 * What the runner needs from the endpoint under test: a link to inject frames into and read
 * frames from, a clock, and socket calls. Serin (virtual time) and Linux (a TAP in a namespace,
 * real time) implement it.
 */
import type { Call, CallResult } from "./calls.ts";
import type { LinkAddrs } from "./frames.ts";
import type { ScriptOptions } from "./script.ts";

/** The endpoint's port when a script binds (`bind(3, ..., ...)`); the peer uses this one. */
export const ENDPOINT_PORT = 8080;
/** The peer's port. */
export const PEER_PORT = 40_000;

/** One endpoint under test, set up for one script. */
export interface Target extends AsyncDisposable {
  /** "serin" or "linux", for reports. */
  readonly name: string;
  /** Addresses on the link; the peer's MAC is the runner's. */
  readonly addrs: LinkAddrs;
  /** The endpoint's MAC. */
  readonly endpointMac: Uint8Array;
  /** Timing slack added to the script's tolerance (0 in virtual time). */
  readonly slackMs: number;
  /**
   * How long a call may take and still count as returning at once: the tolerance in virtual
   * time, more where calls go through a helper process on a loaded machine.
   */
  readonly callGraceMs: number;
  /** Milliseconds since the script started. */
  now(): number;
  /** Let time pass until `t` (ms since start), or until `stop()` turns true. */
  waitUntil(t: number, stop: () => boolean): Promise<void>;
  /** Put a frame on the link towards the endpoint. */
  inject(frame: Uint8Array): void;
  /** The receiver of every frame the endpoint sends, stamped with `now()`. */
  onFrame(handler: (frame: Uint8Array, at: number) => void): void;
  /** Run a socket call on the endpoint; it settles when the call returns. */
  call(c: Call): Promise<CallResult>;
}

/** Builds a target for a script's options. */
export type TargetFactory = (opts: ScriptOptions) => Promise<Target>;

/**
 * Socket fds as a process sees them: the lowest free number from 3 (0-2 are stdio), as Linux
 * hands them out, so scripts can name `accept(3, ...) = 4`.
 */
export class FdTable<T> {
  readonly #map = new Map<number, T>();

  /** Give `v` the lowest free fd. */
  add(v: T): number {
    let fd = 3;
    while (this.#map.has(fd)) fd++;
    this.#map.set(fd, v);
    return fd;
  }

  /** The object behind `fd`, if open. */
  get(fd: number): T | undefined {
    return this.#map.get(fd);
  }

  /** Close `fd`; the object it named, if any. */
  remove(fd: number): T | undefined {
    const v = this.#map.get(fd);
    this.#map.delete(fd);
    return v;
  }

  /** Every open object. */
  values(): IterableIterator<T> {
    return this.#map.values();
  }
}
