/**
 * TCP segment output: a connection's segment becomes a checksummed IPv4 or IPv6 datagram on the
 * route to its peer. Segments are never fragmented (DF, path MTU discovery: RFC 1191, RFC 8201);
 * over loopback no IPv4 checksum is computed (Linux's lo, CHECKSUM_UNNECESSARY).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import { allocPacket, HEADROOM_IPV4, HEADROOM_IPV6 } from "../link/headroom.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../wire/checksum.ts";
import { IpProtocol } from "../wire/ipv4.ts";
import { emitTcp, tcpLength, type TcpRepr } from "../wire/tcp.ts";
import type { TcpAddr } from "./flow_key.ts";
import type { TcpHost, TcpSendOwner } from "./host.ts";

/** Why a segment did not leave: no route, or the IP layer's errno (EMSGSIZE: over the path MTU). */
export type SegmentOutputError = "no-route" | ErrnoCode;

/**
 * Send `seg` from `src` to `dst` with TTL / hop limit `ttl`; what went wrong, if anything.
 * `owner` hears what the IP layer reports about the datagram (too big under DF: its MTU).
 */
export function sendSegment(
  host: TcpHost,
  src: TcpAddr,
  dst: TcpAddr,
  seg: TcpRepr,
  ttl: number,
  scope = 0,
  owner?: TcpSendOwner,
): SegmentOutputError | undefined {
  const len = tcpLength(seg);
  const buf = allocPacket(len, typeof dst === "number" ? HEADROOM_IPV4 : HEADROOM_IPV6);
  if (typeof src === "number" && typeof dst === "number") {
    const route = host.route4(dst);
    if (!route) return "no-route";
    emitTcp(seg, buf, {
      pseudoSum: route.iface.loopback ? undefined : pseudoHeaderSum4(src, dst, IpProtocol.TCP, len),
    });
    return host.ipv4.output(route, {
      src,
      dst,
      protocol: IpProtocol.TCP,
      ttl,
      payload: buf,
      dontFragment: true,
    }, owner);
  }
  const s6 = src as Uint8Array;
  const d6 = dst as Uint8Array;
  const route = host.route6(d6, { scopeId: scope });
  if (!route) return "no-route";
  emitTcp(seg, buf, { pseudoSum: pseudoHeaderSum6(s6, d6, IpProtocol.TCP, len) });
  // Never fragmented at the source: over the path MTU it is refused (EMSGSIZE, `owner` told)
  // and the MSS follows, as Linux's ip6_xmit does for TCP.
  return host.ipv6.output(route, {
    src: s6,
    dst: d6,
    nextHeader: IpProtocol.TCP,
    hopLimit: ttl,
    payload: buf,
    dontFragment: true,
  }, owner);
}
