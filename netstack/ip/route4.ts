/**
 * The IPv4 layer's vocabulary towards the layers above it: a chosen route, a datagram to send,
 * and who to tell when it cannot be delivered. Declared here, below the sockets and TCP that use
 * them (`stack.ts` re-exports them for sockets).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";

/** A chosen route for an IPv4 destination. */
export interface Route4 {
  iface: NetInterface;
  /** Where the frame goes on the link: the destination itself or a gateway. */
  nextHop: number;
  /** Preferred source address. */
  src: number;
  broadcast: boolean;
  /**
   * The largest datagram this route carries: the interface MTU, lowered by a path MTU learned
   * from "fragmentation needed" (RFC 1191) while it lasts. TCP takes its MSS from it at connect
   * time, as Linux's `tcp_sync_mss(sk, dst_mtu(dst))` does.
   */
  mtu: number;
}

/** An IPv4 datagram to send (header fields; the stack fragments it if needed). */
export interface Ipv4Send {
  src: number;
  dst: number;
  protocol: number;
  ttl: number;
  tos?: number;
  /**
   * Set DF and refuse (EMSGSIZE) rather than fragment, as with Linux's IP_PMTUDISC_WANT (the
   * default): on a path whose MTU is locked because a router reported one below 552, DF is left
   * clear and the datagram is fragmented instead (`ip_dont_fragment()`).
   */
  dontFragment?: boolean;
  /** Raw IPv4 options (e.g. router alert), a multiple of 4 bytes. */
  options?: Uint8Array;
  payload: Uint8Array;
}

/** Told when a datagram could not be delivered (ARP failure, too big under DF). */
export interface SendOwner {
  /** The datagram towards `dst` was lost (e.g. EHOSTUNREACH when ARP fails). */
  onSendError(code: ErrnoCode, dst: number): void;
  /**
   * The IPv4 layer refused `d` because it has DF set and is larger than `mtu`, the MTU that
   * applies towards `d.dst` now (path MTU cache, else the interface). Called synchronously from
   * `output()`, just before it returns "EMSGSIZE"; nothing was sent. TCP lowers its MSS to fit
   * and retransmits.
   */
  onTooBig?(d: Ipv4Send, mtu: number): void;
}
