/**
 * What IPv6 sockets need from the NetworkTask, next to the IPv4 {@link Stack}: routes with a
 * chosen source address, sending datagrams, local-address checks and multicast membership.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { Stack } from "../stack.ts";

/** A chosen route for an IPv6 destination. */
export interface Route6 {
  iface: NetInterface;
  /** Where the packet goes on the link: the destination itself or a router. */
  nextHop: Uint8Array;
  /** Preferred source address (RFC 6724, simplified); :: when the interface has none yet. */
  src: Uint8Array;
}

/** An IPv6 datagram to send (the stack adds the header and fragments when needed). */
export interface Ipv6Send {
  src: Uint8Array;
  dst: Uint8Array;
  nextHeader: number;
  hopLimit: number;
  trafficClass?: number;
  payload: Uint8Array;
  /** Deliver a copy to local members of a multicast destination (IPV6_MULTICAST_LOOP). */
  multicastLoop?: boolean;
}

/** Told when an IPv6 datagram could not be delivered (NDP failure). */
export interface SendOwner6 {
  onSendError6(code: ErrnoCode, dst: Uint8Array): void;
}

/** How a route is restricted: SO_BINDTODEVICE name or a link-local scope id. */
export interface Route6Constraint {
  device?: string;
  scopeId?: number;
}

/** The services the NetworkTask offers IPv6 sockets. */
export interface Stack6 extends Stack {
  /** Route to `dst`. */
  route6(dst: Uint8Array, c?: Route6Constraint): Route6 | undefined;
  /** Send along `route`; an errno code when it cannot even be queued. */
  output6(route: Route6, d: Ipv6Send, owner?: SendOwner6): ErrnoCode | undefined;
  /** True if `addr` is usable as a local address (configured and not tentative/duplicate). */
  isLocal6(addr: Uint8Array): boolean;
  /** Interface by index (scope ids). */
  ifaceByIndex(index: number): NetInterface | undefined;
  /** Join/leave an IPv6 multicast group on an interface (MLD reports). */
  joinGroup6(iface: NetInterface, group: Uint8Array, join: boolean): void;
  /** Default hop limit (from router advertisements, else 64). */
  readonly hopLimit6: number;
}
