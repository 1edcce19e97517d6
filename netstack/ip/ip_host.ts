/**
 * What the IP layers (IPv4 and IPv6, with ARP, ICMP, IGMP and Neighbour Discovery) need from the
 * host that composes them, as a narrow port: the clock, the interfaces, putting a frame on a link,
 * counters and timer re-arming. The NetworkTask implements it; nothing in `ip/` or `ip6/` imports
 * the NetworkTask itself, so the layers depend downward only.
 */
import type { Clock } from "../../kernel/clock.ts";
import type { NetInterface } from "../link/interface.ts";

/** The host an IP layer runs in (the NetworkTask is the composition root that implements it). */
export interface IpHost {
  /** Time for every protocol timer (reassembly, ARP/NDP, path MTU expiry). */
  readonly clock: Clock;
  /** Every interface, loopback first. */
  readonly interfaces: readonly NetInterface[];
  /** Interface by name. */
  iface(name: string): NetInterface | undefined;
  /** Interface by index (IPv6 scope ids). */
  ifaceByIndex(index: number): NetInterface | undefined;
  /** Wrap `payload` in an Ethernet header and transmit it on `iface`. */
  sendFrame(iface: NetInterface, dstMac: Uint8Array, ethertype: number, payload: Uint8Array): void;
  /** Count an event (netstat -s). */
  count(key: string): void;
  /** Re-arm the single timer at the earliest deadline any layer needs. */
  rearm(): void;
  /**
   * DNS servers (address literals) or search domains an RA's RDNSS or DNSSL option (RFC 8106)
   * carries, valid for `lifetime` seconds (0 removes them, 0xffffffff never expires), for the
   * host's resolver configuration.
   */
  learnDnsFromRa(kind: "servers" | "search", values: readonly string[], lifetime: number): void;
}
