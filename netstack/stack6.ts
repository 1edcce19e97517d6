/**
 * What IPv6 sockets need from the NetworkTask, next to the IPv4 {@link Stack}: routes with a
 * chosen source address, sending datagrams, local-address checks and multicast membership.
 */
import type { ErrnoCode } from "../kernel/errno.ts";
import type { NetInterface } from "./link/interface.ts";
import type { Stack } from "./stack.ts";
import type { Ipv6Send, Route6, Route6Constraint, SendOwner6 } from "./ip6/route6.ts";

export type { Ipv6Send, Route6, Route6Constraint, SendOwner6 } from "./ip6/route6.ts";

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
