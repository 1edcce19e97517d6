/** A process as the kernel keeps it: identity, credentials, capabilities, fds, lifecycle. */
import type { Capability } from "./abi.ts";
import type { Endpoint } from "./bus/endpoint.ts";
import type { ProcessInfo, ProcessInit } from "./bus/messages.ts";
import type { RpcPeer } from "./bus/rpc.ts";
import { FdTable } from "./fd_table.ts";
import type { Handle } from "./handles.ts";
import { ErrnoError } from "./errno.ts";

/**
 * Default memory budget of one process, in bytes, in each place that holds memory for it (the
 * kernel, and its host's netstack): what it may keep queued, read ahead or pending there.
 * Ordinary programs and the benchmarks stay far below it.
 */
export const DEFAULT_PROCESS_MEMORY = 256 << 20;

/** A started process's runtime (a Worker, in practice): its bus endpoint and a kill switch. */
export interface ProcessRuntime {
  endpoint: Endpoint;
  terminate(): void;
}

/**
 * Starts process runtimes; `onCrash` reports an exception that escaped the program (or a program
 * that could not start, with its exit status). A spawner
 * that can hand a process a port to its host's netstack says so with `netPorts`; `start` then
 * gets the port as `net`.
 */
export interface Spawner {
  readonly netPorts?: boolean;
  start(
    init: ProcessInit,
    onCrash: (message: string, status?: number) => void,
    net?: MessagePort,
  ): ProcessRuntime;
}

/** One row of the process table. */
export class Process {
  state: "running" | "exited" = "running";
  /** Set as soon as the kernel starts tearing the process down. */
  exiting = false;
  exitStatus?: number;
  rpc?: RpcPeer;
  runtime?: ProcessRuntime;
  /** System calls the kernel has served for this process. */
  syscalls = 0;
  /** Bytes held by this process's send calls still in progress. */
  heldBytes = 0;
  readonly fds: FdTable<Handle>;
  /** Bytes of kernel memory held for this process (AF_LOCAL queues, pending calls, polls). */
  memory = 0;
  /** The most {@link memory} may reach; beyond it, charges fail with ENOBUFS. */
  memoryLimit = DEFAULT_PROCESS_MEMORY;
  /**
   * The capabilities its starter gave it, which its children inherit (Linux's ambient set);
   * {@link caps} adds its module's file capabilities, which children do not inherit.
   */
  ambientCaps: ReadonlySet<Capability> = new Set();
  readonly #exitWaiters: Array<(status: number) => void> = [];

  constructor(
    readonly pid: number,
    readonly ppid: number,
    readonly uid: number,
    readonly gid: number,
    readonly name: string,
    readonly host: string,
    readonly caps: ReadonlySet<Capability>,
    fdLimit: number,
  ) {
    this.fds = new FdTable<Handle>(fdLimit, (h, held) => {
      if (h.kind === "inet") h.hold(pid, held);
    });
  }

  /**
   * Charge `bytes` of kernel memory to this process, or throw ENOBUFS (nothing charged) when
   * that would take it past {@link memoryLimit}. Every charge is undone by {@link uncharge}.
   */
  charge(bytes: number, what = "memory"): void {
    if (this.memory + bytes > this.memoryLimit) {
      throw new ErrnoError("ENOBUFS", `Process ${this.pid} is over its memory budget (${what})`);
    }
    this.memory += bytes;
  }

  /** Give back bytes taken by {@link charge}. */
  uncharge(bytes: number): void {
    this.memory = Math.max(0, this.memory - bytes);
  }

  /** Resolve with the exit status once the process has exited. */
  waitExit(): Promise<number> {
    if (this.state === "exited") return Promise.resolve(this.exitStatus ?? 0);
    return new Promise((r) => this.#exitWaiters.push(r));
  }

  /** Mark exited and wake waiters (the kernel has already reclaimed resources). */
  markExited(status: number): void {
    if (this.state === "exited") return;
    this.state = "exited";
    this.exitStatus = status;
    for (const w of this.#exitWaiters.splice(0)) w(status);
  }

  /** The `ps` view of this process. */
  info(): ProcessInfo {
    return {
      pid: this.pid,
      ppid: this.ppid,
      uid: this.uid,
      gid: this.gid,
      name: this.name,
      host: this.host,
      state: this.state,
      exitStatus: this.exitStatus,
      fds: this.fds.size,
      caps: [...this.caps],
      syscalls: this.syscalls,
      memory: this.memory,
      memoryLimit: this.memoryLimit,
    };
  }
}
