/**
 * The AF_LOCAL path namespace of one host: bound paths persist after their socket closes, until
 * unlinked (as socket files do), so a later connect gets ECONNREFUSED rather than ENOENT.
 */
import { ErrnoError } from "../errno.ts";

/** Longest path accepted, as sun_path's 108 bytes less the terminator. */
export const MAX_PATH = 107;

/** Path → bound socket table for one host. */
export class LocalNamespace<S> {
  #entries = new Map<string, { socket?: S }>();

  /** Number of path entries (live or stale), for leak checks. */
  get size(): number {
    return this.#entries.size;
  }

  /** Validate a path: non-empty, ≤107 bytes, no NUL. */
  static check(path: unknown): string {
    if (typeof path !== "string") throw new ErrnoError("EFAULT", "Path is not a string");
    if (path.length === 0 || path.includes("\0")) {
      throw new ErrnoError("EINVAL", "Invalid socket path");
    }
    if (new TextEncoder().encode(path).length > MAX_PATH) {
      throw new ErrnoError("ENAMETOOLONG", `Cannot bind to ${path.slice(0, 20)}…`);
    }
    return path;
  }

  /** Create the path for `socket`; EADDRINUSE when it exists. */
  bind(path: string, socket: S): void {
    if (this.#entries.has(path)) throw new ErrnoError("EADDRINUSE", `Cannot bind to ${path}`);
    this.#entries.set(path, { socket });
  }

  /** The live socket at `path`: ENOENT if no such path, ECONNREFUSED if nobody is bound. */
  lookup(path: string): S {
    const e = this.#entries.get(path);
    if (!e) throw new ErrnoError("ENOENT", `Cannot connect to ${path}`);
    if (!e.socket) throw new ErrnoError("ECONNREFUSED", `Cannot connect to ${path}`);
    return e.socket;
  }

  /** Detach `socket` from its path (socket closed); the path itself stays until unlinked. */
  detach(path: string, socket: S): void {
    const e = this.#entries.get(path);
    if (e && e.socket === socket) e.socket = undefined;
  }

  /** Remove a path; ENOENT when missing. */
  unlink(path: string): void {
    if (!this.#entries.delete(path)) throw new ErrnoError("ENOENT", `Cannot unlink ${path}`);
  }
}
