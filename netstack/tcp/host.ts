/**
 * What the TCP layer needs from below and around it, as narrow interfaces: the NetworkTask (the
 * composition root) implements {@link TcpHost}; nothing in `tcp/` imports the NetworkTask.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { Ipv4Send, Route4, SendOwner } from "../stack.ts";
import type { Ipv6Send, Route6, SendOwner6, Stack6 } from "../stack6.ts";

/**
 * Who TCP's datagrams belong to, as the IP layers tell it: a delivery failure (ignored: TCP
 * retransmits, as Linux does after a failed ARP) and a datagram refused under DF for being over
 * `mtu`, the MTU that applies towards its destination now (onTooBig, onTooBig6).
 */
export type TcpSendOwner = SendOwner & SendOwner6;

/** IPv4 output as TCP uses it: one datagram, no flush (TCP sends inside the task's batch). */
export interface TcpIpv4Output {
  output(route: Route4, d: Ipv4Send, owner?: TcpSendOwner): ErrnoCode | undefined;
}

/** IPv6 output as TCP uses it: one packet, never fragmented at the source (`dontFragment`). */
export interface TcpIpv6Output {
  output(route: Route6, d: Ipv6Send, owner?: TcpSendOwner): ErrnoCode | undefined;
}

/** The services the TCP layer gets from its host (the sockets' {@link Stack6} and more). */
export interface TcpHost extends Stack6 {
  readonly ipv4: TcpIpv4Output;
  readonly ipv6: TcpIpv6Output;
  /** The host's counters and gauges (netstat -s). */
  readonly counters: Map<string, number>;
  /** Re-arm the host's single timer at the earliest deadline (deferred inside a batch). */
  rearm(): void;
  /** Run `fn` with timer re-arming deferred to its end. */
  batch<T>(fn: () => T): T;
  /** The frame being processed was only read: its buffer may be reused. */
  frameConsumed(): void;
  /** A fresh socket id (for accepted connections). */
  allocateSid(): number;
}
