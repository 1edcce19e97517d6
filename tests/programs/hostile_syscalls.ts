/**
 * Test program (the syscall fuzzer's attacker): sends COUNT random or mutated system calls for
 * at most MS milliseconds, from SEED: valid-looking operations with forged fds, huge lengths,
 * wrong types and AF_INET/AF_LOCAL mixes through `syscall()`, plus mutated request envelopes
 * through `syscallRaw()`, and socket calls straight on its port to the netstack (`netcall()`),
 * naming socket ids it holds and ids other processes hold, and calls aimed at the isolation
 * checks (isolationCall). Calls that block are left pending (the kernel must reclaim them when
 * the program exits). Prints "calls C errnos E ok K pending P raw R ms T".
 */
import {
  AF_INET,
  AF_INET6,
  AF_LOCAL,
  ErrnoError,
  netcall,
  netpost,
  print,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SOCK_STREAM,
  syscall,
  syscallRaw,
} from "../../libc/mod.ts";
import { encodeMessage } from "../../kernel/bus/codec.ts";
import { shareBytes } from "../../kernel/bus/shared_stream.ts";
import { Rng } from "../fuzz/rng.ts";

// Not 0-2: closing or overwriting its own stdout would silence the summary line.
const FORGED_FDS = [-1, 3, 7, 1023, 1024, 65535, 2 ** 31, -(2 ** 31), 2 ** 53, 0.5];
const JUNK: unknown[] = [null, true, "3", -0.5, 1e300, [], {}, new Uint8Array(3), "x".repeat(300)];
const OPS = [
  "socket",
  "socketpair",
  "close",
  "dup",
  "dup2",
  "fcntl",
  "poll",
  "write",
  "read",
  "unlink",
  "getinfo",
  "ps",
  "kill",
  "spawn",
  "waitpid",
  "netctl",
  "bind",
  "listen",
  "accept",
  "connect",
  "sendmsg",
  "recvmsg",
  "setsockopt",
  "getsockopt",
  "getsockname",
  "getpeername",
  "shutdown",
] as const;

/** Builds hostile calls, remembering the fds the kernel really handed out. */
class Generator {
  constructor(
    readonly rng: Rng,
    readonly fds: number[] = [],
    /** Socket ids the netstack handed this process (through socket(..., direct)). */
    readonly sids: number[] = [],
    /** Draws for what later versions added, so saved seeds still replay the same calls. */
    readonly extra: Rng = rng,
  ) {}

  /** A socket id: one of its own, a small id (likely another process's), or junk. */
  sid(): unknown {
    const r = this.rng;
    if (this.sids.length && r.chance(0.5)) return r.pick(this.sids);
    return r.chance(0.9) ? r.int(64) : r.pick(JUNK);
  }

  fd(): unknown {
    const r = this.rng;
    if (this.fds.length && r.chance(0.6)) return r.pick(this.fds);
    return r.chance(0.9) ? r.pick(FORGED_FDS) : r.pick(JUNK);
  }

  num(small: number[]): unknown {
    const r = this.rng;
    if (r.chance(0.7)) return r.pick(small);
    return r.chance(0.7)
      ? r.pick([-1, 0, 2 ** 31, 2 ** 32 + 1, 1e9, 2 ** 53, -(2 ** 53)])
      : r.pick(JUNK);
  }

  addr(): unknown {
    const r = this.rng;
    switch (r.int(7)) {
      case 0:
        return { family: AF_LOCAL, path: r.pick(["/run/f", "/run/f2", "", "x".repeat(200), "/"]) };
      case 1:
        return {
          family: AF_INET,
          addr: r.pick(["127.0.0.1", "0.0.0.0", "255.255.255.255", "10.9.9.9", "1.2.3", "::1"]),
          port: this.num([0, 1, 80, 7000, 7001, 65535, 65536]),
        };
      case 2:
        return { family: AF_INET6, addr: r.pick(["::1", "::", "zz"]), port: this.num([0, 80]) };
      case 3:
        return { family: 0 };
      case 4:
        // Family and fields of the other domain (AF_LOCAL with a port, AF_INET with a path).
        return r.chance(0.5)
          ? { family: AF_LOCAL, addr: "127.0.0.1", port: 80 }
          : { family: AF_INET, path: "/run/f" };
      case 5:
        return { family: this.num([1, 2, 10, 99]), addr: r.pick(JUNK), port: r.pick(JUNK) };
      default:
        return r.pick(JUNK);
    }
  }

