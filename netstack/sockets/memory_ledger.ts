/**
 * What the netstack holds for each process, charged to it by pid against its memory budget
 * (NetAttach's `process.memory`; default DEFAULT_PROCESS_MEMORY, 256 MiB):
 * - each socket it created or accepted: a fixed cost, the bytes queued in its send and receive
 *   buffers and put back unread, and its shared rings at the SharedArrayBuffer's byteLength
 *   while shared (the send buffer then lives in the tx ring, so it is not counted twice);
 * - SharedArrayBuffers it offered for rings and has not used yet;
 * - its calls in progress on its direct port (a fixed cost plus the bytes a send carries);
 * - its poll() calls: their entries and one registration per socket they wait on.
 *
 * A socket held by several processes is charged to one: its creator (or the process that
 * accepted it), then, when that one lets go, to another holder.
 *
 * Sockets keep their charge in step with a counter update at each wake (a segment arrived,
 * an ACK freed the send buffer, a call moved bytes): no per-byte work. Beyond the budget,
 * sends and new rings get ENOBUFS, new sockets ENOMEM, and data arriving for the process's TCP
 * sockets is dropped unacknowledged (Linux does the same under tcp_mem pressure); the peer
 * retransmits once the process has read and freed memory.
 */
import { type ErrnoCode, ErrnoError } from "../../kernel/errno.ts";
import { DEFAULT_PROCESS_MEMORY } from "../../kernel/process.ts";

/** One process's memory at this netstack. */
export class MemoryAccount {
  #used = 0;
  /** Segments dropped because the process was over its budget. */
  drops = 0;

  /** @internal Made by {@link MemoryLedger.account}. */
  constructor(
    readonly pid: number,
    /** The most {@link used} may reach through {@link charge}. */
    public budget: number,
    readonly ledger: MemoryLedger,
  ) {}

  /** Bytes charged now. */
  get used(): number {
    return this.#used;
  }

  /** Whether the process is at or past its budget (its arriving data is dropped). */
  get over(): boolean {
    return this.#used >= this.budget;
  }

  /** Whether `bytes` more would fit in the budget. */
  fits(bytes: number): boolean {
    return this.#used + bytes <= this.budget;
  }

  /** Charge `bytes`, or throw `code` ("what: …") and charge nothing when they do not fit. */
  charge(bytes: number, code: ErrnoCode, what: string): void {
    if (!this.fits(bytes)) {
      throw new ErrnoError(code, `${what}: process ${this.pid} is over its memory budget`);
    }
    this.adjust(bytes);
  }

  /** Add (or, negative, give back) bytes whatever the budget: what buffers already hold. */
  adjust(delta: number): void {
    this.#used += delta;
    this.ledger.total += delta;
  }
}

/** Every process's account at one netstack. */
export class MemoryLedger {
  #accounts = new Map<number, MemoryAccount>();
  /** Bytes charged to all processes (accounts of exited processes included until settled). */
  total = 0;

  /** The default budget of a process the kernel did not give one. */
  constructor(readonly defaultBudget = DEFAULT_PROCESS_MEMORY) {}

  /** `pid`'s account, opened with `budget` (default {@link defaultBudget}) on first use. */
  account(pid: number, budget?: number): MemoryAccount {
    let a = this.#accounts.get(pid);
    if (!a) {
      a = new MemoryAccount(pid, budget ?? this.defaultBudget, this);
      this.#accounts.set(pid, a);
    } else if (budget !== undefined) a.budget = budget;
    return a;
  }

  /** `pid`'s account if it has one. */
  find(pid: number): MemoryAccount | undefined {
    return this.#accounts.get(pid);
  }

  /**
   * The process exited: close its account. Its sockets were released before (the kernel closes
   * a process's fds before reporting it gone) and its calls aborted, so what is left is
   * returned: 0 unless something was not given back.
   */
  close(pid: number): number {
    const a = this.#accounts.get(pid);
    this.#accounts.delete(pid);
    return a?.used ?? 0;
  }

  /** Bytes charged per pid, for netctl stats. */
  snapshot(): Record<number, number> {
    const out: Record<number, number> = {};
    for (const [pid, a] of this.#accounts) out[pid] = a.used;
    return out;
  }
}
