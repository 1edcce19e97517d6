/**
 * The kernel: process table, per-process fd tables, syscall service for every process, AF_LOCAL
 * sockets, and the links to each host's netstack. It never trusts a process: every request is
 * validated, every failure is an errno reply, and a process that dies has everything reclaimed.
 */
import { CAPABILITIES, type Capability, SIGKILL } from "./abi.ts";
import type { Endpoint } from "./bus/endpoint.ts";
import type {
  ControlRequest,
  Creds,
  KernelEvent,
  LinkCtl,
  LinkInfo,
  NetAttach,
  NetCtl,
  NetRequest,
  ProcessInfo,
  ProcessSignal,
  Syscall,
} from "./bus/messages.ts";
import {
  PROCESS_MAX_CALLS,
  PROCESS_MAX_HELD_BYTES,
  type RequestContext,
  RpcPeer,
} from "./bus/rpc.ts";
import type { Clock } from "./clock.ts";
import { ErrnoError } from "./errno.ts";
import { DEFAULT_FD_LIMIT } from "./fd_table.ts";
import type { HandleBase } from "./handle.ts";
import { type Handle, StdioHandle } from "./handles.ts";
import { type Caller, LocalHost } from "./local/local_socket.ts";
import { DEFAULT_PROCESS_MEMORY, Process, type Spawner } from "./process.ts";
import { fileCaps } from "./file_caps.ts";
import { memoryCap, systemRss } from "./memory_cap.ts";
import { dispatch } from "./syscalls.ts";
import { validateSyscall } from "./validate.ts";
import { DriverTable } from "./net_setup.ts";

/** How the kernel is set up. */
export interface KernelOptions {
  clock: Clock;
  spawner: Spawner;
  /** Receives console output, exits and log lines. */
  emit: (ev: KernelEvent) => void;
  /**
   * Maps a program name or path to a module URL, or undefined when there is none (or when a
   * process, `fromProcess`, names something outside what processes may run).
   */
  resolveProgram: (name: string, fromProcess: boolean) => string | undefined;
  /** Per-process fd limit (default 1024). */
  fdLimit?: number;
  /** Most live processes (default 4096). */
  maxProcesses?: number;
  /**
   * Most live processes per uid, children included (RLIMIT_NPROC; default
   * {@link DEFAULT_PROCESS_LIMIT}). Root is exempt, as on Linux.
   */
  processLimit?: number;
  /** Memory budget of each process, in bytes (default {@link DEFAULT_PROCESS_MEMORY}). */
  processMemory?: number;
}

/**
 * Default most live processes per uid. Each process is a worker of 10–20 MB: 256 of them stay
 * well under the default system memory cap.
 */
export const DEFAULT_PROCESS_LIMIT = 256;
/**
 * What the kernel charges a process for each system call in progress, in bytes: the decoded
 * request, its promise and abort signal. Bytes the request carries (a send's data, a poll's
 * entries) are charged on top.
 */
export const PENDING_CALL_BYTES = 1024;
/** Calls served without waiting: they hold nothing, and are not charged. */
const NEVER_WAITS: ReadonlySet<Syscall["op"]> = new Set<Syscall["op"]>([
  "close",
  "exit",
  "getinfo",
  "ps",
  "kill",
  "dup",
  "dup2",
  "unlink",
]);
/** What a poll entry costs while its call is pending, in bytes. */
const POLL_ENTRY_BYTES = 64;
/**
 * What a process worker is taken to cost until it makes its first call (about what one costs,
 * measured: 12 MB), so that a burst of spawns counts against the system memory cap at once,
 * before the workers' memory shows in the RSS.
 */
export const PROCESS_START_BYTES = 16 << 20;
/**
 * Spawns by root are refused only past the system memory cap plus this share of it, on the RSS
 * alone (not on the estimate for other users' workers still starting): the admin reserve that
 * lets root still start `ps` and `kill` (Linux's `admin_reserve_kbytes`).
 */
export const ADMIN_RESERVE_SHARE = 1 / 8;

