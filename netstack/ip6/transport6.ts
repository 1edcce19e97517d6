/**
 * The ports through which the IPv6 layer hands packets up: TCP, UDP and raw ICMPv6 sockets, as
 * the narrow interfaces IPv6 needs. Declared here, in the IP layer, and implemented above it
 * (`tcp/demux.ts`, `udp/udp_demux.ts`, `sockets/raw6_socket.ts`); the NetworkTask plugs them in.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { Ipv6Repr } from "../wire/ipv6.ts";

/** How a packet was addressed to this host. */
export type DestKind6 = "unicast" | "multicast";

/** What the IPv6 layer needs from TCP. */
export interface Tcp6Port {
  /** A TCP segment addressed (unicast) to this host. */
  input6(iface: NetInterface, src: Uint8Array, dst: Uint8Array, segment: Uint8Array): void;
  /** An ICMPv6 error (not Packet Too Big) quoting a segment we sent, with sequence number `seq`. */
  icmpError6(dst: Uint8Array, sport: number, dport: number, code: ErrnoCode, seq: number): void;
  /** The path MTU towards `dst` dropped to `mtu` (never below 1280): shrink segments. */
  pathMtu6(dst: Uint8Array, mtu: number): void;
  /** Whether an ICMPv6 error quoting our segment (sport to dst:dport, `seq`) is believable. */
  icmpBelievable(dst: Uint8Array, sport: number, dport: number, seq: number): boolean;
}

/** What the IPv6 layer needs from UDP: demultiplexing to sockets. */
export interface Udp6Port {
  /** Deliver a UDP datagram (`payload`) to its sockets; false if none took it. */
  input6(iface: NetInterface, ip: Ipv6Repr, payload: Uint8Array, kind: DestKind6): boolean;
  /** An ICMPv6 error quoting a datagram we sent from `sport` to `dst`:`dport`. */
  icmpError6(dst: Uint8Array, sport: number, dport: number, code: ErrnoCode): void;
  /** Whether a UDP socket holds local port `sport` (an ICMPv6 error quoting it may be ours). */
  holds6(sport: number): boolean;
}

/** A raw ICMPv6 socket as the IPv6 layer sees it. */
export interface Raw6Endpoint {
  /** Whether an ICMPv6 `message` from `src` to `dst` is for this socket. */
  matches(src: Uint8Array, dst: Uint8Array, message: Uint8Array): boolean;
  /** A copy of the ICMPv6 message, with where it came from. */
  deliver(message: Uint8Array, from: Uint8Array, ifindex: number, hopLimit?: number): void;
}
