/**
 * The programmatic API for tests and embedders: boot a system, run programs in it as
 * permission-less processes, inspect it, shut it down.
 *
 * Privileges here are the embedder's to choose: {@link System.start} runs a program as uid 0
 * with only the capabilities in `caps` (plus its module's file capabilities, see
 * kernel/file_caps.ts) unless told otherwise, so tests keep their meaning. `deno task run`
 * (tools/boot.ts) is the one that runs programs unprivileged by default (uid 1000, no
 * capabilities).
 *
 * @example
 * await using sys = await boot();
 * const { status, stdout } = await sys.run("tools/hello.ts", ["world"]);
 */
import { portEndpoint } from "./bus/endpoint.ts";
import type { KernelEvent, LinkCtl, NetCtl, ProcessInfo } from "./bus/messages.ts";
import { RpcPeer } from "./bus/rpc.ts";
import type { KernelStats } from "./kernel.ts";
import type { NetSetup } from "./net_setup.ts";
import { WorkerHost } from "./worker_host.ts";
import { defaultMemoryCap } from "./memory_cap.ts";

/** How to boot. */
export interface BootConfig {
  /** Network hosts; default: one host named "local". */
  net?: NetSetup;
  /** Where console output goes (default: this process's stdout/stderr). */
  output?: (pid: number, fd: number, data: Uint8Array) => void;
  /** Kernel log lines (default: ignored). */
  log?: (line: string) => void;
  /**
   * Most live processes per uid, children included (RLIMIT_NPROC; default 256); spawning past
   * it fails with EAGAIN. Root (uid 0) is exempt, as on Linux.
   */
  processLimit?: number;
  /**
   * Memory budget of each process in bytes, in the kernel and again in its host's netstack
   * (default 256 MiB); past it, what would need more fails with ENOBUFS or ENOMEM.
   */
  processMemory?: number;
  /**
   * The system's memory cap in bytes: while the whole OS process's RSS is above it, spawns
   * (and new sockets and buffers) fail with ENOMEM. Default min(8 GiB, 60% of the RAM).
   */
  memoryCap?: number;
}

/** Options for starting a process. */
export interface SpawnOptions {
  /** The host it runs on (default "local"). */
  host?: string;
  /** Its uid (default 0: root). */
  uid?: number;
  /** Capabilities it gets besides its module's file capabilities (default none). */
  caps?: string[];
  /** Its memory budget in bytes (default: the boot's `processMemory`). */
  memory?: number;
}

/** What {@link System.run} returns. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A booted system. */
export interface System extends AsyncDisposable {
  /** Start a program; resolves to its pid. */
  start(program: string, args?: string[], opts?: SpawnOptions): Promise<number>;
  /** Run a program to completion; resolves to its exit status. Output goes to `output`. */
  spawn(program: string, args?: string[], opts?: SpawnOptions): Promise<number>;
  /** Run a program to completion and capture its stdout/stderr. */
  run(program: string, args?: string[], opts?: SpawnOptions): Promise<RunResult>;
  /** Wait for a process to exit. */
  wait(pid: number): Promise<number>;
  /** The process table. */
  ps(): Promise<ProcessInfo[]>;
  /** Kill a process. */
  kill(pid: number, signal?: number): Promise<void>;
  /** Kernel resource counts. */
  stats(): Promise<KernelStats>;
  /** Kill the driver worker of interface "host/iface" (the kernel restarts it). */
  killDriver(label: string): Promise<void>;
  /** How often each driver worker was restarted, by "host/iface". */
  driverRestarts(): Promise<Record<string, number>>;
  /**
   * Link control: `{ op: "links" }` (link show), `linkset` (faults, carrier), `linkframes`.
   * Rejects with an ErrnoError (ENODEV for an unknown link, EINVAL for an impossible value).
   */
  link(req: LinkCtl): Promise<unknown>;
  /** A netctl request on `host`'s netstack (ifaces, routes, neigh, sockets, stats, tcpinfo). */
  netctl(host: string, req: NetCtl): Promise<unknown>;
  /** Names of the hosts with a netstack. */
  hosts(): Promise<string[]>;
  /** Stop everything. */
  shutdown(): Promise<void>;
}

