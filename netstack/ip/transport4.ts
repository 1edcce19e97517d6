/**
 * The ports through which the IPv4 layer hands datagrams up: TCP, UDP and raw sockets, each as
 * the narrow interface IPv4 needs. Declared here, in the IP layer, and implemented above it
 * (`tcp/demux.ts`, `udp/udp_demux.ts`, `sockets/raw_socket.ts`); the NetworkTask plugs them in.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { Ipv4Repr } from "../wire/ipv4.ts";

/** How a datagram was addressed to this host. */
export type DestKind4 = "unicast" | "broadcast" | "multicast";

/** What the IPv4 layer needs from TCP. */
export interface Tcp4Port {
  /** A TCP segment addressed (unicast) to this host. */
  input4(iface: NetInterface, ip: Ipv4Repr, datagram: Uint8Array): void;
  /**
   * An ICMP error quoting a segment we sent from `sport` to `dst`:`dport` with sequence number
   * `seq`. For "fragmentation needed" `code` is EMSGSIZE and `mtu` the path MTU now in force
   * towards `dst` (after the cache's 552 floor and lock; a report above the MTU in use changes
   * nothing), or 0 when no path MTU was learnt; for other errors `mtu` is 0.
   */
  icmpError4(
    dst: number,
    sport: number,
    dport: number,
    code: ErrnoCode,
    mtu: number,
    seq: number,
  ): void;
  /** Whether an ICMP error quoting our segment (sport to dst:dport, `seq`) is believable. */
  icmpBelievable(dst: number, sport: number, dport: number, seq: number): boolean;
  /** Run due timers. */
  poll(now: number): void;
  /** Send what was batched during a drain (delayed ACKs, coalesced segments). */
  flush(): void;
  /** The earliest timer TCP needs. */
  nextDeadline(): number | undefined;
}

/** What the IPv4 layer needs from UDP: demultiplexing to sockets. */
export interface Udp4Port {
  /** Deliver a UDP datagram to the sockets it is for; false if none took it (port unreachable). */
  input4(iface: NetInterface, ip: Ipv4Repr, kind: DestKind4): boolean;
  /** An ICMP error quoting a datagram we sent from `sport` to `dst`:`dport`. */
  icmpError4(dst: number, sport: number, dport: number, code: ErrnoCode): void;
  /** Whether a UDP socket holds local port `sport` (an ICMP error quoting it may be ours). */
  holds4(sport: number): boolean;
}

/** A raw IPv4 socket as the IPv4 layer sees it. */
export interface Raw4Endpoint {
  /** Whether a datagram of `protocol` from `src` to `dst` is for this socket. */
  matches(protocol: number, src: number, dst: number): boolean;
  /** A copy of a whole datagram (header included). */
  deliver(datagram: Uint8Array, src: number): void;
}
