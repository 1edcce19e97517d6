/** A process's handle table: fd numbers to open file descriptions, lowest free fd first. */
import { ErrnoError } from "./errno.ts";
import { type HandleBase, unref } from "./handle.ts";

/** Default per-process fd limit (RLIMIT_NOFILE-like). */
export const DEFAULT_FD_LIMIT = 1024;

/**
 * Told when a handle enters this table (its first fd here) or leaves it (its last fd here was
 * closed; `refs` then says whether anyone else still holds it).
 */
export type HoldHook<H> = (h: H, held: boolean) => void;

/** Maps small integers to handles; owns one reference per installed fd. */
export class FdTable<H extends HandleBase = HandleBase> {
  #fds: Array<H | undefined> = [];
  #count = 0;
  #closed = false;
  /** How many fds of this table point at each handle. */
  #held = new Map<H, number>();

  constructor(readonly limit = DEFAULT_FD_LIMIT, readonly onHold?: HoldHook<H>) {}

  #hold(h: H): void {
    const n = this.#held.get(h) ?? 0;
    this.#held.set(h, n + 1);
    if (n === 0) this.onHold?.(h, true);
  }

  /** Drop one fd's reference to `h` (the caller has already emptied the slot). */
  #drop(h: H): void {
    const n = this.#held.get(h)! - 1;
    if (n > 0) this.#held.set(h, n);
    else this.#held.delete(h);
    unref(h);
    if (n === 0) this.onHold?.(h, false);
  }

  /** Number of open fds. */
  get size(): number {
    return this.#count;
  }

  /** Install `h` at the lowest free fd >= `min`; takes a reference. EMFILE when full. */
  install(h: H, min = 0): number {
    // The process is gone (a call that was in flight when it died finished late).
    if (this.#closed) throw new ErrnoError("EBADF", "Process has exited");
    if (this.#count >= this.limit) throw new ErrnoError("EMFILE", "Cannot allocate a descriptor");
    let fd = Math.max(0, min);
    while (this.#fds[fd] !== undefined) fd++;
    if (fd >= this.limit) throw new ErrnoError("EMFILE", "Cannot allocate a descriptor");
    this.#fds[fd] = h;
    this.#count++;
    h.refs++;
    this.#hold(h);
    return fd;
  }

  /** The handle at `fd`, or EBADF. */
  get(fd: unknown): H {
    const h = typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? this.#fds[fd] : undefined;
    if (!h) throw new ErrnoError("EBADF", `Bad file descriptor ${String(fd)}`);
    return h;
  }

  /** The handle at `fd` if open. */
  peek(fd: number): H | undefined {
    return this.#fds[fd];
  }

  /** Close `fd`: drop its reference. EBADF if not open. */
  close(fd: number): void {
    const h = this.get(fd);
    this.#fds[fd] = undefined;
    this.#count--;
    this.#drop(h);
  }

  /** Duplicate `fd` onto `newfd`, closing whatever was there (dup2). */
  dup2(fd: number, newfd: number): number {
    const h = this.get(fd);
    if (!Number.isInteger(newfd) || newfd < 0 || newfd >= this.limit) {
      throw new ErrnoError("EBADF", `Bad file descriptor ${newfd}`);
    }
    if (newfd === fd) return fd;
    if (this.#fds[newfd]) this.close(newfd);
    this.#fds[newfd] = h;
    this.#count++;
    h.refs++;
    this.#hold(h);
    return newfd;
  }

  /** Every open fd with its handle. */
  *entries(): IterableIterator<[number, H]> {
    for (let fd = 0; fd < this.#fds.length; fd++) {
      const h = this.#fds[fd];
      if (h) yield [fd, h];
    }
  }

  /** Close every fd (process exit); later installs fail, so late results are released. */
  closeAll(): void {
    this.#closed = true;
    for (let fd = 0; fd < this.#fds.length; fd++) if (this.#fds[fd]) this.close(fd);
  }
}
