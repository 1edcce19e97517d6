/**
 * errno numbers (Linux values), their names and their messages, shared by the kernel, the
 * netstack and libc. {@link ErrnoError} is the one error class a caller is expected to catch.
 */

/** errno values, as on Linux x86-64. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  EPIPE: 32,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  ESOCKTNOSUPPORT: 94,
  EOPNOTSUPP: 95,
  EPFNOSUPPORT: 96,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENETRESET: 102,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTDOWN: 112,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
  EDQUOT: 122,
} as const;

/** The name of an errno, e.g. "ECONNREFUSED". */
export type ErrnoCode = keyof typeof Errno;

const MESSAGES: Record<ErrnoCode, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ESRCH: "no such process",
  EINTR: "interrupted system call",
  EIO: "input/output error",
  ENOEXEC: "exec format error",
  EBADF: "bad file descriptor",
  ECHILD: "no child processes",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "device or resource busy",
  EEXIST: "file exists",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EINVAL: "invalid argument",
  ENFILE: "too many open files in system",
  EMFILE: "too many open files",
  ENOSPC: "no space left on device",
  EPIPE: "broken pipe",
  ERANGE: "numerical result out of range",
  ENAMETOOLONG: "file name too long",
  ENOSYS: "function not implemented",
  ENOTSOCK: "socket operation on non-socket",
  EDESTADDRREQ: "destination address required",
  EMSGSIZE: "message too long",
  EPROTOTYPE: "protocol wrong type for socket",
  ENOPROTOOPT: "protocol not available",
  EPROTONOSUPPORT: "protocol not supported",
  ESOCKTNOSUPPORT: "socket type not supported",
  EOPNOTSUPP: "operation not supported",
  EPFNOSUPPORT: "protocol family not supported",
  EAFNOSUPPORT: "address family not supported by protocol",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  ENETDOWN: "network is down",
  ENETUNREACH: "network is unreachable",
  ENETRESET: "network dropped connection on reset",
  ECONNABORTED: "software caused connection abort",
  ECONNRESET: "connection reset by peer",
  ENOBUFS: "no buffer space available",
  EISCONN: "transport endpoint is already connected",
  ENOTCONN: "transport endpoint is not connected",
  ESHUTDOWN: "cannot send after transport endpoint shutdown",
  ETIMEDOUT: "connection timed out",
  ECONNREFUSED: "connection refused",
  EHOSTDOWN: "host is down",
  EHOSTUNREACH: "no route to host",
  EALREADY: "operation already in progress",
  EINPROGRESS: "operation now in progress",
  EDQUOT: "disk quota exceeded",
};

const BY_NUMBER = new Map<number, ErrnoCode>(
  Object.entries(Errno).map(([k, v]) => [v, k as ErrnoCode]),
);

/** The name for an errno number ("EIO" for unknown numbers). */
export function errnoName(errno: number): ErrnoCode {
  return BY_NUMBER.get(errno) ?? "EIO";
}

/** The strerror-style message for an errno name. */
export function strerror(code: ErrnoCode): string {
  return MESSAGES[code];
}

/**
 * A failed system call, with the errno name in `code` and its number in `errno`.
 *
 * @example
 * try { await connect(fd, addr); } catch (e) {
 *   if (e instanceof ErrnoError && e.code === "ECONNREFUSED") console.log("nobody home");
 * }
 */
export class ErrnoError extends Error {
  override name = "ErrnoError";
  /** errno number, e.g. 111. */
  readonly errno: number;
  constructor(
    /** errno name, e.g. "ECONNREFUSED". */
    readonly code: ErrnoCode,
    /** What was attempted, e.g. "Cannot connect to 10.0.0.2:80". */
    context?: string,
  ) {
    super(context ? `${context}: ${MESSAGES[code]}` : capitalise(MESSAGES[code]));
    this.errno = Errno[code];
  }
}

/** Rebuild an ErrnoError from a reply whose message is already complete. */
export function errnoFromReply(errno: number, message: string): ErrnoError {
  const e = new ErrnoError(errnoName(errno));
  if (message) e.message = message;
  return e;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
