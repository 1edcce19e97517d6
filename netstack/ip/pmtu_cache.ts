/**
 * The path MTU cache of one host, for IPv4 (RFC 1191) and IPv6 (RFC 8201) alike: per
 * destination, the MTU a router reported in "fragmentation needed" or Packet Too Big, kept for
 * 10 minutes (Linux's `ip_rt_mtu_expires`, RFC 8201 §4 asks for at least 5) against the clock the
 * caller passes in — no hidden timers.
 *
 * Linux is the oracle (`__ip_rt_update_pmtu()` in net/ipv4/route.c, `__ip6_rt_update_pmtu()` in
 * net/ipv6/route.c; tests/interop/pmtu_test.ts compares with Linux 6.18):
 * - A report larger than the MTU in use now is ignored: a path only shrinks until its entry
 *   expires ("if (old_mtu < mtu) return").
 * - Below the floor, IPv4 clamps the report to 552 (`ip_rt_min_pmtu`) and *locks* the entry:
 *   Linux stops setting DF towards that destination (`ip_dont_fragment()`) and ignores further
 *   reports for it until the entry expires, so a forged "fragmentation needed, MTU 68" (or 0)
 *   cannot shrink segments to nothing, nor black-hole the flow when the path really is that
 *   narrow. IPv6 ignores a report below 1280 altogether, as Linux 6.18 does: the path keeps
 *   the MTU it had, never under 1280 (RFC 8200 §5), and no atomic fragment header is added
 *   (RFC 8021).
 * - The same MTU reported again refreshes the expiry only once half of it has run.
 * - The cache is bounded ({@link PMTU_MAX_ENTRIES}); when full, the oldest entry goes first, so
 *   a flood of forged reports for many destinations costs bounded memory (Linux bounds its
 *   exceptions per route, `FNHE_RECLAIM_DEPTH`, the same way).
 *
 * @example
 * const pmtu = new PmtuCache<number>(PMTU_IPV4, (a) => a);
 * pmtu.report(dst, 1400, 1500, clock.now()); // { mtu: 1400, locked: false, changed: true }
 * pmtu.get(dst, clock.now())?.mtu; // 1400 for the next 10 minutes
 */

/** How one address family clamps reports. */
export interface PmtuPolicy {
  /** The smallest path MTU believed. */
  floor: number;
  /**
   * What a report below the floor does: "lock" clamps it to the floor and locks the entry (send
   * without DF, ignore further reports), as IPv4 does; "ignore" drops it, as IPv6 does.
   */
  belowFloor: "lock" | "ignore";
  /** How long an entry lasts, ms. */
  expiresMs: number;
}

/** How long a learned path MTU applies, ms (Linux `ip_rt_mtu_expires`: 10 minutes). */
export const PMTU_EXPIRES_MS = 600_000;

/** Most destinations held at once. */
export const PMTU_MAX_ENTRIES = 4096;

/** IPv4: floor 552 with a lock, as Linux's `ip_rt_min_pmtu` (512 + 20 + 20). */
export const PMTU_IPV4: PmtuPolicy = {
  floor: 552,
  belowFloor: "lock",
  expiresMs: PMTU_EXPIRES_MS,
};

/** IPv6: floor 1280, the minimum link MTU (RFC 8200 §5); reports below it are ignored. */
export const PMTU_IPV6: PmtuPolicy = {
  floor: 1280,
  belowFloor: "ignore",
  expiresMs: PMTU_EXPIRES_MS,
};

/** One learned path MTU. */
export interface PmtuEntry {
  mtu: number;
  /** Reported below the floor: send without DF (IPv4), ignore further reports until expiry. */
  locked: boolean;
  /** When the entry stops applying (clock ms). */
  expires: number;
}

/** What a report did. */
export interface PmtuUpdate {
  /** The path MTU in force after the report. */
  mtu: number;
  /** Whether the path is locked (IPv4 below 552). */
  locked: boolean;
  /** Whether the report lowered the path MTU (or locked it). */
  changed: boolean;
}

/** Path MTUs by destination, with expiry driven by the `now` each call passes in. */
export class PmtuCache<A> {
  #entries = new Map<string | number, PmtuEntry>();

  /** `key` turns a destination address into a map key; at most `maxEntries` are held. */
  constructor(
    readonly policy: PmtuPolicy,
    readonly key: (addr: A) => string | number,
    readonly maxEntries = PMTU_MAX_ENTRIES,
  ) {}

  /** The live entry towards `dst`, if any (an expired one is forgotten). */
  get(dst: A, now: number): PmtuEntry | undefined {
    const k = this.key(dst);
    const e = this.#entries.get(k);
    if (!e) return undefined;
    if (now < e.expires) return e;
    this.#entries.delete(k);
    return undefined;
  }

  /**
   * A router reported `reported` as the next-hop MTU towards `dst` while datagrams went out at
   * `current` (the interface MTU when nothing is cached yet). Returns the MTU now in force.
   */
  report(dst: A, reported: number, current: number, now: number): PmtuUpdate {
    const k = this.key(dst);
    const old = this.get(dst, now);
    const inUse = Math.min(current, old?.mtu ?? Infinity);
    if (old?.locked) return { mtu: old.mtu, locked: true, changed: false };
    if (reported > inUse) return { mtu: inUse, locked: false, changed: false };
    let mtu = reported;
    let locked = false;
    if (mtu < this.policy.floor) {
      if (this.policy.belowFloor === "ignore") return { mtu: inUse, locked: false, changed: false };
      mtu = Math.min(inUse, this.policy.floor);
      locked = true;
    }
    const expires = now + this.policy.expiresMs;
    if (old && old.mtu === mtu && !locked) {
      // Linux refreshes an unchanged entry only past half its life.
      if (now >= old.expires - this.policy.expiresMs / 2) old.expires = expires;
      return { mtu, locked: false, changed: false };
    }
    this.#entries.delete(k); // re-inserted last: the map's order is the entries' age
    if (this.#entries.size >= this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.set(k, { mtu, locked, expires });
    return { mtu, locked, changed: mtu < inUse || locked };
  }

  /** Forget every entry that expired by `now`. */
  poll(now: number): void {
    for (const [k, e] of this.#entries) if (e.expires <= now) this.#entries.delete(k);
  }

  /** The earliest expiry, if any entry is held. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const e of this.#entries.values()) {
      if (best === undefined || e.expires < best) best = e.expires;
    }
    return best;
  }

  /** How many destinations have an entry (expired ones included until the next poll). */
  get size(): number {
    return this.#entries.size;
  }
}
