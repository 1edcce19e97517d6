/** Tunables of a TCP connection, with the defaults Serin uses (mostly Linux's). */

import type { TimeWaitBuckets } from "./time_wait.ts";

/** Keepalive probing (SO_KEEPALIVE with TCP_KEEPIDLE/KEEPINTVL/KEEPCNT), times in ms. */
export interface KeepaliveOptions {
  /** Idle time before the first probe. Linux default 7200000 (2 h). */
  idle: number;
  /** Time between unanswered probes. Linux default 75000. */
  interval: number;
  /** Unanswered probes before the connection fails with ETIMEDOUT. Linux default 9. */
  count: number;
}

/** Options of one connection; every field has a default in {@link DEFAULT_TCP_OPTIONS}. */
export interface TcpConnectionOptions {
  /** Our MSS: advertised in the SYN and the cap on segments we send. Default 1460. */
  mss: number;
  /**
   * Largest segment payload to hand the link when it cuts segments to the MSS itself (TSO:
   * a TAP with offloads); 0, the default, sends MSS-sized segments.
   */
  gsoMax: number;
  /** Send buffer capacity in bytes (SO_SNDBUF). Default 262144. */
  sndBuf: number;
  /** Receive buffer capacity in bytes (SO_RCVBUF), the largest window offered. Default 131072. */
  rcvBuf: number;
  /** TCP_NODELAY: disable Nagle's algorithm. Default false. */
  nodelay: boolean;
  /** SO_OOBINLINE: the urgent byte stays in the stream instead of going to MSG_OOB. */
  oobInline: boolean;
  /** Lower bound on the RTO in ms. Default 200. */
  minRto: number;
  /** RTO before the first RTT sample in ms (RFC 6298). Default 1000. */
  initialRto: number;
  /** Upper bound on the RTO in ms. Default 60000. */
  maxRto: number;
  /** TIME-WAIT duration, 2*MSL, in ms. Default 60000. */
  timeWaitMs: number;
  /** The host's TIME-WAIT budget (tcp_max_tw_buckets); undefined, the default: no limit. */
  timeWaitBuckets?: TimeWaitBuckets;
  /** FIN-WAIT-2 timeout after close() (Linux tcp_fin_timeout), in ms. Default 60000. */
  finWait2Ms: number;
  /** Delayed-ACK timeout in ms. Default 40. */
  delayedAckMs: number;
  /** Keepalive probing; undefined (the default) means off. */
  keepalive: KeepaliveOptions | undefined;
  /** Consecutive RTOs on data before ETIMEDOUT. Default 15. */
  maxRetransmits: number;
  /** Consecutive RTOs on a SYN or SYN-ACK before giving up. Default 6. */
  maxSynRetransmits: number;
  /** Offer SACK (RFC 2018). Default true. */
  sack: boolean;
  /** Offer timestamps (RFC 7323). Default true. */
  timestamps: boolean;
  /** Offer window scaling (RFC 7323). Default true. */
  windowScale: boolean;
  /** Congestion control algorithm. Default "newreno". */
  congestion: "newreno" | "cubic";
  /** Most out-of-order ranges held for reassembly. Default 16. */
  maxOutOfOrderRanges: number;
  /** Most challenge ACKs per second (RFC 5961 §7). Default 1000 (Linux). */
  challengeAckLimit: number;
}

/** Default connection options. */
export const DEFAULT_TCP_OPTIONS: Readonly<TcpConnectionOptions> = Object.freeze({
  mss: 1460,
  gsoMax: 0,
  sndBuf: 262144,
  rcvBuf: 131072,
  nodelay: false,
  oobInline: false,
  minRto: 200,
  initialRto: 1000,
  maxRto: 60000,
  timeWaitMs: 60000,
  finWait2Ms: 60000,
  delayedAckMs: 40,
  keepalive: undefined,
  maxRetransmits: 15,
  maxSynRetransmits: 6,
  sack: true,
  timestamps: true,
  windowScale: true,
  congestion: "newreno",
  maxOutOfOrderRanges: 16,
  challengeAckLimit: 1000,
});

/** Shift count that lets a window of `bytes` fit the 16-bit field (RFC 7323 §2.3, max 14). */
export function windowShiftFor(bytes: number): number {
  let shift = 0;
  while (shift < 14 && Math.floor(bytes / 2 ** shift) > 0xffff) shift++;
  return shift;
}
