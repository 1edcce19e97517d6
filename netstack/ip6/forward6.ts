/**
 * Forwarding IPv6 packets between interfaces (RFC 8200, RFC 4443): link-local addresses and
 * the unspecified source stay on their link, the hop limit is decremented (Time Exceeded at 1),
 * a packet without a route draws No Route, and one larger than the next link's MTU draws Packet
 * Too Big — a router never fragments IPv6 (RFC 8200 §5).
 */
import type { NetInterface } from "../link/interface.ts";
import {
  Icmpv6DstUnreachableCode,
  type Icmpv6Repr,
  Icmpv6TimeExceededCode,
} from "../wire/icmpv6.ts";
import type { Ipv6Repr } from "../wire/ipv6.ts";
import { isLinkLocal6, isUnspecified6 } from "./addr6.ts";
import { type Output6Host, resolveAndSend6 } from "./output6.ts";
import type { Route6 } from "./route6.ts";

/** What forwarding needs from the IPv6 layer. */
export interface Forwarder6 extends Output6Host {
  /** The route towards `dst`, if any. */
  route(dst: Uint8Array): Route6 | undefined;
  /** Send an ICMPv6 error about `offending`, received on `iface` (rate limited). */
  icmpError(
    iface: NetInterface,
    offending: Uint8Array,
    msg: Icmpv6Repr,
    toMulticastOk?: boolean,
  ): void;
}

/** Forward `packet` (parsed as `ip`), received on `iface` and not addressed to us. */
export function forward6(f: Forwarder6, iface: NetInterface, ip: Ipv6Repr, packet: Uint8Array) {
  if (isLinkLocal6(ip.src) || isLinkLocal6(ip.dst) || isUnspecified6(ip.src)) {
    return iface.dropRx("ipv6: not-forwardable");
  }
  if (ip.hopLimit <= 1) {
    f.host.count("ipv6: hop-limit-exceeded");
    f.icmpError(iface, packet, {
      kind: "time-exceeded",
      code: Icmpv6TimeExceededCode.HOP_LIMIT,
      invoking: packet,
    });
    return;
  }
  const route = f.route(ip.dst);
  if (!route || route.iface.loopback) {
    f.host.count("ipv6: no-route");
    f.icmpError(iface, packet, {
      kind: "dst-unreachable",
      code: Icmpv6DstUnreachableCode.NO_ROUTE,
      invoking: packet,
    });
    return;
  }
  const mtu = f.mtuFor(route.iface, ip.dst);
  if (packet.length > mtu) {
    f.host.count("ipv6: too-big");
    f.icmpError(iface, packet, { kind: "packet-too-big", mtu, invoking: packet }, true);
    return;
  }
  const copy = packet.slice();
  copy[7] = ip.hopLimit - 1;
  f.host.count("ipv6: forwarded");
  resolveAndSend6(f, route.iface, route.nextHop, { packet: copy });
}
