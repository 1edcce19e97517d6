/**
 * The ARP neighbour table (RFC 826, with Linux-like states): INCOMPLETE entries queue up to
 * 208 KiB of datagrams and retry the request every second, three times, then fail them (EHOSTUNREACH to the
 * senders); REACHABLE entries go STALE after 30 s and are collected after 60 s unused; static
 * entries are PERMANENT. The table is bounded, and a flood of unresolvable addresses can only
 * fill the INCOMPLETE quota, never evict resolved neighbours.
 */
import type { NetInterface } from "../link/interface.ts";
import type { SendOwner } from "../stack.ts";

/** Tunables, with Linux-like defaults. */
export interface NeighbourOptions {
  /** Time between requests for an unresolved address. Default 1000 ms. */
  retransMs: number;
  /** Requests before giving up. Default 3. */
  maxProbes: number;
  /** REACHABLE lifetime before STALE. Default 30000 ms. */
  reachableMs: number;
  /** STALE entries unused this long are removed. Default 60000 ms. */
  gcStaleMs: number;
  /** Bytes queued per unresolved address (Linux unres_qlen_bytes); oldest dropped first. */
  queueBytes: number;
  /** Most entries in all. Default 1024. */
  maxEntries: number;
  /** Most INCOMPLETE entries at once. Default 256. */
  maxIncomplete: number;
}

/** The default {@link NeighbourOptions}. */
export const DEFAULT_NEIGHBOUR_OPTIONS: NeighbourOptions = {
  retransMs: 1000,
  maxProbes: 3,
  reachableMs: 30_000,
  gcStaleMs: 60_000,
  queueBytes: 212992,
  maxEntries: 1024,
  maxIncomplete: 256,
};

/** What the table asks of the IPv4 layer. */
export interface NeighbourHooks {
  sendRequest(iface: NetInterface, ip: number): void;
  transmit(iface: NetInterface, mac: Uint8Array, datagram: Uint8Array): void;
  unreachable(iface: NetInterface, ip: number, datagrams: Uint8Array[]): void;
}

type State = "incomplete" | "reachable" | "stale" | "permanent";

interface Entry {
  iface: NetInterface;
  ip: number;
  mac?: Uint8Array;
  state: State;
  /** Next event: retry (incomplete), go stale (reachable), collect (stale). */
  deadline: number;
  probes: number;
  queue: Uint8Array[];
  queued: number;
  usedAt: number;
}

/** The ARP cache of one host. */
export class Neighbours {
  readonly opts: NeighbourOptions;
  #entries = new Map<string, Entry>();
  #incomplete = 0;
  #owners = new WeakMap<Uint8Array, SendOwner>();
  /** Events by name, for counters and tests. */
  readonly stats = { queued: 0, queueDrops: 0, failed: 0, evicted: 0, refused: 0 };

