/** A process as the kernel keeps it: identity, credentials, capabilities, fds, lifecycle. */
import type { Capability } from "./abi.ts";
import type { Endpoint } from "./bus/endpoint.ts";
import type { ProcessInfo, ProcessInit } from "./bus/messages.ts";
import type { RpcPeer } from "./bus/rpc.ts";
import { FdTable } from "./fd_table.ts";
import type { Handle } from "./handles.ts";

/** A started process's runtime (a Worker, in practice): its bus endpoint and a kill switch. */
export interface ProcessRuntime {
  endpoint: Endpoint;
  terminate(): void;
}

/**
 * Starts process runtimes; `onCrash` reports an exception that escaped the program. A spawner
 * that can hand a process a port to its host's netstack says so with `netPorts`; `start` then
 * gets the port as `net`.
 */
export interface Spawner {
  readonly netPorts?: boolean;
  start(init: ProcessInit, onCrash: (message: string) => void, net?: MessagePort): ProcessRuntime;
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
    };
  }
}