  data(): unknown {
    const r = this.rng;
    if (r.chance(0.05)) return r.pick(JUNK);
    const n = r.chance(0.95) ? r.int(300) : r.pick([65536, 65537, 1 << 20]);
    return new Uint8Array(n);
  }

  call(): Record<string, unknown> {
    const r = this.rng;
    const op = r.pick(OPS);
    const fd = this.fd();
    switch (op) {
      case "socket":
      case "socketpair":
        return {
          op,
          domain: this.num([AF_LOCAL, AF_INET, AF_INET, AF_INET6, 0, 99]),
          type: this.num([SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, 5, SOCK_STREAM | SOCK_NONBLOCK]),
          protocol: this.num([0, 0, 1, 6, 17, 255, 9999]),
          ...(this.extra.chance(0.5) ? { direct: this.extra.chance(0.9) || JUNK[0] } : {}),
        };
      case "close":
      case "dup":
      case "getsockname":
      case "getpeername":
        return { op, fd };
      case "dup2":
        return { op, fd, newfd: this.num([3, 4, 10, 1023, 1024, 100000]) };
      case "fcntl":
        return { op, fd, cmd: this.num([1, 2, 3, 4, 99]), arg: this.num([0, 1, 0o4000]) };
      case "poll":
        return {
          op,
          fds: r.chance(0.9)
            ? Array.from(
              { length: r.int(8) },
              () => ({ fd: this.fd(), events: this.num([1, 4, 5]) }),
            )
            : r.pick(JUNK),
          // Not past 2^31 ms: the kernel's timer then fires every millisecond (reported bug),
          // which floods the console with TimeoutOverflowWarning.
          timeout: r.pick([0, 0, 1, 5, -1, 2 ** 31 - 1]),
        };
      case "write":
        return { op, fd, data: this.data() };
      case "read":
      case "recvmsg":
        return { op, fd, len: this.num([0, 1, 100, 65536]), flags: this.num([0, 0x40, 0x2, 0x20]) };
      case "unlink":
        return { op, path: r.pick(["/run/f", "/run/nope", "", "x".repeat(200), 7]) };
      case "getinfo":
      case "ps":
        return { op };
      case "kill":
        // Never a real pid: the well-behaved processes must survive (and they run as another uid).
        return { op, pid: this.num([0, -1, 99999, 2 ** 31]), signal: this.num([0, 9, 15, 65]) };
      case "spawn":
        return {
          op,
          module: r.pick(["no/such.ts", "", "no such", "data:,x"]),
          args: [],
        };
      case "waitpid":
        return { op, pid: this.num([-1, 0, 99999]) };
      case "netctl":
        return {
          op,
          req: r.chance(0.5)
            ? { op: r.pick(["ifaces", "routes", "neigh", "sockets", "stats"]) }
            : r.pick([
              { op: "ifaddr", iface: "lo", action: "add", cidr: "10.1.1.1/24" },
              { op: "route", action: "add", dest: "default", gateway: "127.0.0.2" },
              { op: "iflink", iface: "lo", up: false },
              { op: "neighset", action: "add", addr: "1.2.3.4", mac: "zz" },
              { op: 5 },
              r.pick(JUNK),
            ]),
        };
      case "bind":
      case "connect":
        return { op, fd, addr: this.addr() };
      case "listen":
        return { op, fd, backlog: this.num([0, 1, 128, 100000]) };
      case "accept":
        return { op, fd, flags: this.num([0, SOCK_NONBLOCK]) };
      case "sendmsg":
        return {
          op,
          fd,
          data: this.data(),
          flags: this.num([0, 0x40, 0x4000]),
          ...(r.chance(0.5) ? { addr: this.addr() } : {}),
          ...(r.chance(0.3)
            ? {
              rights: r.chance(0.8)
                ? Array.from({ length: r.int(5) }, () => this.fd())
                : r.pick(JUNK),
            }
            : {}),
          ...(r.chance(0.1) ? { creds: r.pick([true, 1, "yes"]) } : {}),
        };
      case "setsockopt":
      case "getsockopt":
        return {
          op,
          fd,
          level: this.num([1, 0, 6, 17, 41]),
          name: this.num([2, 4, 7, 8, 9, 13, 20, 25, 29]),
          value: r.pick([
            0,
            1,
            -1,
            2 ** 40,
            "eth0",
            "x".repeat(100),
            { l_onoff: 1 },
            new Uint8Array(8),
            null,
          ]),
        };
      case "shutdown":
        return { op, fd, how: this.num([0, 1, 2, 3]) };
      default: {
        const never: never = op;
        throw new Error(`unknown op ${never}`);
      }
    }
  }
}

