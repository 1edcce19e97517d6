/**
 * The IPv6 neighbour cache (RFC 4861 §7.3): INCOMPLETE → REACHABLE → STALE → DELAY → PROBE,
 * driven by `now` (ms). Packets waiting on resolution are queued (a few per entry, bounded in
 * total); the cache itself is bounded, and a flood of unresolved or unsolicited entries cannot
 * push out entries that are known to be reachable.
 */
import type { NetInterface } from "../link/interface.ts";
import type { SendOwner6 } from "./stack6.ts";
import { key6 } from "./addr6.ts";

/** Neighbour states (RFC 4861 §7.3.2) plus a static entry. */
export type Neigh6State = "incomplete" | "reachable" | "stale" | "delay" | "probe" | "permanent";

/** Timing constants (RFC 4861 §10), in ms. */
export const NDP_RETRANS_TIMER = 1000;
/** How long a confirmation keeps an entry REACHABLE. */
export const NDP_REACHABLE_TIME = 30_000;
/** DELAY_FIRST_PROBE_TIME. */
export const NDP_DELAY_FIRST_PROBE = 5000;
/** MAX_MULTICAST_SOLICIT / MAX_UNICAST_SOLICIT. */
export const NDP_MAX_SOLICIT = 3;
/** Packets queued per unresolved neighbour. */
export const NDP_QUEUE_PER_ENTRY = 3;
/** Most entries in the cache. */
export const NDP_MAX_ENTRIES = 512;
/** Most INCOMPLETE entries at once. */
export const NDP_MAX_INCOMPLETE = 64;
/** Stale entries older than this are garbage collected (ms). */
export const NDP_GC_STALE = 600_000;

interface Queued {
  packet: Uint8Array;
  owner?: SendOwner6;
}

/** One neighbour cache entry. */
export interface Neigh6Entry {
  iface: NetInterface;
  addr: Uint8Array;
  mac?: Uint8Array;
  state: Neigh6State;
  isRouter: boolean;
  /** Next timer event for this entry. */
  at: number;
  probes: number;
  /** Last time the entry was used or updated. */
  used: number;
  queue: Queued[];
}

/** What the cache asks its owner to do. */
export interface Neighbours6Hooks {
  /** Send a Neighbor Solicitation for `target` (multicast when `mac` is undefined). */
  solicit(iface: NetInterface, target: Uint8Array, mac?: Uint8Array): void;
  /** Put an IPv6 packet on the link to `mac`. */
  transmit(iface: NetInterface, mac: Uint8Array, packet: Uint8Array): void;
  /** Resolution failed: these packets could not be sent. */
  unreachable(iface: NetInterface, addr: Uint8Array, packets: Queued[]): void;
  /** Count an event. */
  count(key: string): void;
}

/** The neighbour cache of one host (all interfaces). */
export class Neighbours6 {
  #entries = new Map<string, Neigh6Entry>();

  constructor(readonly hooks: Neighbours6Hooks) {}

