/**
 * A poll() call's entries in compact form, as the kernel and the netstacks keep them while the
 * call waits: at most {@link POLL_MAX_FDS} entries (EINVAL beyond, as Linux's poll when nfds
 * exceeds RLIMIT_NOFILE), each object named once however many entries name it, and 12 bytes per
 * entry instead of the decoded request (whose entry list is emptied: the caller's frames keep the
 * request alive for as long as the call waits).
 *
 * @example
 * const list = new PollList(req.fds); // req.fds is now empty
 * const perObject = list.ids.map((id) => readinessOf(id) & list.masks[list.ids.indexOf(id)]);
 * return list.revents(perObject); // one revents per entry, in order
 */
import { POLLERR, POLLHUP, POLLNVAL } from "./abi.ts";
import type { PollFd } from "./bus/messages.ts";
import { ErrnoError } from "./errno.ts";
import { DEFAULT_FD_LIMIT } from "./fd_table.ts";

/** Most entries one poll() may name: RLIMIT_NOFILE, the fd limit (EINVAL beyond, as Linux). */
export const POLL_MAX_FDS = DEFAULT_FD_LIMIT;
/** What a waiting poll() call is charged to its process, in bytes, besides its entries. */
export const POLL_CALL_BYTES = 512;
/** Bytes charged per entry (its fd, events and object index). */
export const POLL_ENTRY_BYTES = 12;
/** Bytes charged per distinct object a call waits on (its registration there). */
export const POLL_TARGET_BYTES = 128;

/** Events poll() reports whether asked or not. */
export const POLL_ALWAYS = POLLERR | POLLHUP | POLLNVAL;

/** One poll() call's entries: the distinct objects it names, and which entry names which. */
export class PollList {
  /** Each distinct fd (or socket id) named, in order of first mention. */
  readonly ids: number[] = [];
  /** Per distinct object: the union of its entries' events, plus {@link POLL_ALWAYS}. */
  readonly masks: number[] = [];
  readonly #events: Int32Array;
  readonly #slot: Int32Array;

  /** Take `fds` over (the array is emptied); EINVAL for more than {@link POLL_MAX_FDS}. */
  constructor(fds: PollFd[]) {
    if (fds.length > POLL_MAX_FDS) {
      throw new ErrnoError("EINVAL", `Cannot poll ${fds.length} fds: the limit is ${POLL_MAX_FDS}`);
    }
    this.#events = new Int32Array(fds.length);
    this.#slot = new Int32Array(fds.length);
    const seen = new Map<number, number>();
    fds.forEach((p, i) => {
      let j = seen.get(p.fd);
      if (j === undefined) {
        j = this.ids.length;
        seen.set(p.fd, j);
        this.ids.push(p.fd);
        this.masks.push(POLL_ALWAYS);
      }
      this.#slot[i] = j;
      this.#events[i] = p.events;
      this.masks[j] |= p.events;
    });
    fds.length = 0;
  }

  /** Number of entries. */
  get length(): number {
    return this.#events.length;
  }

  /** What the call is charged while it waits, in bytes. */
  get bytes(): number {
    return POLL_CALL_BYTES + this.length * POLL_ENTRY_BYTES + this.ids.length * POLL_TARGET_BYTES;
  }

  /** The object id entry `i` names. */
  id(i: number): number {
    return this.ids[this.#slot[i]];
  }

  /** revents per entry, from the readiness of each distinct object (indexed like {@link ids}). */
  revents(perObject: ArrayLike<number>): number[] {
    const out = new Array<number>(this.length);
    for (let i = 0; i < out.length; i++) {
      out[i] = perObject[this.#slot[i]] & (this.#events[i] | POLL_ALWAYS);
    }
    return out;
  }
}
