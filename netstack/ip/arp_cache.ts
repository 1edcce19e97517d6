/**
 * The ARP cache (RFC 826) as a configuration of the shared {@link NeighbourCache}: IPv4
 * addresses are unsigned 32-bit numbers, link-layer addresses 6-byte MACs, and a received ARP
 * packet always overrides a cached address (ARP has no override flag).
 *
 * @example
 * const arp = new ArpCache({
 *   sendRequest: (ip, unicastTo) => link.sendArpRequest(ip, unicastTo),
 *   onResolved: (ip, mac, packets) => packets.forEach((p) => link.send(mac, p)),
 *   onUnreachable: (ip, packets) => packets.forEach((p) => icmp.hostUnreachable(p)),
 * });
 * const r = arp.resolve(0x0a000001, now, datagram); // "resolved" → send now; "queued" → wait
 * // On a received ARP packet (RFC 826 merge: create only when it targets us):
 * arp.update(spa, sha, now, { solicited: isReplyToUs, create: targetIsUs });
 */
import {
  NeighbourCache,
  type NeighbourHooks,
  type NeighbourInfo,
  type NeighbourOptions,
} from "./neighbour_cache.ts";

export type {
  NeighbourState,
  NeighbourStats,
  ResolveResult,
  UpdateFlags,
  UpdateOutcome,
} from "./neighbour_cache.ts";

/** Callbacks the ARP cache makes (IPv4 address as a number). */
export type ArpHooks<P = Uint8Array> = NeighbourHooks<number, P>;
/** One ARP entry as the `arp` tool shows it. */
export type ArpEntryInfo = NeighbourInfo<number>;

/** The ARP cache of one adapter. */
export class ArpCache<P = Uint8Array> extends NeighbourCache<number, P> {
  constructor(hooks: ArpHooks<P>, opts: Partial<NeighbourOptions> = {}) {
    super((ip) => ip >>> 0, hooks, opts);
  }
}
