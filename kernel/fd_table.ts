/** A process's handle table: fd numbers to open file descriptions, lowest free fd first. */
import { ErrnoError } from "./errno.ts";
import { type HandleBase, unref } from "./handle.ts";

/** Default per-process fd limit (RLIMIT_NOFILE-like). */
export const DEFAULT_FD_LIMIT = 1024;

/** Maps small integers to handles; owns one reference per installed fd. */
export class FdTable<H extends HandleBase = HandleBase> {
  #fds: Array<H | undefined> = [];
  #count = 0;
  #closed = false;

  constructor(readonly limit = DEFAULT_FD_LIMIT) {}

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
    unref(h);
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
