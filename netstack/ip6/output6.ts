/**
 * IPv6 output (RFC 8200 §4.5, §5): a datagram to send gets its header and, when larger than the
 * path MTU, is fragmented by this host (routers never fragment IPv6); then it goes to the link:
 * loopback, multicast (looped back to members on this host when asked), or unicast once Neighbour
 * Discovery resolved the next hop.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import { ETHERTYPE_IPV6, ipv6MulticastMac } from "../wire/ethernet.ts";
import {
  encodeIpv6,
  IPV6_FRAGMENT_HEADER_LEN,
  IPV6_HEADER_LEN,
  IPV6_MIN_MTU,
  Ipv6NextHeader,
  type Ipv6Repr,
} from "../wire/ipv6.ts";
import { emitIpv6Fragment } from "../wire/ipv6_ext.ts";
import type { IdentGenerator } from "../ip/ident.ts";
import type { IpHost } from "../ip/ip_host.ts";
import { isMulticast6, key6 } from "./addr6.ts";
import type { NdpCaches, Waiting6 } from "./ndp_caches.ts";
import type { Ipv6Send, Route6, SendOwner6 } from "./route6.ts";

const ZERO_MAC = new Uint8Array(6);
const NH = Ipv6NextHeader;

/** What output needs from the IPv6 layer. */
export interface Output6Host {
  readonly host: IpHost;
  readonly neighbours: NdpCaches;
  /** Fragment Identification values. */
  readonly ident: IdentGenerator;
  /** The MTU towards `dst` through `iface` (link, RA MTU option, path MTU). */
  mtuFor(iface: NetInterface, dst: Uint8Array): number;
}

/**
 * Send a datagram along `route`, fragmenting to the path MTU when needed — unless
 * `d.dontFragment` (TCP, as Linux's `ip6_xmit()`): then one over the path MTU is refused, the
 * owner's `onTooBig6` hears it, and "EMSGSIZE" is returned.
 */
export function output6(
  ip: Output6Host,
  route: Route6,
  d: Ipv6Send,
  owner?: SendOwner6,
): ErrnoCode | undefined {
  if (d.payload.length > 65535) return "EMSGSIZE";
  // A TCP super-segment goes whole to a link that cuts it up (TSO) unless the path is narrower.
  const pathMtu = ip.mtuFor(route.iface, d.dst);
  const gso = d.nextHeader === NH.TCP && route.iface.gsoMax > 0 && pathMtu === route.iface.mtu;
  const mtu = gso ? route.iface.gsoMax : Math.max(IPV6_MIN_MTU, pathMtu);
  if (d.dontFragment && IPV6_HEADER_LEN + d.payload.length > mtu) {
    ip.host.count("ipv6: too-big-unfragmentable");
    owner?.onTooBig6?.(d, Math.max(IPV6_MIN_MTU, pathMtu));
    return "EMSGSIZE";
  }
  const base: Ipv6Repr = {
    trafficClass: d.trafficClass ?? 0,
    flowLabel: 0,
    nextHeader: d.nextHeader,
    hopLimit: d.hopLimit,
    src: d.src,
    dst: d.dst,
    payload: d.payload,
  };
  if (IPV6_HEADER_LEN + d.payload.length <= mtu) {
    transmit6(ip, route, encodeIpv6(base), d, owner);
    return undefined;
  }
  const chunk = (mtu - IPV6_HEADER_LEN - IPV6_FRAGMENT_HEADER_LEN) & ~7;
  const ident = ip.ident.next(d.src, d.dst, d.nextHeader);
  for (let off = 0; off < d.payload.length; off += chunk) {
    const data = d.payload.subarray(off, off + chunk);
    const body = new Uint8Array(IPV6_FRAGMENT_HEADER_LEN + data.length);
    emitIpv6Fragment({
      nextHeader: d.nextHeader,
      fragmentOffset: off,
      more: off + chunk < d.payload.length,
      identification: ident,
    }, body);
    body.set(data, IPV6_FRAGMENT_HEADER_LEN);
    transmit6(ip, route, encodeIpv6({ ...base, nextHeader: NH.FRAGMENT, payload: body }), d, owner);
  }
  ip.host.count("ipv6: fragmented");
  return undefined;
}

function transmit6(
  ip: Output6Host,
  route: Route6,
  packet: Uint8Array,
  d: Ipv6Send,
  owner?: SendOwner6,
) {
  const host = ip.host;
  const iface = route.iface;
  if (iface.loopback) return host.sendFrame(iface, ZERO_MAC, ETHERTYPE_IPV6, packet);
  if (isMulticast6(d.dst)) {
    host.sendFrame(iface, ipv6MulticastMac(d.dst), ETHERTYPE_IPV6, packet);
    const g = iface.groups6.get(key6(d.dst));
    if (d.multicastLoop && g && g.refs > 0) {
      host.sendFrame(host.interfaces[0], ZERO_MAC, ETHERTYPE_IPV6, packet.slice());
    }
    return;
  }
  resolveAndSend6(ip, iface, route.nextHop, { packet, owner });
}

/** Send `w` to the neighbour `nextHop` on `iface`, resolving its link-layer address first. */
export function resolveAndSend6(
  ip: Output6Host,
  iface: NetInterface,
  nextHop: Uint8Array,
  w: Waiting6,
): void {
  const host = ip.host;
  const r = ip.neighbours.of(iface).resolve(nextHop, host.clock.now(), w);
  if (r.status === "resolved") host.sendFrame(iface, r.mac, ETHERTYPE_IPV6, w.packet);
  else if (r.status === "dropped") {
    host.count(`ndp: ${r.reason}`);
    w.owner?.onSendError6("EHOSTUNREACH", nextHop);
  }
  host.rearm();
}
