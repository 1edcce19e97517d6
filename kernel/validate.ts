/**
 * Checks a syscall request from a process before anything acts on it: unknown ops get ENOSYS,
 * wrong argument types EINVAL/EFAULT, non-integer fds EBADF. Processes are untrusted.
 */
import { ErrnoError } from "./errno.ts";
import type { SockAddr, Syscall } from "./bus/messages.ts";
import { AF_INET, AF_INET6, AF_LOCAL } from "./abi.ts";

type Kind =
  | "fd"
  | "int"
  | "bytes"
  | "addr"
  | "str"
  | "strs"
  | "optval"
  | "pollfds"
  | "ints"
  | "bool"
  | "object";

/** The fields of a request and their kinds ("?" marks optional ones). */
export type Schema = Record<string, Kind | `${Kind}?`>;

const SCHEMAS: Record<Syscall["op"], Schema> = {
  socket: { domain: "int", type: "int", protocol: "int", direct: "bool?" },
  socketpair: { domain: "int", type: "int", protocol: "int" },
  bind: { fd: "fd", addr: "addr" },
  listen: { fd: "fd", backlog: "int" },
  accept: { fd: "fd", flags: "int" },
  connect: { fd: "fd", addr: "addr" },
  sendmsg: {
    fd: "fd",
    data: "bytes",
    flags: "int",
    addr: "addr?",
    rights: "ints?",
    creds: "bool?",
  },
  recvmsg: { fd: "fd", len: "int", flags: "int" },
  setsockopt: { fd: "fd", level: "int", name: "int", value: "optval" },
  getsockopt: { fd: "fd", level: "int", name: "int" },
  getsockname: { fd: "fd" },
  getpeername: { fd: "fd" },
  shutdown: { fd: "fd", how: "int" },
  close: { fd: "fd" },
  dup: { fd: "fd" },
  dup2: { fd: "fd", newfd: "fd" },
  fcntl: { fd: "fd", cmd: "int", arg: "int" },
  poll: { fds: "pollfds", timeout: "int" },
  write: { fd: "fd", data: "bytes" },
  read: { fd: "fd", len: "int" },
  unlink: { path: "str" },
  getinfo: {},
  ps: {},
  kill: { pid: "int", signal: "int" },
  spawn: { module: "str", args: "strs" },
  waitpid: { pid: "int" },
  netctl: { req: "object" },
  exit: { status: "int" },
};

/** Most bytes one send may carry (a sanity bound; sockets apply their own buffer limits). */
export const MAX_IO = 16 << 20;

/** Validate an untrusted request body as a {@link Syscall}; throws an ErrnoError otherwise. */
export function validateSyscall(body: unknown): Syscall {
  return validateRequest(body, SCHEMAS) as Syscall;
}

/**
 * Validate an untrusted request body against `schemas` (by its `op`): ENOSYS for an unknown op,
 * EINVAL/EFAULT/EBADF for wrong fields, as for syscalls. Returns the body.
 */
export function validateRequest(body: unknown, schemas: Record<string, Schema>): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ErrnoError("EINVAL", "Malformed system call");
  }
  const b = body as Record<string, unknown>;
  const op = b.op;
  if (typeof op !== "string" || !Object.hasOwn(schemas, op)) {
    throw new ErrnoError("ENOSYS", `Unknown system call ${String(op).slice(0, 40)}`);
  }
  const schema = schemas[op];
  for (const [field, spec] of Object.entries(schema)) {
    const optional = spec.endsWith("?");
    const kind = (optional ? spec.slice(0, -1) : spec) as Kind;
    const v = b[field];
    if (v === undefined || v === null) {
      if (optional) {
        delete b[field];
        continue;
      }
      throw new ErrnoError(kind === "fd" ? "EBADF" : "EFAULT", `${op}: missing ${field}`);
    }
    check(op, field, kind, v);
  }
  return b;
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}

function check(op: string, field: string, kind: Kind, v: unknown): void {
  const bad = (code: "EINVAL" | "EFAULT" | "EBADF") => {
    throw new ErrnoError(code, `${op}: bad ${field}`);
  };
  switch (kind) {
    case "fd":
      if (!isInt(v) || v < 0) bad("EBADF");
      return;
    case "int":
      if (!isInt(v)) bad("EINVAL");
      return;
    case "bool":
      if (typeof v !== "boolean") bad("EINVAL");
      return;
    case "bytes":
      if (!(v instanceof Uint8Array)) bad("EFAULT");
      if ((v as Uint8Array).length > MAX_IO) throw new ErrnoError("EMSGSIZE", `${op}: too long`);
      return;
    case "str":
      if (typeof v !== "string" || v.length > 4096) bad("EFAULT");
      return;
    case "strs":
      if (!Array.isArray(v) || v.length > 1024 || !v.every((s) => typeof s === "string")) {
        bad("EFAULT");
      }
      return;
    case "ints":
      if (!Array.isArray(v) || v.length > 1024 || !v.every(isInt)) bad("EINVAL");
      return;
    case "object":
      if (typeof v !== "object" || Array.isArray(v) || v instanceof Uint8Array) bad("EFAULT");
      return;
    case "optval":
      if (
        !(typeof v === "number" || typeof v === "boolean" || typeof v === "string" ||
          v instanceof Uint8Array || (typeof v === "object" && !Array.isArray(v)))
      ) bad("EINVAL");
      return;
    case "pollfds":
      if (
        !Array.isArray(v) || v.length > 4096 ||
        !v.every((p) => p && typeof p === "object" && isInt(p.fd) && isInt(p.events))
      ) bad("EFAULT");
      return;
    case "addr":
      checkAddr(op, v);
      return;
    default: {
      const never: never = kind;
      throw new ErrnoError("EINVAL", `${op}: ${String(never)}`);
    }
  }
}

function checkAddr(op: string, v: unknown): asserts v is SockAddr {
  if (v === null || typeof v !== "object") throw new ErrnoError("EFAULT", `${op}: bad address`);
  const a = v as Record<string, unknown>;
  switch (a.family) {
    case 0:
      return;
    case AF_LOCAL:
      if (typeof a.path !== "string") throw new ErrnoError("EFAULT", `${op}: bad path`);
      return;
    case AF_INET:
    case AF_INET6:
      if (typeof a.addr !== "string" || !isInt(a.port) || a.port < 0 || a.port > 65535) {
        throw new ErrnoError("EINVAL", `${op}: bad address`);
      }
      if (a.scopeId !== undefined && !isInt(a.scopeId)) {
        throw new ErrnoError("EINVAL", `${op}: bad scope id`);
      }
      return;
    default:
      throw new ErrnoError("EAFNOSUPPORT", `${op}: unsupported address family`);
  }
}