/** What starting a process needs. */
export interface SpawnRequest {
  module: string;
  args: string[];
  host?: string;
  uid?: number;
  caps?: string[];
  ppid?: number;
  /** Memory budget in bytes (default: the kernel's `processMemory`). */
  memory?: number;
  /** Share this process's stdin/stdout/stderr (a child of a shell). */
  stdio?: Process;
}

/** Counts for leak checks: everything here returns to its starting value after clean-up. */
export interface KernelStats {
  processes: number;
  fds: number;
  localSockets: number;
  inflightHandles: number;
  localPaths: number;
  /** Bytes queued in AF_LOCAL sockets, as charged to their senders' memory budgets. */
  localMemory: number;
  pendingSyscalls: number;
}

const KEEP_EXIT_STATUSES = 1024;
/** How long a signalled process has to finish before it is killed. */
export const SIGNAL_GRACE_MS = 2000;

/** The system's kernel; one serves every host (each host has its own local namespace). */
export class Kernel {
  readonly clock: Clock;
  #opts: KernelOptions;
  #procs = new Map<number, Process>();
  #exited = new Map<number, number>();
  #nextPid = 1;
  #hosts = new Map<string, LocalHost>();
  #nets = new Map<string, RpcPeer>();
  #hardware: RpcPeer | undefined;
  /** Posts a structured-clone message (one carrying a port) to a host's netstack. */
  #netRaw = new Map<string, (msg: NetAttach, transfer: Transferable[]) => void>();
  #pendingSyscalls = 0;
  /** Driver workers, for restart counts and tests that kill one. */
  readonly drivers = new DriverTable();

  constructor(opts: KernelOptions) {
    this.#opts = opts;
    this.clock = opts.clock;
  }

