/**
 * The IPv6 layer's vocabulary towards the layers above it: a chosen route, a datagram to send,
 * who to tell when it cannot be delivered, and how a route may be constrained. Declared here,
 * below the sockets and TCP that use them (`stack6.ts` re-exports them for sockets).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";

/** A chosen route for an IPv6 destination. */
export interface Route6 {
  iface: NetInterface;
  /** Where the packet goes on the link: the destination itself or a router. */
  nextHop: Uint8Array;
  /** Preferred source address (RFC 6724, simplified); :: when the interface has none yet. */
  src: Uint8Array;
  /**
   * The largest packet this route carries, when known: the interface MTU, lowered by an RA MTU
   * option and by a path MTU learned from Packet Too Big (RFC 8201), never below 1280.
   */
  mtu?: number;
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
  /**
   * Refuse (EMSGSIZE) rather than fragment when larger than the path MTU, as Linux's
   * `ip6_xmit()` does for TCP; the owner's `onTooBig6` is told first.
   */
  dontFragment?: boolean;
}

/** Told when an IPv6 datagram could not be delivered (NDP failure, too big). */
export interface SendOwner6 {
  /** The packet towards `dst` was lost (e.g. EHOSTUNREACH when NDP fails). */
  onSendError6(code: ErrnoCode, dst: Uint8Array): void;
  /**
   * The IPv6 layer refused `d` (sent with `dontFragment`) because it is larger than `mtu`, the
   * path MTU towards `d.dst` now. Called synchronously from `output()` just before it returns
   * "EMSGSIZE"; nothing was sent.
   */
  onTooBig6?(d: Ipv6Send, mtu: number): void;
}

/** How a route is restricted: SO_BINDTODEVICE name or a link-local scope id. */
export interface Route6Constraint {
  device?: string;
  scopeId?: number;
}
