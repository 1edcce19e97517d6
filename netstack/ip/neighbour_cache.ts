/**
 * The neighbour cache state machine shared by ARP (RFC 826) and NDP (RFC 4861 §7.3), with
 * Linux's states: INCOMPLETE → REACHABLE → STALE → DELAY → PROBE, plus PERMANENT for static
 * entries. {@link ArpCache} and {@link NdpCache} are thin configurations of it.
 *
 * - An unknown address gets an INCOMPLETE entry: its packets wait in a bounded queue (oldest
 *   dropped) while a request goes out every `retransMs`, `maxMulticastProbes` times; then the
 *   entry fails and its packets go back through `onUnreachable` (EHOSTUNREACH for sockets).
 * - REACHABLE lasts `reachableMs` after the last confirmation, then becomes STALE. A STALE
 *   entry still works; using one starts DELAY (`delayMs`), then PROBE: `maxUnicastProbes`
 *   unicast requests `retransMs` apart, after which the entry is dropped. STALE entries unused
 *   for `gcStaleMs` are collected.
 * - The table is bounded: INCOMPLETE entries have their own quota, and a new entry may only
 *   evict a STALE one (least recently used), so a flood of unresolvable addresses never pushes
 *   out resolved neighbours. PERMANENT entries never expire and are never evicted.
 *
 * Pure: no I/O; time comes in as `now` (ms), `poll(now)` runs timers and `nextDeadline()`
 * says when to call it next.
 */

/** Entry states (RFC 4861 §7.3.2 names, plus PERMANENT for static entries). */
export type NeighbourState =
  | "INCOMPLETE"
  | "REACHABLE"
  | "STALE"
  | "DELAY"
  | "PROBE"
  | "PERMANENT";

/** What the cache asks of the protocol layer. */
export interface NeighbourHooks<A, P> {
  /**
   * Send a request for `ip`: broadcast/multicast when `unicastTo` is undefined (INCOMPLETE),
   * else a unicast probe to that link-layer address (PROBE).
   */
  sendRequest(ip: A, unicastTo?: Uint8Array): void;
  /** `ip` resolved to `mac`: send these queued packets now (oldest first). */
  onResolved(ip: A, mac: Uint8Array, packets: P[]): void;
  /** Resolution of `ip` failed: these packets cannot be delivered (may be empty). */
  onUnreachable(ip: A, packets: P[]): void;
}

/** Tunables, with Linux/RFC 4861 defaults. */
export interface NeighbourOptions {
  /** Time between requests (RetransTimer). Default 1000 ms. */
  retransMs: number;
  /** Broadcast/multicast requests before INCOMPLETE fails. Default 3. */
  maxMulticastProbes: number;
  /** Unicast probes before PROBE fails. Default 3. */
  maxUnicastProbes: number;
  /** REACHABLE lifetime after a confirmation (ReachableTime). Default 30000 ms. */
  reachableMs: number;
  /** DELAY before the first probe (DELAY_FIRST_PROBE_TIME). Default 5000 ms. */
  delayMs: number;
  /** STALE entries unused this long are removed. Default 60000 ms. */
  gcStaleMs: number;
  /** Packets queued per INCOMPLETE entry; the oldest is dropped beyond. Default 3. */
  queueLen: number;
  /** Most entries in all (PERMANENT ones included). Default 1024. */
  maxEntries: number;
  /** Most INCOMPLETE entries at once. Default 256. */
  maxIncomplete: number;
  /** Use DELAY/PROBE to re-verify STALE entries in use; when false they stay STALE. Default true. */
  delayProbe: boolean;
  /**
   * Randomise each REACHABLE lifetime to `reachableMs` × (1 ± jitter), uniformly (RFC 4861
   * §6.3.2 uses 0.5). Default 0: deterministic.
   */
  reachableJitter: number;
  /** Uniform random numbers in [0, 1) for the jitter. Default Math.random. */
  random: () => number;
}