/** Boot a system: the kernel worker (and, with a net config, netstacks and drivers). */
export async function boot(config: BootConfig = {}): Promise<System> {
  for (const k of ["processLimit", "processMemory", "memoryCap"] as const) {
    const v = config[k];
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
      throw new RangeError(`${k} must be a positive integer, not ${v}`);
    }
  }
  const worker = new Worker(new URL("./kernel_main.ts", import.meta.url), {
    type: "module",
    name: "kernel",
  });
  const captures = new Map<number, { out: Uint8Array[]; err: Uint8Array[] }>();
  const out = config.output ?? ((_pid, fd, data) => {
    (fd === 2 ? Deno.stderr : Deno.stdout).writeSync(data);
  });
  const host = new WorkerHost((msg) => worker.postMessage(msg));
  worker.onmessage = (e) => host.receive(e.data);
  const ch = new MessageChannel();
  worker.postMessage({ port: ch.port2 }, [ch.port2]);
  const ep = portEndpoint(ch.port1);
  let down = false;
  const rpc = new RpcPeer(ep, {
    onEvent: (body) => {
      const ev = body as KernelEvent;
      switch (ev.ev) {
        case "output": {
          const c = captures.get(ev.pid);
          if (c) (ev.fd === 2 ? c.err : c.out).push(ev.data);
          else out(ev.pid, ev.fd, ev.data);
          return;
        }
        case "exit":
          return;
        case "log":
          config.log?.(ev.line);
          return;
        default: {
          const never: never = ev;
          config.log?.(`unknown kernel event ${JSON.stringify(never)}`);
        }
      }
    },
  });
  worker.onerror = (e) => {
    e.preventDefault();
    config.log?.(`kernel crashed: ${e.message}`);
    ep.close();
  };
  try {
    await rpc.call({
      op: "boot",
      setup: config.net ?? { hosts: [{ name: "local" }] },
      cwd: Deno.cwd(),
      limits: {
        processLimit: config.processLimit,
        processMemory: config.processMemory,
        memoryCap: config.memoryCap ?? defaultMemoryCap(),
      },
    });
  } catch (err) {
    // A boot that failed (a TAP that cannot be opened) leaves no worker behind.
    ep.close();
    host.terminateAll();
    worker.terminate();
    throw err;
  }

  const sys: System = {
    async start(program, args = [], opts = {}) {
      return await rpc.call({ op: "spawn", module: program, args, ...opts }) as number;
    },
    async spawn(program, args = [], opts = {}) {
      return await sys.wait(await sys.start(program, args, opts));
    },
    async run(program, args = [], opts = {}) {
      const pid = await sys.start(program, args, opts);
      const c = { out: [] as Uint8Array[], err: [] as Uint8Array[] };
      captures.set(pid, c);
      try {
        const status = await sys.wait(pid);
        return { status, stdout: join(c.out), stderr: join(c.err) };
      } finally {
        captures.delete(pid);
      }
    },
    async wait(pid) {
      return await rpc.call({ op: "wait", pid }) as number;
    },
    async ps() {
      return await rpc.call({ op: "ps" }) as ProcessInfo[];
    },
    async kill(pid, signal = 9) {
      await rpc.call({ op: "kill", pid, signal });
    },
    async stats() {
      return await rpc.call({ op: "stats" }) as KernelStats;
    },
    async killDriver(label) {
      await rpc.call({ op: "killdriver", label });
    },
    async driverRestarts() {
      return await rpc.call({ op: "drivers" }) as Record<string, number>;
    },
    async link(req) {
      return await rpc.call({ op: "link", req });
    },
    async netctl(host, req) {
      return await rpc.call({ op: "netctl", host, req });
    },
    async hosts() {
      return await rpc.call({ op: "hosts" }) as string[];
    },
    async shutdown() {
      if (down) return;
      down = true;
      await rpc.call({ op: "shutdown" }, { timeoutMs: 5000 }).catch(() => {});
      ep.close();
      host.terminateAll();
      worker.terminate();
    },
    [Symbol.asyncDispose]() {
      return sys.shutdown();
    },
  };
  return sys;
}

const dec = new TextDecoder();
function join(parts: Uint8Array[]): string {
  return parts.map((p) => dec.decode(p, { stream: true })).join("") + dec.decode();
}
