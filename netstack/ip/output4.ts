/**
 * IPv4 output (RFC 791 §3.2, RFC 1122 §3.3): a datagram to send gets its header (in place, when
 * the payload was built with headroom), is fragmented to the MTU towards its destination unless
 * DF forbids it, and goes to the link: loopback, broadcast, multicast (looped back to members on
 * this host), or unicast once ARP resolved the next hop.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import { growFront } from "../link/headroom.ts";
import { BROADCAST_MAC, ETHERTYPE_IPV4, ipv4MulticastMac } from "../wire/ethernet.ts";
import { emitIpv4, encodeIpv4, IpProtocol, IPV4_HEADER_LEN, type Ipv4Repr } from "../wire/ipv4.ts";
import { type Arp4, dstOf } from "./arp.ts";
import type { IdentGenerator } from "./ident.ts";
import type { IpHost } from "./ip_host.ts";
import type { PmtuEntry } from "./pmtu_cache.ts";
import type { Ipv4Send, Route4, SendOwner } from "./route4.ts";

const ZERO_MAC = new Uint8Array(6);

/** What output needs from the IPv4 layer. */
export interface Output4Host {
  readonly host: IpHost;
  readonly arp: Arp4;
  /** IP Identification values (RFC 6864/7739). */
  readonly ident: IdentGenerator;
  /** The learned path MTU towards `dst`, if one applies now. */
  pathMtu(dst: number): PmtuEntry | undefined;
}

/**
 * Send a datagram along `route`, fragmenting to the path MTU unless DF. A DF datagram larger
 * than the path MTU is refused: the owner's `onTooBig` hears it, then "EMSGSIZE" is returned.
 * On a path whose MTU is locked (a router reported one below 552) DF is left clear, as Linux's
 * `ip_dont_fragment()` does, so the datagram is fragmented instead of black-holed.
 */
export function output4(
  ip: Output4Host,
  route: Route4,
  d: Ipv4Send,
  owner?: SendOwner,
): ErrnoCode | undefined {
  const path = ip.pathMtu(d.dst);
  const df = (d.dontFragment ?? false) && !path?.locked;
  const pathMtu = Math.min(route.iface.mtu, path?.mtu ?? Infinity);
  // A TCP super-segment goes whole to a link that cuts it up (TSO), unless a smaller path MTU
  // was learned (TCP then sends smaller segments anyway).
  const gso = d.protocol === IpProtocol.TCP && route.iface.gsoMax > 0 && path === undefined;
  const mtu = gso ? route.iface.gsoMax : pathMtu;
  const options = d.options ?? new Uint8Array(0);
  const total = IPV4_HEADER_LEN + options.length + d.payload.length;
  if (total > 65535) return "EMSGSIZE";
  if (df && total > mtu) {
    ip.host.count("ipv4: too-big-under-df");
    owner?.onTooBig?.(d, pathMtu);
    return "EMSGSIZE";
  }
  const ident = ip.ident.next(d.src, d.dst, d.protocol) & 0xffff;
  const base: Ipv4Repr = {
    dscp: (d.tos ?? 0) >>> 2,
    ecn: (d.tos ?? 0) & 3,
    ident,
    dontFragment: df,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: d.ttl,
    protocol: d.protocol,
    src: d.src,
    dst: d.dst,
    options,
    payload: d.payload,
  };
  if (total <= mtu) {
    // Built with headroom: the header goes in front of the payload, in the same buffer.
    const inPlace = growFront(d.payload, total - d.payload.length);
    if (inPlace) emitIpv4(base, inPlace);
    transmit4(ip, route, inPlace ?? encodeIpv4(base), owner);
    return undefined;
  }
  const chunk = (mtu - IPV4_HEADER_LEN - options.length) & ~7;
  if (chunk <= 0) return "EMSGSIZE";
  for (let off = 0; off < d.payload.length; off += chunk) {
    const last = off + chunk >= d.payload.length;
    transmit4(
      ip,
      route,
      encodeIpv4({
        ...base,
        moreFragments: !last,
        fragmentOffset: off,
        payload: d.payload.subarray(off, off + chunk),
      }),
      owner,
    );
  }
  ip.host.count("ipv4: fragmented");
  return undefined;
}

/** Put a whole datagram on `route`'s link, resolving the next hop. */
export function transmit4(
  ip: Output4Host,
  route: Route4,
  datagram: Uint8Array,
  owner?: SendOwner,
): void {
  const host = ip.host;
  const iface = route.iface;
  const dst = route.nextHop;
  if (iface.loopback) return host.sendFrame(iface, ZERO_MAC, ETHERTYPE_IPV4, datagram);
  if (route.broadcast || dst === 0xffffffff) {
    return host.sendFrame(iface, BROADCAST_MAC, ETHERTYPE_IPV4, datagram);
  }
  if ((dst >>> 28) === 0xe) {
    host.sendFrame(iface, ipv4MulticastMac(dst), ETHERTYPE_IPV4, datagram);
    if (iface.groups4.has(dst)) {
      // IP_MULTICAST_LOOP: members on this host hear it too, through loopback.
      const lo = host.interfaces[0];
      host.sendFrame(lo, ZERO_MAC, ETHERTYPE_IPV4, datagram.slice());
    }
    return;
  }
  const r = ip.arp.cache(iface).resolve(dst, host.clock.now(), { datagram, owner });
  if (r.status === "resolved") host.sendFrame(iface, r.mac, ETHERTYPE_IPV4, datagram);
  else if (r.status === "dropped") {
    host.count(`arp: ${r.reason}`);
    owner?.onSendError("EHOSTUNREACH", dstOf(datagram, dst));
  }
  host.rearm();
}
