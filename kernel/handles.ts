/**
 * The kinds of open file description a process can hold: standard I/O, AF_LOCAL sockets
 * (served by the kernel) and INET sockets (served by a host's netstack, reached by id).
 */
import type { RpcPeer } from "./bus/rpc.ts";
import type { HandleBase } from "./handle.ts";
import type { LocalSocket } from "./local/local_socket.ts";
import { WaitQueue } from "./wait_queue.ts";
import type { KernelEvent, NetRequest } from "./bus/messages.ts";

/** Standard input/output/error of a process: output goes to the boot console. */
export class StdioHandle implements HandleBase {
  readonly kind = "stdio" as const;
  refs = 0;
  nonblock = false;
  readonly wq = new WaitQueue();
  constructor(
    readonly stream: 0 | 1 | 2,
    readonly pid: number,
    readonly emit: (ev: KernelEvent) => void,
  ) {}

  /** Write bytes to the console. */
  write(data: Uint8Array): number {
    if (this.stream === 0) return 0;
    this.emit({ ev: "output", pid: this.pid, fd: this.stream, data });
    return data.length;
  }

  release(): void {}
}

/** An INET socket living in a host's netstack, known to the kernel by its socket id. */
export class InetHandle implements HandleBase {
  readonly kind = "inet" as const;
  refs = 0;
  nonblock = false;
  readonly wq = new WaitQueue();
  soError = 0;
  /** Processes the netstack knows to hold this socket (it checks direct calls against them). */
  readonly holders: Set<number>;
  constructor(
    readonly host: string,
    readonly sid: number,
    readonly net: RpcPeer,
    readonly type: number,
    holder?: number,
  ) {
    this.holders = new Set(holder === undefined ? [] : [holder]);
  }

  /** A process's fd table gained its first fd to this socket, or closed its last one. */
  hold(pid: number, held: boolean): void {
    if (held === this.holders.has(pid)) return;
    if (held) this.holders.add(pid);
    else this.holders.delete(pid);
    // Once nobody holds it the release below forgets the socket altogether.
    if (!held && this.refs === 0) return;
    this.net.call({ op: "owner", fd: this.sid, pid, add: held } satisfies NetRequest)
      .catch(() => {});
  }

  release(): void {
    this.net.call({ op: "release", fd: this.sid }).catch(() => {});
  }
}

/** Any open file description. */
export type Handle = StdioHandle | LocalSocket | InetHandle;
