/**
 * Requests and replies over an {@link Endpoint}. Requests carry ids; replies are
 * `{ ok: true, value }` or `{ ok: false, errno, message }`. A pending request is rejected on
 * timeout, on abort, and when the peer goes away: nothing waits forever.
 */
import type { Endpoint } from "./endpoint.ts";
import type { Envelope } from "./messages.ts";
import { type ErrnoCode, ErrnoError, errnoFromReply, strerror } from "../errno.ts";
import type { Clock, Timer } from "../clock.ts";

/** What a request handler learns besides the request body. */
export interface RequestContext {
  /** Aborted when the requester cancels or goes away. */
  signal: AbortSignal;
}

/** Serves requests: returns the value, or throws an {@link ErrnoError}. */
export type RequestHandler = (body: unknown, ctx: RequestContext) => unknown | Promise<unknown>;

/** Options for one call. */
export interface CallOptions {
  /** Reject with ETIMEDOUT after this many ms (default: no timeout; peer loss still rejects). */
  timeoutMs?: number;
  /** Cancel the call: the peer is told, the promise rejects with EINTR. */
  signal?: AbortSignal;
  /**
   * Called with the value of a successful reply that arrives after the call was given up
   * (aborted or timed out) — the peer may have finished before it heard of the cancel — so
   * whatever the reply created (an accepted socket) can be released instead of leaking.
   */
  onLateReply?: (value: unknown) => void;
}

/** How many given-up calls are remembered for {@link CallOptions.onLateReply}. */
const LATE_REPLIES = 1024;

/** Options for an {@link RpcPeer}. */
export interface RpcOptions {
  /** Serves incoming requests; without it every request gets ENOSYS. */
  serve?: RequestHandler;
  /** Receives one-way events. */
  onEvent?: (body: unknown) => void;
  /** Clock for call timeouts (default: timeouts use setTimeout through a RealClock-like path). */
  clock?: Clock;
  /** Called for input that is not a valid envelope (counted and dropped). */
  onBadInput?: (reason: string) => void;
  /**
   * Most requests served at once (default: no limit); beyond it a request gets EAGAIN at once,
   * so an untrusted peer cannot pile up blocked calls (and the memory they hold) without bound.
   */
  maxServing?: number;
}

/** The {@link RpcOptions.maxServing} of a process's ports (to the kernel and to its netstack). */
export const PROCESS_MAX_CALLS = 4096;
/** Most bytes a process's send calls in progress may hold, on either port (ENOBUFS beyond). */
export const PROCESS_MAX_HELD_BYTES = 64 << 20;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  timer?: Timer;
  cleanup?: () => void;
}

/** Both ends of request/reply over one endpoint: it can call and it can serve. */
export class RpcPeer {
  #ep: Endpoint;
  #opts: RpcOptions;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #serving = new Map<number, AbortController>();
  #late = new Map<number, (value: unknown) => void>();
  /** Count of inputs dropped as malformed. */
  badInputs = 0;

