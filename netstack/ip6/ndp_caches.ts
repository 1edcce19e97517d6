/**
 * The IPv6 neighbour caches of one host: one shared {@link NdpCache} per interface (as IPv4
 * keeps one ArpCache per interface), created on first use, with this stack's bounds. The
 * state machine itself (RFC 4861 §7.3) lives in `ip/neighbour_cache.ts`.
 */
import type { NetInterface } from "../link/interface.ts";
import { NdpCache, type NdpEntryInfo, type NdpHooks } from "./ndp_cache.ts";
import type { NeighbourOptions } from "../ip/neighbour_cache.ts";
import type { SendOwner6 } from "./route6.ts";

/** A packet waiting for its next hop to resolve, and who to tell if it cannot. */
export interface Waiting6 {
  /** The whole IPv6 packet. */
  packet: Uint8Array;
  /** The socket that sent it, told EHOSTUNREACH when resolution fails. */
  owner?: SendOwner6;
}

/** Bounds and timers of each interface's cache (RFC 4861 §10 constants are the defaults). */
export const NDP6_OPTIONS: Partial<NeighbourOptions> = {
  queueLen: 3,
  maxEntries: 512,
  maxIncomplete: 64,
  gcStaleMs: 600_000,
};

/** The per-interface NDP caches of one host. */
export class NdpCaches {
  #caches = new Map<NetInterface, NdpCache<Waiting6>>();
  #random: () => number;

  /**
   * `hooks(iface)` gives the callbacks of `iface`'s cache; `seed` makes the ReachableTime
   * jitter (RFC 4861 §6.3.2) reproducible.
   */
  constructor(readonly hooks: (iface: NetInterface) => NdpHooks<Waiting6>, seed: number) {
    this.#random = seededRandom(seed);
  }

  /** The cache of `iface`, created on first use. */
  of(iface: NetInterface): NdpCache<Waiting6> {
    let c = this.#caches.get(iface);
    if (!c) {
      c = new NdpCache<Waiting6>(this.hooks(iface), { ...NDP6_OPTIONS, random: this.#random });
      this.#caches.set(iface, c);
    }
    return c;
  }

  /** The entry for `addr` on `iface`, if any. */
  get(iface: NetInterface, addr: Uint8Array): NdpEntryInfo | undefined {
    return this.#caches.get(iface)?.get(addr);
  }

  /** Add a PERMANENT entry on `iface` (waiting packets go out to `mac`). */
  addStatic(iface: NetInterface, addr: Uint8Array, mac: Uint8Array): void {
    this.of(iface).addStatic(addr, mac);
  }

  /** Remove `addr` on every interface; true if an entry existed. */
  remove(addr: Uint8Array): boolean {
    let found = false;
    for (const c of this.#caches.values()) found = c.remove(addr) || found;
    return found;
  }

  /** Every entry with its interface (for `ip -6 neigh`). */
  list(): Array<{ iface: NetInterface; entry: NdpEntryInfo }> {
    return [...this.#caches].flatMap(([iface, c]) => c.list().map((entry) => ({ iface, entry })));
  }

  /** Run every cache's due timers. */
  poll(now: number): void {
    for (const c of this.#caches.values()) c.poll(now);
  }

  /** The earliest timer of any cache. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const c of this.#caches.values()) {
      const d = c.nextDeadline();
      if (d !== undefined && (next === undefined || d < next)) next = d;
    }
    return next;
  }
}

/** A small deterministic generator of numbers in [0, 1) (mulberry32). */
function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
