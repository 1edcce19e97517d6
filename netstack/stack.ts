/**
 * What sockets need from the NetworkTask, as a narrow interface: time, routes, sending IP
 * datagrams, port allocation and interfaces. Sockets never see frames or adapters directly.
 */
import type { Clock } from "../kernel/clock.ts";
import type { NetInterface } from "./link/interface.ts";
import type { PortTable } from "./sockets/ports.ts";
import type { ErrnoCode } from "../kernel/errno.ts";
import type { Ipv4Send, Route4, SendOwner } from "./ip/route4.ts";

export type { Ipv4Send, Route4, SendOwner } from "./ip/route4.ts";

/** The services the NetworkTask offers its sockets. */
export interface Stack {
  readonly clock: Clock;
  readonly ports: PortTable;
  /** Route to `dst`, optionally restricted to one interface (SO_BINDTODEVICE). */
  route4(dst: number, device?: string): Route4 | undefined;
  /** Send a datagram along `route`; returns an errno code when it cannot even be queued. */
  output4(route: Route4, dgram: Ipv4Send, owner?: SendOwner): ErrnoCode | undefined;
  /** True if `addr` is configured on some interface (or is 0 / loopback range). */
  isLocal4(addr: number): boolean;
  /** Interface by name. */
  iface(name: string): NetInterface | undefined;
  /** Count an event (e.g. "udp: no-port"). */
  count(key: string): void;
  /** Join/leave an IPv4 multicast group on an interface (IGMP reports). */
  joinGroup4(iface: NetInterface, group: number, join: boolean): void;
}