  constructor(ep: Endpoint, opts: RpcOptions = {}) {
    this.#ep = ep;
    this.#opts = opts;
    ep.listen((m) => this.#receive(m), () => this.#bad("undecodable message"));
    ep.onClose(() => this.#peerGone());
  }

  /** Number of calls still waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** True once the endpoint has closed. */
  get closed(): boolean {
    return this.#ep.closed;
  }

  /** Send a request and wait for its reply value; rejects with an ErrnoError. */
  call(body: unknown, opts: CallOptions = {}): Promise<unknown> {
    if (this.#ep.closed) return Promise.reject(new ErrnoError("ECONNRESET", "Peer is gone"));
    if (opts.signal?.aborted) return Promise.reject(new ErrnoError("EINTR", "Call aborted"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject };
      const giveUp = () => {
        if (!opts.onLateReply) return;
        this.#late.set(id, opts.onLateReply);
        if (this.#late.size > LATE_REPLIES) this.#late.delete(this.#late.keys().next().value!);
      };
      if (opts.timeoutMs !== undefined) {
        const fire = () => {
          giveUp();
          this.#settle(id)?.reject(new ErrnoError("ETIMEDOUT", "Request timed out"));
          this.#ep.post({ t: "cancel", id } satisfies Envelope);
        };
        p.timer = this.#opts.clock
          ? this.#opts.clock.schedule(opts.timeoutMs, fire)
          : realTimer(opts.timeoutMs, fire);
      }
      if (opts.signal) {
        const onAbort = () => {
          giveUp();
          this.#settle(id)?.reject(new ErrnoError("EINTR", "Call aborted"));
          this.#ep.post({ t: "cancel", id } satisfies Envelope);
        };
        opts.signal.addEventListener("abort", onAbort, { once: true });
        p.cleanup = () => opts.signal!.removeEventListener("abort", onAbort);
      }
      this.#pending.set(id, p);
      this.#ep.post({ t: "req", id, body } satisfies Envelope);
    });
  }

  /** Send a one-way event. */
  emit(body: unknown): void {
    this.#ep.post({ t: "evt", body } satisfies Envelope);
  }

  /** Close the endpoint; pending calls reject. */
  close(): void {
    this.#ep.close();
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (!p) return undefined;
    this.#pending.delete(id);
    p.timer?.cancel();
    p.cleanup?.();
    return p;
  }

  #peerGone() {
    for (const id of [...this.#pending.keys()]) {
      this.#settle(id)?.reject(new ErrnoError("ECONNRESET", "Peer is gone"));
    }
    for (const ac of this.#serving.values()) ac.abort();
    this.#serving.clear();
  }

  #bad(reason: string) {
    this.badInputs++;
    this.#opts.onBadInput?.(reason);
  }

  #receive(raw: unknown) {
    if (raw === null || typeof raw !== "object") return this.#bad("not an object");
    const m = raw as Record<string, unknown>;
    switch (m.t) {
      case "req": {
        if (!Number.isSafeInteger(m.id)) return this.#bad("request without id");
        this.#serve(m.id as number, m.body);
        return;
      }
      case "rep": {
        const p = Number.isSafeInteger(m.id) ? this.#settle(m.id as number) : undefined;
        if (!p) {
          const late = this.#late.get(m.id as number);
          if (!late) return this.#bad("reply to no request");
          this.#late.delete(m.id as number);
          if (m.ok === true) late(m.value);
          return;
        }
        if (m.ok === true) p.resolve(m.value);
        else {
          const errno = typeof m.errno === "number" ? m.errno : 5;
          p.reject(errnoFromReply(errno, typeof m.message === "string" ? m.message : ""));
        }
        return;
      }
      case "evt":
        this.#opts.onEvent?.(m.body);
        return;
      case "cancel": {
        const ac = this.#serving.get(m.id as number);
        this.#serving.delete(m.id as number);
        ac?.abort();
        return;
      }
      default:
        return this.#bad("unknown envelope");
    }
  }

  async #serve(id: number, body: unknown) {
    if (this.#serving.has(id)) {
      // A second request under an id still being served would orphan the first (it could no
      // longer be cancelled, or aborted when the peer goes): refuse it.
      this.#bad("request id in use");
      this.#ep.post(errorReply(id, new ErrnoError("EINVAL", "Request id already in use")));
      return;
    }
    if (this.#serving.size >= (this.#opts.maxServing ?? Infinity)) {
      this.#ep.post(errorReply(id, new ErrnoError("EAGAIN", "Too many calls in progress")));
      return;
    }
    const ac = new AbortController();
    this.#serving.set(id, ac);
    let reply: Envelope;
    try {
      if (!this.#opts.serve) throw new ErrnoError("ENOSYS", "Nothing is served here");
      const value = await this.#opts.serve(body, { signal: ac.signal });
      reply = { t: "rep", id, ok: true, value: value ?? null };
    } catch (err) {
      reply = errorReply(id, err);
    }
    if (ac.signal.aborted) return;
    this.#serving.delete(id);
    this.#ep.post(reply);
  }
}

/** The reply envelope for a failed request: ErrnoErrors keep their errno, anything else is EIO. */
export function errorReply(id: number, err: unknown): Envelope {
  if (err instanceof ErrnoError) {
    return { t: "rep", id, ok: false, errno: err.errno, message: err.message };
  }
  const code: ErrnoCode = "EIO";
  const detail = err instanceof Error ? err.message : String(err);
  return { t: "rep", id, ok: false, errno: 5, message: `${strerror(code)}: ${detail}` };
}

function realTimer(ms: number, fn: () => void): Timer {
  const id = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(id) };
}