/** A call for the direct netstack port, naming socket ids (its own or not) for fds. */
function directCall(gen: Generator, rng: Rng): Record<string, unknown> {
  if (rng.chance(0.1)) {
    return { op: "unread", fd: gen.sid(), data: rng.chance(0.8) ? new Uint8Array(rng.int(99)) : 3 };
  }
  // Any call, socket calls or not: the netstack must refuse what it does not serve (ENOSYS).
  const body = gen.call();
  if ("fd" in body) body.fd = gen.sid();
  if (Array.isArray(body.fds)) {
    for (const p of body.fds as { fd: unknown }[]) if (p && typeof p === "object") p.fd = gen.sid();
  }
  if (rng.chance(0.05)) return { op: "release", fd: gen.sid() };
  if (rng.chance(0.1)) {
    // Shared rings: offer a buffer (right size or not, sane or scribbled), then name any socket.
    const fd = gen.sid();
    const size = rng.chance(0.7) ? shareBytes(65536 << rng.int(7)) : rng.int(shareBytes() * 2);
    const sab = new SharedArrayBuffer(size);
    if (rng.chance(0.3)) new Int32Array(sab, 0, 8).fill(rng.int(1 << 30));
    netpost(rng.chance(0.9) ? { share: { fd, sab } } : { share: fd, sab: rng.int(9) });
    const op = ["share", "unshare", "txwait", "rxwait"][rng.int(4)];
    return { op, fd, len: rng.chance(0.9) ? rng.int(1 << 20) : -1, flags: rng.int(3) };
  }
  return body;
}

/** The kernel port, found by watching libc post its first call (prototype patching, as an attacker would). */
let kernelPort: MessagePort | undefined;

/**
 * Calls aimed at the isolation checks: spawning what lies outside the tree, unlinking the
 * well-behaved processes' paths (another uid's), polls past RLIMIT_NOFILE or naming one fd a
 * thousand times, socket buffers far past wmem_max/rmem_max, and messages the kernel port must
 * refuse (a SharedArrayBuffer, which its sender could rewrite after posting).
 */
function isolationCall(gen: Generator, rng: Rng): Record<string, unknown> | undefined {
  switch (rng.int(6)) {
    case 0:
      return {
        op: "spawn",
        module: rng.pick([
          "tools/..%2F..%2F..%2F..%2Fetc/hostname.ts",
          "file:///etc/passwd",
          "http://127.0.0.1:9/x.ts",
          "data:application/javascript,export default 1",
          "npm:left-pad",
          "tests/programs/../../../../etc/hostname",
          "/etc/hostname",
        ]),
        args: [],
      };
    case 1:
      return { op: "unlink", path: `/run/${rng.pick(["wb", "wc"])}${rng.int(4)}` };
    case 2: {
      const fd = gen.fd();
      const n = rng.pick([1025, 4096, 1024]);
      return { op: "poll", fds: Array.from({ length: n }, () => ({ fd, events: 1 })), timeout: 0 };
    }
    case 3:
      return {
        op: "setsockopt",
        fd: gen.fd(),
        level: 1,
        name: rng.pick([7, 8]), // SO_SNDBUF, SO_RCVBUF
        value: rng.pick([1 << 24, 2 ** 31 - 1, 1 << 30]),
      };
    case 4: {
      if (!kernelPort) return undefined;
      const msg = new Uint8Array(
        encodeMessage({ t: "req", id: 2e9 + rng.int(1e6), body: gen.call() }),
      );
      const sab = new SharedArrayBuffer(msg.length);
      new Uint8Array(sab).set(msg);
      kernelPort.postMessage(sab);
      return undefined;
    }
    default:
      // Not a bind of their paths: /run is not root's alone yet (see issue notes).
      return { op: "unlink", path: "/run/f" };
  }
}