/** The default {@link NeighbourOptions}. */
export const DEFAULT_NEIGHBOUR_OPTIONS: NeighbourOptions = {
  retransMs: 1000,
  maxMulticastProbes: 3,
  maxUnicastProbes: 3,
  reachableMs: 30_000,
  delayMs: 5000,
  gcStaleMs: 60_000,
  queueLen: 3,
  maxEntries: 1024,
  maxIncomplete: 256,
  delayProbe: true,
  reachableJitter: 0,
  random: Math.random,
};

/** How the link-layer information in a received packet may change an entry. */
export interface UpdateFlags {
  /** The packet answers our request (ARP reply to us, NA with S=1): proves reachability. */
  solicited?: boolean;
  /** A different address replaces the cached one (NA O flag; always for ARP). Default true. */
  override?: boolean;
  /** Create a missing entry (the packet was for us: RFC 826 merge rule). Default false. */
  create?: boolean;
  /**
   * The neighbour's IsRouter flag (NDP: NA R flag, true for an RA's source), recorded unless
   * the update is ignored. Undefined leaves the flag as it was (false on a new entry).
   */
  router?: boolean;
}

/** What {@link NeighbourCache.update} did. */
export type UpdateOutcome =
  | "created"
  | "resolved"
  | "confirmed"
  | "changed"
  | "unchanged"
  | "ignored"
  | "no-entry"
  | "table-full";

/** What {@link NeighbourCache.resolve} did with a packet. */
export type ResolveResult =
  | { status: "resolved"; mac: Uint8Array }
  | { status: "queued" }
  | { status: "dropped"; reason: "incomplete-limit" | "table-full" };

/** One entry as the `arp`/`ndp` tools show it. */
export interface NeighbourInfo<A> {
  /** Protocol address. */
  ip: A;
  /** Link-layer address, once known. */
  mac?: Uint8Array;
  /** Current state. */
  state: NeighbourState;
  /** The neighbour is a router (NDP IsRouter flag; always false for ARP). */
  router: boolean;
  /** Packets waiting (INCOMPLETE only). */
  queued: number;
  /** Requests sent in the current INCOMPLETE/PROBE round. */
  probes: number;
  /** When the entry's timer fires next (ms), if it has one. */
  deadline?: number;
}

/** Event counts, for the tools and tests. */
export interface NeighbourStats {
  /** Broadcast/multicast requests sent. */
  requests: number;
  /** Unicast probes sent. */
  probes: number;
  /** INCOMPLETE entries that resolved. */
  resolved: number;
  /** Packets queued while resolving. */
  queued: number;
  /** Packets dropped from a full per-entry queue. */
  queueDrops: number;
  /** Resolutions (INCOMPLETE or PROBE) that failed. */
  failed: number;
  /** Packets handed back through onUnreachable. */
  unreachablePackets: number;
  /** STALE entries evicted to make room. */
  evicted: number;
  /** Entries refused because the table was full of non-STALE entries. */
  tableFull: number;
  /** Entries refused because of the INCOMPLETE quota. */
  incompleteLimit: number;
  /** STALE entries collected after gcStaleMs unused. */
  gcRemoved: number;
  /** Updates that moved a cached link-layer address. */
  macChanged: number;
  /** Updates ignored (PERMANENT entries, no override, no entry). */
  ignored: number;
}

interface Entry<A, P> {
  ip: A;
  mac?: Uint8Array;
  state: NeighbourState;
  router: boolean;
  /** When the state timer fires; Infinity for none. */
  deadline: number;
  probes: number;
  queue: P[];
  usedAt: number;
}

/** A neighbour cache keyed by `key(ip)`; see the module comment for the state machine. */
export class NeighbourCache<A, P = Uint8Array> {
  readonly opts: NeighbourOptions;
  readonly stats: NeighbourStats = {
    requests: 0,
    probes: 0,
    resolved: 0,
    queued: 0,
    queueDrops: 0,
    failed: 0,
    unreachablePackets: 0,
    evicted: 0,
    tableFull: 0,
    incompleteLimit: 0,
    gcRemoved: 0,
    macChanged: 0,
    ignored: 0,
  };
  #entries = new Map<string | number, Entry<A, P>>();
  #incomplete = 0;