  #key(iface: NetInterface, addr: Uint8Array): string {
    return `${iface.index}%${key6(addr)}`;
  }

  /** The entry for `addr` on `iface`, if any. */
  get(iface: NetInterface, addr: Uint8Array): Neigh6Entry | undefined {
    return this.#entries.get(this.#key(iface, addr));
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }

  /** Every entry (for `netctl neigh`). */
  list(): Neigh6Entry[] {
    return [...this.#entries.values()];
  }

  /** Make room for one more entry; false when only valuable entries remain. */
  #makeRoom(incomplete: boolean): boolean {
    if (incomplete) {
      let n = 0;
      for (const e of this.#entries.values()) if (e.state === "incomplete") n++;
      if (n >= NDP_MAX_INCOMPLETE) return false;
    }
    if (this.#entries.size < NDP_MAX_ENTRIES) return true;
    // Evict the least recently used STALE entry; never a REACHABLE, probing or static one.
    let victim: Neigh6Entry | undefined;
    for (const e of this.#entries.values()) {
      if (e.state !== "stale") continue;
      if (!victim || e.used < victim.used) victim = e;
    }
    if (!victim) return false;
    this.#entries.delete(this.#key(victim.iface, victim.addr));
    this.hooks.count("ndp: evicted");
    return true;
  }

  /** Send `packet` to the neighbour `addr`, resolving it first if needed. */
  send(
    iface: NetInterface,
    addr: Uint8Array,
    packet: Uint8Array,
    now: number,
    owner?: SendOwner6,
  ): void {
    let e = this.get(iface, addr);
    if (!e) {
      if (!this.#makeRoom(true)) {
        this.hooks.count("ndp: cache-full");
        owner?.onSendError6("EHOSTUNREACH", addr);
        return;
      }
      e = {
        iface,
        addr: addr.slice(),
        state: "incomplete",
        isRouter: false,
        at: now + NDP_RETRANS_TIMER,
        probes: 1,
        used: now,
        queue: [],
      };
      this.#entries.set(this.#key(iface, addr), e);
      this.hooks.solicit(iface, addr);
    }
    e.used = now;
    if (e.state === "incomplete" || !e.mac) {
      if (e.queue.length >= NDP_QUEUE_PER_ENTRY) {
        e.queue.shift();
        this.hooks.count("ndp: queue-overflow");
      }
      e.queue.push({ packet, owner });
      return;
    }
    if (e.state === "stale") {
      e.state = "delay";
      e.at = now + NDP_DELAY_FIRST_PROBE;
    }
    this.hooks.transmit(iface, e.mac, packet);
  }

  /**
   * Learn a link-layer address outside of an advertisement (NS source, RS, RA, redirect):
   * RFC 4861 §7.2.3 — create STALE, or go STALE when the address changed.
   */
  learn(iface: NetInterface, addr: Uint8Array, mac: Uint8Array, now: number, router?: boolean) {
    let e = this.get(iface, addr);
    if (!e) {
      if (!this.#makeRoom(false)) return this.hooks.count("ndp: cache-full");
      e = {
        iface,
        addr: addr.slice(),
        mac: mac.slice(),
        state: "stale",
        isRouter: router ?? false,
        at: now + NDP_GC_STALE,
        probes: 0,
        used: now,
        queue: [],
      };
      this.#entries.set(this.#key(iface, addr), e);
      return;
    }
    if (router !== undefined) e.isRouter = router;
    if (e.state === "permanent") return;
    if (!e.mac || !sameMac(e.mac, mac)) {
      e.mac = mac.slice();
      e.state = "stale";
      e.at = now + NDP_GC_STALE;
      e.used = now;
      this.#flush(e);
    }
  }

  /** A Neighbor Advertisement for `addr` arrived (RFC 4861 §7.2.5). */
  advert(
    iface: NetInterface,
    addr: Uint8Array,
    mac: Uint8Array | undefined,
    flags: { solicited: boolean; override: boolean; router: boolean },
    now: number,
  ): void {
    const e = this.get(iface, addr);
    if (!e) return this.hooks.count("ndp: unsolicited-na-ignored");
    if (e.state === "permanent") return;
    if (e.state === "incomplete") {
      if (!mac) return;
      e.mac = mac.slice();
      e.isRouter = flags.router;
      e.state = flags.solicited ? "reachable" : "stale";
      e.at = now + (flags.solicited ? NDP_REACHABLE_TIME : NDP_GC_STALE);
      e.probes = 0;
      this.#flush(e);
      return;
    }
    const different = mac !== undefined && e.mac !== undefined && !sameMac(mac, e.mac);
    if (!flags.override && different) {
      if (e.state === "reachable") {
        e.state = "stale";
        e.at = now + NDP_GC_STALE;
      }
      return;
    }
    if (mac) e.mac = mac.slice();
    e.isRouter = flags.router;
    if (flags.solicited) {
      e.state = "reachable";
      e.at = now + NDP_REACHABLE_TIME;
      e.probes = 0;
    } else if (different) {
      e.state = "stale";
      e.at = now + NDP_GC_STALE;
    }
  }

  /** Add a permanent entry. */
  addStatic(iface: NetInterface, addr: Uint8Array, mac: Uint8Array): void {
    const e: Neigh6Entry = {
      iface,
      addr: addr.slice(),
      mac: mac.slice(),
      state: "permanent",
      isRouter: false,
      at: Infinity,
      probes: 0,
      used: 0,
      queue: [],
    };
    const old = this.get(iface, addr);
    this.#entries.set(this.#key(iface, addr), e);
    if (old) {
      e.queue = old.queue;
      this.#flush(e);
    }
  }

  /** Remove every entry for `addr`; true if one existed. */
  remove(addr: Uint8Array): boolean {
    const k = key6(addr);
    let found = false;
    for (const [key, e] of this.#entries) {
      if (key6(e.addr) === k) {
        this.#entries.delete(key);
        found = true;
      }
    }
    return found;
  }

  #flush(e: Neigh6Entry) {
    if (!e.mac) return;
    const q = e.queue;
    e.queue = [];
    for (const p of q) this.hooks.transmit(e.iface, e.mac, p.packet);
  }

  /** Run due timers. */
  poll(now: number): void {
    for (const [key, e] of this.#entries) {
      if (e.at > now) continue;
      switch (e.state) {
        case "incomplete":
          if (e.probes >= NDP_MAX_SOLICIT) {
            this.#entries.delete(key);
            this.hooks.count("ndp: resolution-failed");
            this.hooks.unreachable(e.iface, e.addr, e.queue);
            break;
          }
          e.probes++;
          e.at = now + NDP_RETRANS_TIMER;
          this.hooks.solicit(e.iface, e.addr);
          break;
        case "reachable":
          e.state = "stale";
          e.at = now + NDP_GC_STALE;
          break;
        case "stale":
          this.#entries.delete(key);
          break;
        case "delay":
          e.state = "probe";
          e.probes = 1;
          e.at = now + NDP_RETRANS_TIMER;
          this.hooks.solicit(e.iface, e.addr, e.mac);
          break;
        case "probe":
          if (e.probes >= NDP_MAX_SOLICIT) {
            this.#entries.delete(key);
            this.hooks.count("ndp: probe-failed");
            break;
          }
          e.probes++;
          e.at = now + NDP_RETRANS_TIMER;
          this.hooks.solicit(e.iface, e.addr, e.mac);
          break;
        case "permanent":
          break;
        default: {
          const never: never = e.state;
          throw new Error(`bad state ${never}`);
        }
      }
    }
  }

  /** Earliest timer event. */
  nextDeadline(): number | undefined {
    let best = Infinity;
    for (const e of this.#entries.values()) if (e.at < best) best = e.at;
    return best === Infinity ? undefined : best;
  }
}

function sameMac(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