export default async function main([count, seed, ms]: string[]): Promise<number> {
  const post = MessagePort.prototype.postMessage;
  MessagePort.prototype.postMessage = function (this: MessagePort, ...a: unknown[]) {
    kernelPort ??= this;
    MessagePort.prototype.postMessage = post;
    return (post as (...x: unknown[]) => void).apply(this, a);
  };
  const n = Number(count ?? 2000);
  const budget = Number(ms ?? 60_000);
  const rng = new Rng(Number(seed ?? 1));
  const extra = new Rng(Number(seed ?? 1) ^ 0x5eed);
  const gen = new Generator(rng, [], [], extra);
  // Direct calls come from their own stream: saved seeds replay the same kernel calls.
  const direct = new Generator(extra, gen.fds, gen.sids);
  // Isolation calls from a third stream, for the same reason.
  const iso = new Rng(Number(seed ?? 1) ^ 0x150);
  const start = Date.now();
  let calls = 0, errnos = 0, ok = 0, pending = 0, raw = 0;
  const inflight = new Set<Promise<void>>();
  const settle = (p: Promise<unknown>) => {
    const tracked: Promise<void> = p.then(
      (v) => {
        ok++;
        // Remember real fds, so later calls use descriptors that exist.
        if (typeof v === "number" && v >= 3 && v < 1024 && gen.fds.length < 64) gen.fds.push(v);
        if (Array.isArray(v)) { for (const x of v) if (typeof x === "number") gen.fds.push(x); }
        const got = v as { fd?: unknown; sid?: unknown } | null;
        if (typeof got?.fd === "number" && gen.fds.length < 64) gen.fds.push(got.fd);
        if (typeof got?.sid === "number" && gen.sids.length < 64) gen.sids.push(got.sid);
      },
      (e) => {
        if (e instanceof ErrnoError) errnos++;
        else throw e;
      },
    ).finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  };
  while (calls < n && Date.now() - start < budget) {
    calls++;
    const body = gen.call();
    if (rng.chance(0.15)) {
      // A real-looking envelope with flipped bits; its reply (if any) goes nowhere.
      const bytes = new Uint8Array(encodeMessage({ t: "req", id: 1e9 + calls, body }));
      for (let i = rng.int(4); i >= 0; i--) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
      syscallRaw(rng.chance(0.3) ? bytes.subarray(0, rng.int(bytes.length)) : bytes);
      raw++;
      continue;
    }
    settle(syscall(body));
    if (extra.chance(0.3)) settle(netcall(directCall(direct, extra)));
    if (iso.chance(0.05)) {
      const c = isolationCall(gen, iso);
      if (c) settle(syscall(c));
    }
    if (inflight.size >= 32) {
      // Give calls a moment; the ones still blocked (accept, recv, waitpid...) stay pending.
      const before = inflight.size;
      await Promise.race([Promise.all([...inflight]), new Promise((r) => setTimeout(r, 20))]);
      if (inflight.size === before) {
        pending += inflight.size;
        inflight.clear();
      }
    }
    if (gen.fds.length > 48) gen.fds.splice(0, 16);
    if (gen.sids.length > 48) gen.sids.splice(0, 16);
  }
  await Promise.race([Promise.all([...inflight]), new Promise((r) => setTimeout(r, 50))]);
  pending += inflight.size;
  print(
    `calls ${calls} errnos ${errnos} ok ${ok} pending ${pending} raw ${raw} ms ${
      Date.now() - start
    }`,
  );
  return 0;
}
