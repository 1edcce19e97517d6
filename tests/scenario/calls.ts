/**
 * Socket calls: the target-independent {@link Call} a script line turns into (symbols resolved
 * to Linux's numbers, which Serin's ABI shares), what the line expects back, and how a result is
 * compared and printed. Pure functions.
 */
import { Errno } from "../../kernel/errno.ts";
import type { Arg, CallSpec } from "./script.ts";

/** A call on the endpoint under test. Addresses are the target's (`...` in the script). */
export type Call =
  | { op: "socket"; domain: number; type: number; protocol: number }
  | { op: "bind"; fd: number }
  | { op: "listen"; fd: number; backlog: number }
  | { op: "accept"; fd: number }
  | { op: "connect"; fd: number }
  | { op: "setsockopt"; fd: number; level: number; name: number; value: number | number[] }
  | { op: "getsockopt"; fd: number; level: number; name: number }
  | { op: "fcntl"; fd: number; cmd: number; arg: number }
  | { op: "send"; fd: number; len: number; flags: number }
  | { op: "recv"; fd: number; len: number; flags: number }
  | { op: "shutdown"; fd: number; how: number }
  | { op: "close"; fd: number }
  | { op: "poll"; fds: Array<{ fd: number; events: number }>; timeout: number };

/** What a call returned: its value, or -1 and an errno name; plus what some calls fill in. */
export interface CallResult {
  ret: number;
  errno?: string;
  /** poll: revents per entry. */
  revents?: number[];
  /** getsockopt: the value (an int, or the ints of a struct such as linger). */
  value?: number | number[];
}

/** What a line checks beyond `ret`/`errno`. */
export interface CallExpect {
  ret: number;
  errno?: string;
  revents?: number[];
  value?: number | number[];
}

/** Linux's values of the symbols scripts use. */
export const SYMBOLS: Readonly<Record<string, number>> = {
  AF_INET: 2,
  AF_INET6: 10,
  PF_INET: 2,
  PF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_NONBLOCK: 0o4000,
  IPPROTO_TCP: 6,
  IPPROTO_IP: 0,
  IPPROTO_IPV6: 41,
  SOL_SOCKET: 1,
  SOL_TCP: 6,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_KEEPALIVE: 9,
  SO_OOBINLINE: 10,
  SO_LINGER: 13,
  SO_REUSEPORT: 15,
  TCP_NODELAY: 1,
  TCP_MAXSEG: 2,
  TCP_CORK: 3,
  TCP_KEEPIDLE: 4,
  TCP_KEEPINTVL: 5,
  TCP_KEEPCNT: 6,
  F_GETFL: 3,
  F_SETFL: 4,
  O_RDWR: 2,
  O_NONBLOCK: 0o4000,
  MSG_OOB: 1,
  MSG_PEEK: 2,
  MSG_DONTWAIT: 0x40,
  MSG_WAITALL: 0x100,
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  POLLIN: 0x001,
  POLLPRI: 0x002,
  POLLOUT: 0x004,
  POLLERR: 0x008,
  POLLHUP: 0x010,
  POLLNVAL: 0x020,
  POLLRDNORM: 0x040,
  POLLWRNORM: 0x100,
  POLLRDHUP: 0x2000,
};