  /**
   * Connect a host's netstack; INET socket calls from that host's processes go there. With
   * `raw` (a way to post a port to it), each process started on the host also gets a port of
   * its own to the netstack for calls on sockets it holds, keeping the kernel off their path.
   */
  attachNet(
    host: string,
    ep: Endpoint,
    raw?: (msg: NetAttach, transfer: Transferable[]) => void,
  ): RpcPeer {
    const rpc = new RpcPeer(ep, {
      onEvent: (ev) => this.#opts.emit({ ev: "log", line: `${host}: ${String(ev)}` }),
    });
    this.#nets.set(host, rpc);
    if (raw) this.#netRaw.set(host, raw);
    ep.onClose(() => {
      if (this.#nets.get(host) !== rpc) return;
      this.#nets.delete(host);
      this.#netRaw.delete(host);
    });
    return rpc;
  }

  /** A port for `p` to its host's netstack, when both the spawner and the netstack can. */
  #netPort(p: Process): MessagePort | undefined {
    const raw = this.#netRaw.get(p.host);
    if (!raw || !this.#opts.spawner.netPorts) return undefined;
    const ch = new MessageChannel();
    try {
      raw({
        process: { pid: p.pid, caps: [...p.caps], uid: p.uid, memory: p.memoryLimit },
        port: ch.port1,
      }, [ch.port1]);
    } catch {
      return undefined;
    }
    return ch.port2;
  }

  /** Connect the hardware worker, which serves link control. */
  attachHardware(rpc: RpcPeer): void {
    this.#hardware = rpc;
  }

  /** Serve a link control request at the hardware worker (ENODEV without links). */
  async link(req: LinkCtl, signal?: AbortSignal): Promise<unknown> {
    const hw = this.#hardware;
    if (!hw) throw new ErrnoError("ENODEV", "No links in this system");
    const result = await hw.call(req, { signal, timeoutMs: 5000 });
    if (req.op === "linkset" && typeof req.up === "boolean") {
      // The hosts on the link see its carrier, as a NIC's link-change interrupt tells Linux.
      const links = await hw.call({ op: "links" } satisfies LinkCtl) as LinkInfo[];
      for (const p of links.find((l) => l.name === req.link)?.ports ?? []) {
        const [host, iface] = p.label.split("/");
        const ctl: NetCtl = { op: "ifcarrier", iface, up: req.up };
        await this.#nets.get(host)?.call({ op: "netctl", req: ctl } satisfies NetRequest)
          .catch(() => {});
      }
    }
    return result;
  }

  /** Write a line to the kernel log (the boot console shows it). */
  log(line: string): void {
    this.#opts.emit({ ev: "log", line });
  }

  /** The netstack serving `host`, or EAFNOSUPPORT when the host has none. */
  net(host: string): RpcPeer {
    const n = this.#nets.get(host);
    if (!n) throw new ErrnoError("EAFNOSUPPORT", `No network stack on host ${host}`);
    return n;
  }

  /** The AF_LOCAL state of `host`, created on first use. */
  localHost(host: string): LocalHost {
    let h = this.#hosts.get(host);
    if (!h) this.#hosts.set(host, h = new LocalHost(this.clock));
    return h;
  }

  /** Credentials of a process. */
  creds(p: Process): Creds {
    return { pid: p.pid, uid: p.uid, gid: p.gid };
  }

  /** The caller view local sockets use for a syscall of `p`. */
  caller(p: Process, ctx: RequestContext): Caller {
    return {
      creds: this.creds(p),
      signal: ctx.signal,
      install: (h: HandleBase) => p.fds.install(h as Handle),
      resolve: (fd: number) => p.fds.get(fd),
      memory: p,
    };
  }

  /**
   * Start a process; resolves to its pid once it is running. It gets the capabilities asked for
   * plus the file capabilities of its module ({@link fileCaps}). EAGAIN past the process limits
   * (the system's, and its uid's unless root), ENOMEM while the system is over its memory cap.
   */
  spawn(req: SpawnRequest): number {
    const url = this.#opts.resolveProgram(req.module, req.stdio !== undefined);
    if (!url) throw new ErrnoError("ENOENT", `Cannot run ${req.module}`);
    const uid = req.uid ?? 0;
    const memory = req.memory ?? this.#opts.processMemory ?? DEFAULT_PROCESS_MEMORY;
    if (!Number.isSafeInteger(memory) || memory <= 0) {
      throw new ErrnoError("EINVAL", `Cannot run ${req.module}: bad memory budget ${memory}`);
    }
    let running = 0, mine = 0, starting = 0;
    for (const p of this.#procs.values()) {
      if (p.state !== "running") continue;
      running++;
      if (p.uid === uid) mine++;
      if (p.syscalls === 0) starting++;
    }
    if (running >= (this.#opts.maxProcesses ?? 4096)) {
      throw new ErrnoError("EAGAIN", `Cannot run ${req.module}: too many processes`);
    }
    if (uid !== 0 && mine >= (this.#opts.processLimit ?? DEFAULT_PROCESS_LIMIT)) {
      throw new ErrnoError("EAGAIN", `Cannot run ${req.module}: too many processes for uid ${uid}`);
    }
    // Workers not yet running are not in the RSS yet: count them at an estimate.
    const over = uid === 0
      ? systemRss() > memoryCap() * (1 + ADMIN_RESERVE_SHARE)
      : systemRss() + starting * PROCESS_START_BYTES > memoryCap();
    if (over) {
      throw new ErrnoError("ENOMEM", `Cannot run ${req.module}: system memory cap reached`);
    }
    const ambient = new Set<Capability>();
    for (const c of req.caps ?? []) {
      if (!(CAPABILITIES as readonly string[]).includes(c)) {
        throw new ErrnoError("EINVAL", `Unknown capability ${c}`);
      }
      ambient.add(c as Capability);
    }
    const caps = new Set<Capability>([...ambient, ...fileCaps(url)]);
    const pid = this.#nextPid++;
    const name = req.module.split("/").pop()!.replace(/\.ts$/, "");
    const p = new Process(
      pid,
      req.ppid ?? 0,
      uid,
      uid,
      name,
      req.host ?? "local",
      caps,
      this.#opts.fdLimit ?? DEFAULT_FD_LIMIT,
    );
    p.memoryLimit = memory;
    p.ambientCaps = ambient;
    this.#procs.set(pid, p);
    for (const fd of [0, 1, 2] as const) {
      const parentHandle = req.stdio?.fds.peek(fd);
      p.fds.dup2(p.fds.install(parentHandle ?? new StdioHandle(fd, pid, this.#opts.emit)), fd);
    }
    const runtime = this.#opts.spawner.start(
      { kind: "init", pid, module: url, args: req.args },
      (message, status = 1) => {
        this.#opts.emit({
          ev: "output",
          pid,
          fd: 2,
          data: new TextEncoder().encode(message + "\n"),
        });
        this.exit(p, status);
      },
      this.#netPort(p),
    );
    p.runtime = runtime;
    p.rpc = new RpcPeer(runtime.endpoint, {
      clock: this.clock,
      maxServing: PROCESS_MAX_CALLS,
      serve: (body, ctx) => this.#syscall(p, body, ctx),
    });
    runtime.endpoint.onClose(() => this.exit(p, p.exitStatus ?? 1));
    p.rpc.emit({ kind: "init", pid, module: url, args: req.args });
    return pid;
  }

  async #syscall(p: Process, body: unknown, ctx: RequestContext): Promise<unknown> {
    if (p.exiting) throw new ErrnoError("ESRCH", "Process has exited");
    const call = validateSyscall(body);
    // Bytes of sends still blocked are held here: bounded per process, like SO_SNDBUF is.
    // (Console writes never block: they do not count.)
    const sends = call.op === "sendmsg" ||
      (call.op === "write" && p.fds.peek(call.fd)?.kind !== "stdio");
    const held = sends ? call.data.length : 0;
    if (held > 0 && p.heldBytes + held > PROCESS_MAX_HELD_BYTES) {
      throw new ErrnoError("ENOBUFS", "Too many bytes in blocked sends");
    }
    // The call and what it carries are charged to the process while it is pending. Calls that
    // never wait (and close, which frees memory) are not: a process at its budget can still
    // close, look at itself, print and exit.
    const charged = NEVER_WAITS.has(call.op) || (call.op === "write" && !sends)
      ? 0
      : PENDING_CALL_BYTES + held + (call.op === "poll" ? call.fds.length * POLL_ENTRY_BYTES : 0);
    p.charge(charged, `${call.op} in progress`);
    this.#pendingSyscalls++;
    p.syscalls++;
    p.heldBytes += held;
    try {
      return await dispatch(this, p, call, ctx);
    } finally {
      this.#pendingSyscalls--;
      p.heldBytes -= held;
      p.uncharge(charged);
    }
  }

  /** The exit status of `pid`, waiting for it to exit. ESRCH for unknown pids. */
  wait(pid: number): Promise<number> {
    const p = this.#procs.get(pid);
    if (p) return p.waitExit();
    const st = this.#exited.get(pid);
    if (st === undefined) return Promise.reject(new ErrnoError("ESRCH", `No process ${pid}`));
    return Promise.resolve(st);
  }

  /** waitpid for a process: only its own children. */
  async waitChild(parent: Process, pid: number, signal: AbortSignal): Promise<number> {
    const p = this.#procs.get(pid);
    if (p && p.ppid !== parent.pid) throw new ErrnoError("ECHILD", `Not a child ${pid}`);
    const done = this.wait(pid);
    const aborted = new Promise<never>((_, rej) =>
      signal.addEventListener("abort", () => rej(new ErrnoError("EINTR", "waitpid")), {
        once: true,
      })
    );
    return await Promise.race([done, aborted]);
  }

  /** End a process: abort its pending calls, close its fds, stop its worker, free its entry. */
  exit(p: Process, status: number): void {
    if (p.state !== "running" || p.exiting) return;
    p.exiting = true;
    p.exitStatus = status;
    p.rpc?.close();
    p.runtime?.terminate();
    p.fds.closeAll();
    // Its direct port to the netstack: calls still blocked there are abandoned.
    if (this.#netRaw.has(p.host)) {
      this.#nets.get(p.host)?.call({ op: "exited", pid: p.pid } satisfies NetRequest)
        .catch(() => {});
    }
    for (const h of this.#hosts.values()) h.collect();
    this.#procs.delete(p.pid);
    this.#exited.set(p.pid, status);
    if (this.#exited.size > KEEP_EXIT_STATUSES) {
      this.#exited.delete(this.#exited.keys().next().value!);
    }
    p.markExited(status);
    this.#opts.emit({ ev: "exit", pid: p.pid, status });
  }

  /**
   * Signal `pid`. SIGKILL ends it at once (exit status 128 + signal); other signals are
   * delivered to the program, which may handle them (libc `signal()`: ping prints its summary
   * on SIGINT) or, by default, exits with 128 + signal. A process still running
   * {@link SIGNAL_GRACE_MS} later is killed.
   */
  kill(pid: number, signal = SIGKILL): void {
    const p = this.#procs.get(pid);
    if (!p) throw new ErrnoError("ESRCH", `No process ${pid}`);
    if (signal <= 0 || signal > 64) throw new ErrnoError("EINVAL", `Bad signal ${signal}`);
    if (signal === SIGKILL || !p.rpc) return this.exit(p, 128 + signal);
    p.rpc.emit({ kind: "signal", signal } satisfies ProcessSignal);
    this.clock.schedule(SIGNAL_GRACE_MS, () => this.exit(p, 128 + signal));
  }

  /** kill() on behalf of a process: same uid or root only. */
  killFrom(sender: Process, pid: number, signal: number): void {
    const p = this.#procs.get(pid);
    if (!p) throw new ErrnoError("ESRCH", `No process ${pid}`);
    if (sender.uid !== 0 && sender.uid !== p.uid) {
      throw new ErrnoError("EPERM", `Cannot kill process ${pid}`);
    }
    this.kill(pid, signal);
  }

  /** The process table. */
  ps(): ProcessInfo[] {
    return [...this.#procs.values()].map((p) => p.info());
  }

  /** Resource counts for leak checks. */
  stats(): KernelStats {
    let fds = 0;
    for (const p of this.#procs.values()) fds += p.fds.size;
    let localSockets = 0, inflight = 0, paths = 0, localMemory = 0;
    for (const h of this.#hosts.values()) {
      localSockets += h.open;
      inflight += h.inflight;
      paths += h.ns.size;
      localMemory += h.memory;
    }
    return {
      processes: this.#procs.size,
      fds,
      localSockets,
      inflightHandles: inflight,
      localPaths: paths,
      localMemory,
      pendingSyscalls: this.#pendingSyscalls,
    };
  }

  /** Serve a request from the boot code. */
  async control(body: unknown): Promise<unknown> {
    const req = body as ControlRequest;
    switch (req?.op) {
      case "spawn":
        return this.spawn(req);
      case "ps":
        return this.ps();
      case "kill":
        return this.kill(req.pid, req.signal), null;
      case "wait":
        return await this.wait(req.pid);
      case "stats":
        return this.stats();
      case "killdriver":
        if (!this.drivers.kill(req.label)) throw new ErrnoError("ENODEV", `No driver ${req.label}`);
        return null;
      case "drivers":
        return this.drivers.restarts();
      case "link":
        return await this.link(req.req);
      case "netctl":
        return await this.net(req.host).call({ op: "netctl", req: req.req } satisfies NetRequest, {
          timeoutMs: 5000,
        });
      case "hosts":
        return [...this.#nets.keys()];
      case "shutdown":
        return this.shutdown(), null;
      default: {
        const never: never = req;
        throw new ErrnoError(
          "ENOSYS",
          `Unknown control request ${String((never as { op?: string })?.op)}`,
        );
      }
    }
  }

  /** Stop every process and drop netstack links. */
  shutdown(): void {
    for (const p of [...this.#procs.values()]) this.exit(p, 128 + SIGKILL);
    for (const n of this.#nets.values()) n.close();
    this.#nets.clear();
  }
}
