/**
 * Forwarding IPv4 datagrams between interfaces (RFC 1812 §5.2, §5.3): TTL, route, "fragmentation
 * needed" under DF, and fragmenting again (RFC 791 §3.2, RFC 1812 §5.2.6). A forwarded datagram
 * may already be a fragment: its pieces keep its Identification, take offsets relative to the
 * original datagram (its own offset plus their place in it), and every piece carries MF except
 * the last, which keeps the forwarded datagram's MF (the last piece of a non-last fragment still
 * says more follow). Pieces after the first carry only the options marked "copied".
 *
 * Linux does the same in `ip_forward()` and `ip_do_fragment()` / `ip_frag_next()`
 * (net/ipv4/ip_forward.c, ip_output.c): the offset starts at `(ntohs(iph->frag_off) & IP_OFFSET)
 * << 3`, "if (state->left > 0 || state->not_last_frag) iph->frag_off |= htons(IP_MF)", the header
 * (Identification included) is copied into each piece, and `ip_options_fragment()` strips
 * uncopied options after the first. Compared with Linux in tests/interop/ip_edges_test.ts.
 */
import type { NetInterface } from "../link/interface.ts";
import type { Route4 } from "./route4.ts";
import {
  Icmpv4DstUnreachableCode,
  type Icmpv4Repr,
  Icmpv4TimeExceededCode,
} from "../wire/icmpv4.ts";
import {
  decrementTtl,
  encodeIpv4,
  IPV4_HEADER_LEN,
  ipv4FragmentOptions,
  type Ipv4Repr,
} from "../wire/ipv4.ts";

/** What forwarding needs from the IPv4 layer. */
export interface Forwarder4 {
  /** The route towards `dst`, if any. */
  route(dst: number): Route4 | undefined;
  /** Send an ICMP error about `offending` to its source (rate limited, RFC 1122 §3.2.2). */
  icmpError(offending: Uint8Array, msg: Icmpv4Repr & { invoking: Uint8Array }): void;
  /** Put a whole datagram on `route` (resolving the next hop). */
  transmit(route: Route4, datagram: Uint8Array): void;
  /** Count an event (netstat -s). */
  count(key: string): void;
}

/**
 * Forward `ip` (parsed from `bytes`, received on `iface`, for another host): time exceeded at TTL
 * 1, net unreachable without a route, "fragmentation needed" when too big under DF, else sent on
 * with its TTL lowered, cut again to the next link's MTU when needed.
 */
export function forward4(
  f: Forwarder4,
  iface: NetInterface,
  ip: Ipv4Repr,
  bytes: Uint8Array,
): void {
  const datagram = bytes.slice(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length);
  if (ip.ttl <= 1) {
    f.count("ipv4: ttl-exceeded");
    f.icmpError(datagram, {
      kind: "time-exceeded",
      code: Icmpv4TimeExceededCode.TTL,
      invoking: new Uint8Array(0),
    });
    return;
  }
  const route = f.route(ip.dst);
  if (!route || route.iface.loopback) {
    f.count("ipv4: no-route");
    f.icmpError(datagram, {
      kind: "dst-unreachable",
      code: Icmpv4DstUnreachableCode.NET,
      nextHopMtu: 0,
      invoking: new Uint8Array(0),
    });
    return;
  }
  decrementTtl(datagram);
  if (datagram.length > route.iface.mtu) {
    if (ip.dontFragment) {
      f.icmpError(datagram, {
        kind: "dst-unreachable",
        code: Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED,
        nextHopMtu: route.iface.mtu,
        invoking: new Uint8Array(0),
      });
      return;
    }
    const pieces = refragment4({ ...ip, ttl: ip.ttl - 1 }, route.iface.mtu);
    if (!pieces) {
      f.count("ipv4: frag-failed");
      return iface.dropRx("ipv4: frag-failed");
    }
    for (const p of pieces) f.transmit(route, p);
    f.count("ipv4: forwarded");
    f.count("ipv4: fragmented");
    return;
  }
  f.count("ipv4: forwarded");
  f.transmit(route, datagram);
}

/** Highest fragment offset the 13-bit field holds, in bytes. */
const MAX_OFFSET = 0x1fff << 3;

/**
 * Cut `ip` (a datagram being forwarded, its TTL already lowered) into datagrams of at most `mtu`
 * bytes. Returns undefined when it cannot be done: `mtu` leaves no room for 8 bytes of data, or a
 * piece's offset would not fit the 13-bit field (a bogus fragment reaching past 65,535 bytes).
 *
 * @example
 * const pieces = refragment4({ ...ip, ttl: ip.ttl - 1 }, route.iface.mtu);
 * for (const p of pieces ?? []) transmit(p);
 */
export function refragment4(ip: Ipv4Repr, mtu: number): Uint8Array[] | undefined {
  const headerLen = IPV4_HEADER_LEN + ((ip.options.length + 3) & ~3);
  const chunk = (mtu - headerLen) & ~7;
  if (chunk <= 0) return undefined;
  const later = ip.options.length > 0 ? ipv4FragmentOptions(ip.options) : ip.options;
  const out: Uint8Array[] = [];
  for (let off = 0; off < ip.payload.length; off += chunk) {
    const offset = ip.fragmentOffset + off;
    if (offset > MAX_OFFSET) return undefined;
    const last = off + chunk >= ip.payload.length;
    out.push(encodeIpv4({
      ...ip,
      fragmentOffset: offset,
      moreFragments: last ? ip.moreFragments : true,
      options: off === 0 ? ip.options : later,
      payload: ip.payload.subarray(off, off + chunk),
    }));
  }
  return out;
}