/** Turn a call line into a {@link Call} and its expectation; throws with a message on misuse. */
export function toCall(
  spec: CallSpec,
  family: "ipv4" | "ipv6",
): { call: Call; expect: CallExpect } {
  const a = spec.args;
  const expect: CallExpect = { ret: spec.ret, errno: spec.errno };
  const int = (i: number, what: string): number => {
    const v = value(a[i], what);
    if (typeof v !== "number") throw new Error(`${spec.name}: ${what} must be a number`);
    return v;
  };
  const arity = (n: number) => {
    if (a.length !== n) throw new Error(`${spec.name} takes ${n} arguments, got ${a.length}`);
  };
  switch (spec.name) {
    case "socket": {
      arity(3);
      const domain = a[0].t === "any" ? (family === "ipv4" ? 2 : 10) : int(0, "domain");
      return {
        call: { op: "socket", domain, type: int(1, "type"), protocol: int(2, "protocol") },
        expect,
      };
    }
    case "bind":
    case "connect":
    case "accept":
      arity(3);
      return { call: { op: spec.name, fd: int(0, "fd") }, expect };
    case "listen":
      arity(2);
      return { call: { op: "listen", fd: int(0, "fd"), backlog: int(1, "backlog") }, expect };
    case "setsockopt": {
      arity(5);
      const v = value(a[3], "optval");
      if (v === undefined) throw new Error("setsockopt: optval must be given");
      return {
        call: {
          op: "setsockopt",
          fd: int(0, "fd"),
          level: int(1, "level"),
          name: int(2, "name"),
          value: v,
        },
        expect,
      };
    }
    case "getsockopt": {
      arity(5);
      expect.value = value(a[3], "optval");
      return {
        call: { op: "getsockopt", fd: int(0, "fd"), level: int(1, "level"), name: int(2, "name") },
        expect,
      };
    }
    case "fcntl": {
      if (a.length !== 2 && a.length !== 3) throw new Error("fcntl takes 2 or 3 arguments");
      const arg = a.length === 3 ? int(2, "arg") : 0;
      return { call: { op: "fcntl", fd: int(0, "fd"), cmd: int(1, "cmd"), arg }, expect };
    }
    case "write":
    case "read":
      arity(3);
      return {
        call: {
          op: spec.name === "write" ? "send" : "recv",
          fd: int(0, "fd"),
          len: int(2, "len"),
          flags: 0,
        },
        expect,
      };
    case "send":
    case "recv":
      arity(4);
      return {
        call: { op: spec.name, fd: int(0, "fd"), len: int(2, "len"), flags: int(3, "flags") },
        expect,
      };
    case "shutdown":
      arity(2);
      return { call: { op: "shutdown", fd: int(0, "fd"), how: int(1, "how") }, expect };
    case "close":
      arity(1);
      return { call: { op: "close", fd: int(0, "fd") }, expect };
    case "poll": {
      arity(3);
      if (a[0].t !== "list") throw new Error("poll: first argument is [{fd=N, events=...}, ...]");
      const fds: Array<{ fd: number; events: number }> = [];
      const revents: number[] = [];
      for (const it of a[0].items) {
        if (it.t !== "struct") throw new Error("poll: entries are {fd=N, events=X, revents=Y}");
        const f = (k: string) => {
          const v = it.fields[k] === undefined ? 0 : value(it.fields[k], k);
          if (typeof v !== "number") throw new Error(`poll: ${k} must be a number`);
          return v;
        };
        fds.push({ fd: f("fd"), events: f("events") });
        revents.push(f("revents"));
      }
      expect.revents = revents;
      return { call: { op: "poll", fds, timeout: int(2, "timeout") }, expect };
    }
    default:
      throw new Error(`unknown call ${spec.name}`);
  }
}

/** An argument's value: a number, the ints of `[1]` or `{l_onoff=1, l_linger=0}`, or undefined
 * for `...`. */
function value(arg: Arg | undefined, what: string): number | number[] | undefined {
  if (!arg) throw new Error(`missing ${what}`);
  switch (arg.t) {
    case "any":
      return undefined;
    case "num":
      return arg.v;
    case "sym": {
      const v = SYMBOLS[arg.v] ?? (Errno as Record<string, number>)[arg.v];
      if (v === undefined) throw new Error(`unknown symbol ${arg.v}`);
      return v;
    }
    case "or": {
      let v = 0;
      for (const p of arg.parts) {
        const x = value(p, what);
        if (typeof x !== "number") throw new Error(`${what}: only numbers can be or-ed`);
        v |= x;
      }
      return v;
    }
    case "list": {
      const xs = arg.items.map((i) => value(i, what));
      if (xs.length === 1 && typeof xs[0] === "number") return xs[0];
      return xs.flatMap((x) => (x === undefined ? [] : x));
    }
    case "struct":
      return Object.values(arg.fields).flatMap((f) => value(f, what) ?? []);
    case "str":
      throw new Error(`${what}: strings are not supported here`);
  }
}

/** Why `got` is not what the line expects, or undefined. */
export function callMismatch(want: CallExpect, got: CallResult): string | undefined {
  if (got.ret !== want.ret || (want.ret === -1 && got.errno !== want.errno)) {
    return `returned ${formatResult(got)} instead of ${formatResult(want)}`;
  }
  if (want.revents && JSON.stringify(got.revents) !== JSON.stringify(want.revents)) {
    return `revents ${fmtEvents(got.revents)} instead of ${fmtEvents(want.revents)}`;
  }
  if (want.value !== undefined && JSON.stringify(got.value) !== JSON.stringify(want.value)) {
    return `optval ${JSON.stringify(got.value)} instead of ${JSON.stringify(want.value)}`;
  }
  return undefined;
}

/** `4`, or `-1 ECONNRESET`. */
export function formatResult(r: { ret: number; errno?: string }): string {
  return r.ret === -1 ? `-1 ${r.errno ?? "?"}` : String(r.ret);
}

const POLL_NAMES = ["POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL", "POLLRDHUP"];

function fmtEvents(list: number[] | undefined): string {
  return `[${
    (list ?? []).map((m) => {
      const names = POLL_NAMES.filter((n) => m & SYMBOLS[n]);
      const rest = m & ~names.reduce((x, n) => x | SYMBOLS[n], 0);
      if (rest) names.push(`0x${rest.toString(16)}`);
      return names.join("|") || "0";
    }).join(", ")
  }]`;
}