  constructor(readonly hooks: NeighbourHooks, opts: Partial<NeighbourOptions> = {}) {
    this.opts = { ...DEFAULT_NEIGHBOUR_OPTIONS, ...opts };
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Send `datagram` to `ip` on `iface`, resolving first when needed. */
  send(
    iface: NetInterface,
    ip: number,
    datagram: Uint8Array,
    now: number,
    owner?: SendOwner,
  ): void {
    const key = keyOf(iface, ip);
    let e = this.#entries.get(key);
    if (e && e.mac && e.state !== "incomplete") {
      e.usedAt = now;
      this.hooks.transmit(iface, e.mac, datagram);
      return;
    }
    if (owner) this.#owners.set(datagram, owner);
    if (!e) {
      if (this.#incomplete >= this.opts.maxIncomplete || !this.#makeRoom()) {
        this.stats.refused++;
        this.hooks.unreachable(iface, ip, [datagram]);
        return;
      }
      e = {
        iface,
        ip,
        state: "incomplete",
        deadline: now + this.opts.retransMs,
        probes: 1,
        queue: [],
        queued: 0,
        usedAt: now,
      };
      this.#entries.set(key, e);
      this.#incomplete++;
      this.hooks.sendRequest(iface, ip);
    }
    e.queue.push(datagram);
    e.queued += datagram.length;
    this.stats.queued++;
    while (e.queued > this.opts.queueBytes && e.queue.length > 1) {
      const dropped = e.queue.shift()!;
      e.queued -= dropped.length;
      this.stats.queueDrops++;
      this.hooks.unreachable(iface, ip, [dropped]);
    }
  }

  /** Who sent a queued datagram (so a failure reaches the right socket). */
  ownerOf(datagram: Uint8Array): SendOwner | undefined {
    return this.#owners.get(datagram);
  }

  /**
   * Learn `ip` is at `mac` from a received ARP packet (RFC 826 merge: update an existing entry;
   * create one only when the packet was addressed to us).
   */
  update(iface: NetInterface, ip: number, mac: Uint8Array, now: number, forUs: boolean): void {
    const key = keyOf(iface, ip);
    let e = this.#entries.get(key);
    if (!e) {
      if (!forUs || !this.#makeRoom()) return;
      e = {
        iface,
        ip,
        state: "reachable",
        deadline: 0,
        probes: 0,
        queue: [],
        queued: 0,
        usedAt: now,
      };
      this.#entries.set(key, e);
    }
    if (e.state === "permanent") return;
    if (e.state === "incomplete") this.#incomplete--;
    e.mac = mac.slice();
    e.state = "reachable";
    e.deadline = now + this.opts.reachableMs;
    e.probes = 0;
    const queued = e.queue;
    e.queue = [];
    e.queued = 0;
    for (const d of queued) this.hooks.transmit(iface, e.mac, d);
  }

  /** A permanent entry. */
  addStatic(iface: NetInterface, ip: number, mac: Uint8Array): void {
    const key = keyOf(iface, ip);
    const old = this.#entries.get(key);
    if (old?.state === "incomplete") this.#incomplete--;
    this.#entries.set(key, {
      iface,
      ip,
      mac: mac.slice(),
      state: "permanent",
      deadline: Infinity,
      probes: 0,
      queue: [],
      queued: 0,
      usedAt: 0,
    });
    if (old?.queue.length) { for (const d of old.queue) this.hooks.transmit(iface, mac, d); }
  }

  /** Remove every entry for `ip`; returns whether there was one. */
  remove(ip: number): boolean {
    let found = false;
    for (const [k, e] of this.#entries) {
      if (e.ip !== ip) continue;
      found = true;
      this.#delete(k, e);
    }
    return found;
  }

  #delete(key: string, e: Entry) {
    if (e.state === "incomplete") this.#incomplete--;
    this.#entries.delete(key);
  }

  /** Make room for one entry: evict the least recently used STALE one if full. */
  #makeRoom(): boolean {
    if (this.#entries.size < this.opts.maxEntries) return true;
    let victim: [string, Entry] | undefined;
    for (const kv of this.#entries) {
      if (kv[1].state !== "stale") continue;
      if (!victim || kv[1].usedAt < victim[1].usedAt) victim = kv;
    }
    if (!victim) return false;
    this.#delete(victim[0], victim[1]);
    this.stats.evicted++;
    return true;
  }

  /** Run due timers: retries, failures, aging, collection. */
  poll(now: number): void {
    for (const [k, e] of this.#entries) {
      if (now < e.deadline) continue;
      switch (e.state) {
        case "incomplete":
          if (e.probes >= this.opts.maxProbes) {
            this.#delete(k, e);
            this.stats.failed++;
            this.hooks.unreachable(e.iface, e.ip, e.queue);
          } else {
            e.probes++;
            e.deadline = now + this.opts.retransMs;
            this.hooks.sendRequest(e.iface, e.ip);
          }
          break;
        case "reachable":
          e.state = "stale";
          e.deadline = Math.max(now, e.usedAt) + this.opts.gcStaleMs;
          break;
        case "stale":
          if (now - e.usedAt >= this.opts.gcStaleMs) this.#delete(k, e);
          else e.deadline = e.usedAt + this.opts.gcStaleMs;
          break;
        case "permanent":
          break;
      }
    }
  }

  /** When {@link poll} next has work. */
  nextDeadline(): number | undefined {
    let d = Infinity;
    for (const e of this.#entries.values()) if (e.deadline < d) d = e.deadline;
    return d === Infinity ? undefined : d;
  }

  /** Entries for `arp -n`. */
  list(): Array<{ iface: NetInterface; ip: number; mac?: Uint8Array; state: State }> {
    return [...this.#entries.values()].map((e) => ({
      iface: e.iface,
      ip: e.ip,
      mac: e.mac,
      state: e.state,
    }));
  }
}

function keyOf(iface: NetInterface, ip: number): string {
  return `${iface.index}/${ip}`;
}
