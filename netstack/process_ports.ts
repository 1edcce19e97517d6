/**
 * The ports processes reach this netstack on directly (handed over by the kernel, one per
 * process): each is served by {@link serveDirect} for that process only, and closed when the
 * kernel reports the process gone, which abandons whatever it still had blocked here. Each
 * process's memory here is charged to its account in the host's ledger (memory_ledger.ts),
 * opened with the budget the kernel sent and closed when the process is gone.
 */
import type { Endpoint } from "../kernel/bus/endpoint.ts";
import { PROCESS_MAX_CALLS, RpcPeer } from "../kernel/bus/rpc.ts";
import {
  type DirectCaller,
  dropOffers,
  offerShare,
  ringBell,
  serveDirect,
  type SocketHost,
} from "./service.ts";

/** Direct ports by process id. */
export class ProcessPorts {
  #peers = new Map<number, RpcPeer>();
  #callers = new Map<number, DirectCaller>();

  /** `count` keeps the netstack's counters ("direct ports: opened" / "direct ports: closed"). */
  constructor(readonly host: SocketHost, readonly count: (what: string) => void = () => {}) {}

  /** Number of processes attached. */
  get size(): number {
    return this.#peers.size;
  }

  /**
   * Serve `pid`'s direct calls on `ep` (a second attach for the same pid replaces the first);
   * `memory` is its budget here in bytes (default: the ledger's).
   */
  attach(pid: number, caps: readonly string[], ep: Endpoint, memory?: number): void {
    this.#peers.get(pid)?.close();
    const caller: DirectCaller = {
      pid,
      caps: new Set(caps),
      sends: new Map(),
      heldBytes: 0,
      offered: new Map(),
      account: this.host.memory.account(pid, memory),
    };
    const rpc = new RpcPeer(ep, {
      serve: (body, ctx) => serveDirect(this.host, caller, body, ctx),
      onEvent: (body) => ringBell(this.host, caller, body),
      maxServing: PROCESS_MAX_CALLS,
    });
    this.#peers.set(pid, rpc);
    this.#callers.set(pid, caller);
    this.count("direct ports: opened");
    ep.onClose(() => {
      this.count("direct ports: closed");
      dropOffers(caller);
      if (this.#peers.get(pid) === rpc) {
        this.#peers.delete(pid);
        this.#callers.delete(pid);
      }
    });
  }

  /**
   * A structured-clone message on `pid`'s port: a SharedArrayBuffer for its next `share`
   * call. Anything else is counted as bad input.
   */
  raw(pid: number, data: unknown): void {
    const caller = this.#callers.get(pid);
    if (!caller || !offerShare(caller, data)) this.count("direct ports: bad raw messages");
  }

  /**
   * The process has exited: close its port (calls still blocked are aborted) and, once they
   * have given back what they held, its memory account. Something still charged then is a
   * leak: counted as "memory: left at exit".
   */
  exited(pid: number): void {
    const rpc = this.#peers.get(pid);
    const caller = this.#callers.get(pid);
    this.#peers.delete(pid);
    this.#callers.delete(pid);
    rpc?.close();
    if (caller) dropOffers(caller);
    // Aborted calls unwind in later turns (their finally blocks give their charges back).
    setTimeout(() => {
      if (this.host.memory.close(pid) !== 0) this.count("memory: left at exit");
    }, 0);
  }
}
