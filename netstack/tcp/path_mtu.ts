/**
 * From a path MTU to the MSS a connection may send (RFC 1191, RFC 8201 §5.4), as Linux's
 * __tcp_mtu_to_mss: the MTU less the fixed IP and TCP headers, never below tcp_min_snd_mss.
 * Options are not counted here: the connection takes the ones every segment carries
 * (timestamps) off when it applies the MSS, and SACK blocks per segment (`_currentMss`).
 */
import { IPV4_HEADER_LEN } from "../wire/ipv4.ts";
import { IPV6_HEADER_LEN } from "../wire/ipv6.ts";

/** TCP header without options. */
export const TCP_HEADER_LEN = 20;

/** Least MSS a path MTU can bring a connection to (Linux's tcp_min_snd_mss default). */
export const TCP_MIN_SND_MSS = 48;

/** The MSS (payload without options) a path MTU of `mtu` leaves over IPv4 or IPv6. */
export function mssForPathMtu(mtu: number, v6: boolean): number {
  const ip = v6 ? IPV6_HEADER_LEN : IPV4_HEADER_LEN;
  return Math.max(TCP_MIN_SND_MSS, Math.floor(mtu) - ip - TCP_HEADER_LEN);
}
