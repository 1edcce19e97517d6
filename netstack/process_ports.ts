/**
 * The ports processes reach this netstack on directly (handed over by the kernel, one per
 * process): each is served by {@link serveDirect} for that process only, and closed when the
 * kernel reports the process gone, which abandons whatever it still had blocked here.
 */
import type { Endpoint } from "../kernel/bus/endpoint.ts";
import { PROCESS_MAX_CALLS, RpcPeer } from "../kernel/bus/rpc.ts";
import { type DirectCaller, serveDirect, type SocketHost } from "./service.ts";

/** Direct ports by process id. */
export class ProcessPorts {
  #peers = new Map<number, RpcPeer>();

  /** `count` keeps the netstack's counters ("direct ports: opened" / "direct ports: closed"). */
  constructor(readonly host: SocketHost, readonly count: (what: string) => void = () => {}) {}

  /** Number of processes attached. */
  get size(): number {
    return this.#peers.size;
  }

  /** Serve `pid`'s direct calls on `ep` (a second attach for the same pid replaces the first). */
  attach(pid: number, caps: readonly string[], ep: Endpoint): void {
    this.#peers.get(pid)?.close();
    const caller: DirectCaller = { pid, caps: new Set(caps), sends: new Map(), heldBytes: 0 };
    const rpc = new RpcPeer(ep, {
      serve: (body, ctx) => serveDirect(this.host, caller, body, ctx),
      maxServing: PROCESS_MAX_CALLS,
    });
    this.#peers.set(pid, rpc);
    this.count("direct ports: opened");
    ep.onClose(() => {
      this.count("direct ports: closed");
      if (this.#peers.get(pid) === rpc) this.#peers.delete(pid);
    });
  }

  /** The process has exited: close its port (calls still blocked are aborted). */
  exited(pid: number): void {
    const rpc = this.#peers.get(pid);
    this.#peers.delete(pid);
    rpc?.close();
  }
}