  constructor(
    readonly key: (ip: A) => string | number,
    readonly hooks: NeighbourHooks<A, P>,
    opts: Partial<NeighbourOptions> = {},
  ) {
    this.opts = { ...DEFAULT_NEIGHBOUR_OPTIONS, ...opts };
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** INCOMPLETE entries held now. */
  get incompleteCount(): number {
    return this.#incomplete;
  }

  /**
   * The link-layer address for `ip` if one is cached (any state but INCOMPLETE). Counts as a
   * use for garbage collection but, unlike {@link resolve}, starts no DELAY/PROBE.
   */
  lookup(ip: A, now: number): Uint8Array | undefined {
    const e = this.#entries.get(this.key(ip));
    if (!e || e.mac === undefined) return undefined;
    if (e.state !== "PERMANENT") e.usedAt = Math.max(e.usedAt, now);
    return e.mac;
  }

  /** The state of `ip`'s entry, if any. */
  state(ip: A): NeighbourState | undefined {
    return this.#entries.get(this.key(ip))?.state;
  }

  /** `ip`'s entry as {@link list} shows it, if any (not counted as a use). */
  get(ip: A): NeighbourInfo<A> | undefined {
    const e = this.#entries.get(this.key(ip));
    return e && info(e);
  }

  /**
   * Find the link-layer address to send `packet` to `ip`: returns it when cached (a STALE
   * entry moves to DELAY), else queues the packet on an INCOMPLETE entry, creating it and
   * sending the first request when new. A refused packet is counted and reported "dropped".
   */
  resolve(ip: A, now: number, packet: P): ResolveResult {
    const k = this.key(ip);
    const e = this.#entries.get(k);
    if (e) {
      e.usedAt = now;
      if (e.state === "INCOMPLETE") {
        this.#enqueue(e, packet);
        return { status: "queued" };
      }
      if (e.state === "STALE") {
        if (this.opts.delayProbe) this.#enter(e, "DELAY", now + this.opts.delayMs);
        else e.deadline = now + this.opts.gcStaleMs;
      }
      return { status: "resolved", mac: e.mac as Uint8Array };
    }
    if (this.#incomplete >= this.opts.maxIncomplete) {
      this.stats.incompleteLimit++;
      return { status: "dropped", reason: "incomplete-limit" };
    }
    if (!this.#makeRoom()) {
      this.stats.tableFull++;
      return { status: "dropped", reason: "table-full" };
    }
    const fresh: Entry<A, P> = {
      ip,
      state: "INCOMPLETE",
      router: false,
      deadline: now + this.opts.retransMs,
      probes: 1,
      queue: [],
      usedAt: now,
    };
    this.#entries.set(k, fresh);
    this.#incomplete++;
    this.#enqueue(fresh, packet);
    this.stats.requests++;
    this.hooks.sendRequest(ip);
    return { status: "queued" };
  }

  /**
   * Take in link-layer information about `ip` from a received packet (ARP request/reply, NS,
   * NA, RA, redirect), following RFC 4861 §7.2.5 and the RFC 826 merge rule (a missing entry
   * is only created with `create`). Resolving an INCOMPLETE entry flushes its queue through
   * `onResolved`. PERMANENT entries are never changed.
   */
  update(ip: A, mac: Uint8Array, now: number, flags: UpdateFlags = {}): UpdateOutcome {
    const solicited = flags.solicited ?? false;
    const override = flags.override ?? true;
    const k = this.key(ip);
    const e = this.#entries.get(k);
    const reachableUntil = (): number => this.#reachableUntil(now);
    if (!e) {
      if (!flags.create) {
        this.stats.ignored++;
        return "no-entry";
      }
      if (!this.#makeRoom()) {
        this.stats.tableFull++;
        return "table-full";
      }
      this.#entries.set(k, {
        ip,
        mac: mac.slice(),
        state: solicited ? "REACHABLE" : "STALE",
        router: flags.router ?? false,
        deadline: solicited ? reachableUntil() : now + this.opts.gcStaleMs,
        probes: 0,
        queue: [],
        usedAt: now,
      });
      return "created";
    }
    if (e.state === "PERMANENT") {
      this.stats.ignored++;
      return "ignored";
    }
    if (e.state === "INCOMPLETE") {
      e.mac = mac.slice();
      e.router = flags.router ?? e.router;
      this.#incomplete--;
      if (solicited) this.#enter(e, "REACHABLE", reachableUntil());
      else this.#enter(e, "STALE", now + this.opts.gcStaleMs);
      this.stats.resolved++;
      const packets = e.queue;
      e.queue = [];
      if (packets.length > 0) {
        // RFC 4861 §7.2.5: sending queued packets from STALE would start DELAY.
        if (!solicited && this.opts.delayProbe) {
          this.#enter(e, "DELAY", now + this.opts.delayMs);
        }
        this.hooks.onResolved(ip, e.mac, packets);
      }
      return "resolved";
    }
    const same = sameBytes(e.mac as Uint8Array, mac);
    if (!same && !override) {
      // A different address without override only casts doubt on a REACHABLE entry.
      if (e.state === "REACHABLE") {
        this.#enter(e, "STALE", now + this.opts.gcStaleMs);
        return "changed";
      }
      this.stats.ignored++;
      return "ignored";
    }
    e.router = flags.router ?? e.router;
    if (!same) {
      e.mac = mac.slice();
      this.stats.macChanged++;
      if (solicited) this.#enter(e, "REACHABLE", reachableUntil());
      else this.#enter(e, "STALE", now + this.opts.gcStaleMs);
      return "changed";
    }
    if (solicited) {
      this.#enter(e, "REACHABLE", reachableUntil());
      return "confirmed";
    }
    return "unchanged";
  }

  /**
   * Reachability confirmed by an upper layer (e.g. TCP saw new data acknowledged, RFC 4861
   * §7.3.1): a cached entry becomes REACHABLE. Returns false when there is nothing to confirm.
   */
  confirm(ip: A, now: number): boolean {
    const e = this.#entries.get(this.key(ip));
    if (!e || e.mac === undefined || e.state === "PERMANENT") return false;
    this.#enter(e, "REACHABLE", this.#reachableUntil(now));
    return true;
  }

  /**
   * Add or replace a PERMANENT entry (always accepted, even past `maxEntries`); an INCOMPLETE
   * entry it replaces sends its queue through `onResolved`.
   */
  addStatic(ip: A, mac: Uint8Array): void {
    const k = this.key(ip);
    const e = this.#entries.get(k);
    const packets = e?.queue ?? [];
    if (e?.state === "INCOMPLETE") this.#incomplete--;
    this.#entries.set(k, {
      ip,
      mac: mac.slice(),
      state: "PERMANENT",
      router: e?.router ?? false,
      deadline: Infinity,
      probes: 0,
      queue: [],
      usedAt: 0,
    });
    if (packets.length > 0) this.hooks.onResolved(ip, mac.slice(), packets);
  }

  /** Delete `ip`'s entry (any state); queued packets go to `onUnreachable`. False if absent. */
  remove(ip: A): boolean {
    const k = this.key(ip);
    const e = this.#entries.get(k);
    if (!e) return false;
    this.#delete(k, e);
    if (e.queue.length > 0) {
      this.stats.unreachablePackets += e.queue.length;
      this.hooks.onUnreachable(ip, e.queue);
    }
    return true;
  }

  /** Run every timer due at `now`: retries, failures, aging, probes and garbage collection. */
  poll(now: number): void {
    for (const [k, e] of [...this.#entries]) {
      if (now < e.deadline) continue;
      switch (e.state) {
        case "INCOMPLETE":
          if (e.probes < this.opts.maxMulticastProbes) {
            e.probes++;
            e.deadline = now + this.opts.retransMs;
            this.stats.requests++;
            this.hooks.sendRequest(e.ip);
          } else {
            this.#fail(k, e);
          }
          break;
        case "REACHABLE":
          this.#enter(e, "STALE", Math.max(now, e.usedAt) + this.opts.gcStaleMs);
          break;
        case "STALE":
          this.#collect(k, e);
          break;
        case "DELAY":
          this.#enter(e, "PROBE", now + this.opts.retransMs);
          e.probes = 1;
          this.stats.probes++;
          this.hooks.sendRequest(e.ip, e.mac);
          break;
        case "PROBE":
          if (e.probes < this.opts.maxUnicastProbes) {
            e.probes++;
            e.deadline = now + this.opts.retransMs;
            this.stats.probes++;
            this.hooks.sendRequest(e.ip, e.mac);
          } else {
            this.#fail(k, e);
          }
          break;
        case "PERMANENT":
          break;
        default: {
          // Unreachable: a state added to NeighbourState without a case is a type error here.
          const unknown: never = e.state;
          void unknown;
          this.#delete(k, e);
        }
      }
    }
  }

  /** When {@link poll} next has work, or undefined when no timer is running. */
  nextDeadline(): number | undefined {
    let next = Infinity;
    for (const e of this.#entries.values()) if (e.deadline < next) next = e.deadline;
    return next === Infinity ? undefined : next;
  }

  /** Every entry (for the `arp`/`ndp` tools), in insertion order. */
  list(): NeighbourInfo<A>[] {
    return [...this.#entries.values()].map(info);
  }

  #reachableUntil(now: number): number {
    const j = Math.min(1, Math.max(0, this.opts.reachableJitter));
    if (j === 0) return now + this.opts.reachableMs;
    return now + this.opts.reachableMs * (1 - j + 2 * j * this.opts.random());
  }

  #enter(e: Entry<A, P>, state: NeighbourState, deadline: number): void {
    e.state = state;
    e.deadline = deadline;
    if (state !== "PROBE" && state !== "INCOMPLETE") e.probes = 0;
  }

  #enqueue(e: Entry<A, P>, packet: P): void {
    e.queue.push(packet);
    this.stats.queued++;
    while (e.queue.length > this.opts.queueLen) {
      e.queue.shift();
      this.stats.queueDrops++;
    }
  }

  #fail(k: string | number, e: Entry<A, P>): void {
    this.#delete(k, e);
    this.stats.failed++;
    this.stats.unreachablePackets += e.queue.length;
    this.hooks.onUnreachable(e.ip, e.queue);
  }

  #collect(k: string | number, e: Entry<A, P>): void {
    this.#delete(k, e);
    this.stats.gcRemoved++;
  }

  #delete(k: string | number, e: Entry<A, P>): void {
    this.#entries.delete(k);
    if (e.state === "INCOMPLETE") this.#incomplete--;
  }

  /** Make room for one more entry by evicting the least recently used STALE one. */
  #makeRoom(): boolean {
    if (this.#entries.size < this.opts.maxEntries) return true;
    let victim: [string | number, Entry<A, P>] | undefined;
    for (const pair of this.#entries) {
      if (pair[1].state !== "STALE") continue;
      if (!victim || pair[1].usedAt < victim[1].usedAt) victim = pair;
    }
    if (!victim) return false;
    this.#delete(victim[0], victim[1]);
    this.stats.evicted++;
    return true;
  }
}

function info<A, P>(e: Entry<A, P>): NeighbourInfo<A> {
  return {
    ip: e.ip,
    mac: e.mac?.slice(),
    state: e.state,
    router: e.router,
    queued: e.queue.length,
    probes: e.probes,
    deadline: e.deadline === Infinity ? undefined : e.deadline,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
