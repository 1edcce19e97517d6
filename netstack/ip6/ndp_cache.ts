/**
 * The IPv6 neighbour cache (RFC 4861 §7.3) as a configuration of the shared
 * {@link NeighbourCache}: INCOMPLETE, REACHABLE, STALE, DELAY and PROBE with the RFC's
 * constants (MAX_MULTICAST_SOLICIT 3, MAX_UNICAST_SOLICIT 3, RetransTimer 1 s, ReachableTime
 * 30 s randomised by ±50% as §6.3.2 asks, DELAY_FIRST_PROBE_TIME 5 s). Addresses are
 * 16-byte arrays.
 *
 * How received NDP messages map to {@link NdpCache.update} flags (RFC 4861 §7.2.3–7.2.5):
 * - NS with a source link-layer option: `{ create: true }` (override, unsolicited → STALE
 *   when the address changed).
 * - NA with a target link-layer option: `{ solicited: S, override: O }` (no entry is created).
 * - RA or redirect with a link-layer option: `{ create: true }`.
 */
import {
  NeighbourCache,
  type NeighbourHooks,
  type NeighbourInfo,
  type NeighbourOptions,
} from "../ip/neighbour_cache.ts";

export type {
  NeighbourState,
  NeighbourStats,
  ResolveResult,
  UpdateFlags,
  UpdateOutcome,
} from "../ip/neighbour_cache.ts";

/** Callbacks the NDP cache makes (`unicastTo` set for a PROBE's unicast solicitation). */
export type NdpHooks<P = Uint8Array> = NeighbourHooks<Uint8Array, P>;
/** One NDP entry as the `ndp` tool shows it. */
export type NdpEntryInfo = NeighbourInfo<Uint8Array>;

function hexKey(ip: Uint8Array): string {
  let s = "";
  for (const b of ip) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The IPv6 neighbour cache of one adapter. */
export class NdpCache<P = Uint8Array> extends NeighbourCache<Uint8Array, P> {
  constructor(hooks: NdpHooks<P>, opts: Partial<NeighbourOptions> = {}) {
    super(hexKey, hooks, { reachableJitter: 0.5, ...opts });
  }
}
