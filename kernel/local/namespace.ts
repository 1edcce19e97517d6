/**
 * The AF_LOCAL path namespace of one host. Each path has an owner (the uid that bound it) and a
 * mode, and lives exactly as long as the socket bound to it.
 *
 * On Linux a filesystem path stays after its socket closes, as a socket file, until someone
 * unlinks it (a later connect gets ECONNREFUSED); only abstract names (`\0name`) go with their
 * socket. Serin's names live in kernel memory, not on a disk: a stale one is memory nobody is
 * charged for (60,000 of them stayed after their owner exited) and a name a squatter can take
 * over. So every Serin path behaves like an abstract name: released when its socket closes,
 * after which connect gets ENOENT (the file is gone) and a new bind succeeds without unlink.
 */
import { ErrnoError } from "../errno.ts";

/** Longest path accepted, as sun_path's 108 bytes less the terminator. */
export const MAX_PATH = 107;

/**
 * Most paths one uid may have bound on a host at once, across all its processes; beyond it,
 * bind fails with EDQUOT. Linux has no count of socket names, but every filesystem name is an
 * inode, and a user over their inode quota gets EDQUOT from bind (tmpfs, where /run lives, has
 * per-user quotas since Linux 6.6); ENOSPC would say the whole namespace is full, which it is
 * not for other users. Linux lets CAP_SYS_RESOURCE exceed quotas; Serin has no such capability,
 * so root is held to the cap too, far above what a service binds. It bounds what one uid's
 * names cost the kernel, since a socket can outlive its fds (queued in SCM_RIGHTS messages) and
 * a uid can run many processes.
 */
export const MAX_LOCAL_PATHS_PER_UID = 1024;

/** Mode of a new path: Serin has no umask and no chmod, so anyone may connect (0777). */
export const DEFAULT_PATH_MODE = 0o777;

/** Who is asking: the uid and gid that permission checks look at. */
export interface PathCreds {
  uid: number;
  gid: number;
}

interface Entry<S> {
  socket: S;
  uid: number;
  gid: number;
  mode: number;
}

/** Path → bound socket table for one host. */
export class LocalNamespace<S> {
  #entries = new Map<string, Entry<S>>();
  #byUid = new Map<number, number>();

  constructor(readonly maxPerUid = MAX_LOCAL_PATHS_PER_UID) {}

  /** Number of bound paths, for leak checks. */
  get size(): number {
    return this.#entries.size;
  }

  /** Paths bound by `uid`. */
  countOf(uid: number): number {
    return this.#byUid.get(uid) ?? 0;
  }

  /** Owner and mode of `path`, or undefined when nothing is bound there. */
  stat(path: string): { uid: number; gid: number; mode: number } | undefined {
    const e = this.#entries.get(path);
    return e && { uid: e.uid, gid: e.gid, mode: e.mode };
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

  /**
   * Create the path for `socket`, owned by `creds`: EADDRINUSE when it exists (whoever owns
   * it), EDQUOT when `creds.uid` already holds {@link maxPerUid} paths.
   */
  bind(path: string, socket: S, creds: PathCreds, mode = DEFAULT_PATH_MODE): void {
    if (this.#entries.has(path)) throw new ErrnoError("EADDRINUSE", `Cannot bind to ${path}`);
    if (!mayCreate(path, creds.uid)) {
      throw new ErrnoError(
        "EACCES",
        `Cannot bind to ${path}: /run is root's (use /run/user/${creds.uid}/ or /tmp/)`,
      );
    }
    const held = this.countOf(creds.uid);
    if (held >= this.maxPerUid) {
      throw new ErrnoError(
        "EDQUOT",
        `Cannot bind to ${path}: uid ${creds.uid} holds ${held} socket paths`,
      );
    }
    this.#entries.set(path, { socket, uid: creds.uid, gid: creds.gid, mode: mode & 0o7777 });
    this.#byUid.set(creds.uid, held + 1);
  }

  /**
   * The socket at `path` for a connect or send by `creds`: ENOENT if nothing is bound there,
   * EACCES without write permission on it (as Linux checks the socket file's mode).
   */
  lookup(path: string, creds?: PathCreds): S {
    const e = this.#entries.get(path);
    if (!e) throw new ErrnoError("ENOENT", `Cannot connect to ${path}`);
    if (creds && !mayWrite(e, creds)) {
      throw new ErrnoError("EACCES", `Cannot connect to ${path}`);
    }
    return e.socket;
  }

  /** Release the path of `socket` (it closed); a path re-bound by another socket stays. */
  detach(path: string, socket: S): void {
    const e = this.#entries.get(path);
    if (e && e.socket === socket) this.#remove(path, e);
  }

  /**
   * Remove a path on behalf of `creds`: ENOENT when missing, EACCES when another uid bound it
   * and the caller is not root. Linux decides this from the directory: in a sticky,
   * world-writable one like /tmp only the file's owner (or root) may unlink it, and in root's
   * 0755 /run nobody but root may. Serin has no directories, so it applies the /tmp rule
   * everywhere: a uid may remove its own names, never another's.
   */
  unlink(path: string, creds?: PathCreds): void {
    const e = this.#entries.get(path);
    if (!e) throw new ErrnoError("ENOENT", `Cannot unlink ${path}`);
    if (creds && creds.uid !== 0 && creds.uid !== e.uid) {
      throw new ErrnoError("EACCES", `Cannot unlink ${path}: owned by uid ${e.uid}`);
    }
    this.#remove(path, e);
  }

  #remove(path: string, e: Entry<S>) {
    this.#entries.delete(path);
    const n = this.countOf(e.uid) - 1;
    if (n > 0) this.#byUid.set(e.uid, n);
    else this.#byUid.delete(e.uid);
  }
}

/**
 * Whether `uid` may create a name at `path`. As on Linux, /run is root's (0755): only root makes
 * names there, apart from each user's own /run/user/UID/. Everywhere else is like /tmp (1777):
 * anyone may create a name, and only its owner (or root) may remove it. So no user can take a
 * system service's path before the service binds it.
 */
export function mayCreate(path: string, uid: number): boolean {
  if (uid === 0 || !path.startsWith("/run/")) return true;
  return path.startsWith(`/run/user/${uid}/`);
}

/** Write permission on a path, as Linux's inode_permission(MAY_WRITE): root always has it. */
function mayWrite(e: { uid: number; gid: number; mode: number }, c: PathCreds): boolean {
  if (c.uid === 0) return true;
  if (c.uid === e.uid) return (e.mode & 0o200) !== 0;
  if (c.gid === e.gid) return (e.mode & 0o020) !== 0;
  return (e.mode & 0o002) !== 0;
}
