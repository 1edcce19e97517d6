/**
 * IPv4 martians (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7): addresses a datagram arriving from a link
 * can never legitimately carry. They are dropped before delivery or forwarding and nothing
 * answers them, so a SYN to 127.0.0.1 arriving on eth0 draws no reply from 127.0.0.1 onto the
 * wire.
 *
 * Linux is the model: `ip_route_input_slow()` and, for a multicast destination,
 * `ip_mc_validate_source()` (net/ipv4/route.c), which `ip_rcv_finish()` runs for every datagram
 * that did not come from this host, count `in_martian_src` / `in_martian_dst`
 * (/proc/net/stat/rt_cache) and drop (SKB_DROP_REASON_IP_INVALID_SOURCE, _IP_LOCALNET,
 * _IP_INVALID_DEST). "We drop all the packets that has local source addresses, because every
 * properly looped back packet must have correct destination already attached by output routine." Their order is kept
 * here, so 0.0.0.0 → 255.255.255.255 (a DHCP client without an address) and 0.0.0.0 → a link-local
 * group or an IGMP message still pass, as there.
 */
import { IpProtocol } from "../wire/ipv4.ts";

/** Why a datagram is a martian: its source or its destination. */
export type Martian4 = "martian-source" | "martian-destination";

/** What {@link martian4} needs to know about the receiving interface. */
export interface MartianIface4 {
  /** Datagrams on loopback come from this host and are not checked (Linux: a dst is attached). */
  readonly loopback: boolean;
  /** How the interface takes `addr`: its directed broadcast is "broadcast". */
  acceptsIPv4(addr: number): "unicast" | "broadcast" | "multicast" | undefined;
}

const LIMITED_BROADCAST = 0xffffffff;

/** True for 224.0.0.0/4. */
function isMulticast(a: number): boolean {
  return (a >>> 28) === 0xe;
}

/** True for 0.0.0.0/8 ("this network", RFC 1122 §3.2.1.3 (a), (b)). */
function isZeronet(a: number): boolean {
  return (a >>> 24) === 0;
}

/** True for 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)). */
function isLoopback(a: number): boolean {
  return (a >>> 24) === 127;
}

/**
 * Whether the datagram `src` → `dst` (upper protocol `protocol`) that arrived on `iface` is a
 * martian, and which side; `isOwn(addr)` says whether `addr` is one of this host's addresses.
 *
 * @example
 * const m = martian4(iface, ip.src, ip.dst, ip.protocol, (a) => stack.isLocal(a));
 * if (m) return iface.dropRx(`ipv4: ${m}`);
 */
export function martian4(
  iface: MartianIface4,
  src: number,
  dst: number,
  protocol: number,
  isOwn: (addr: number) => boolean,
): Martian4 | undefined {
  // Linux ip_route_input_slow: "if (ipv4_is_multicast(saddr) || ipv4_is_lbcast(saddr)) goto
  // martian_source". Checked on every interface (a packet never has such a source).
  if (isMulticast(src) || src === LIMITED_BROADCAST) return "martian-source";
  if (iface.loopback) return undefined;
  if (isMulticast(dst)) {
    // ip_mc_validate_source: a loopback source is refused, "this network" only towards 224.0.0.0/24
    // or for IGMP (and then no source validation follows).
    if (isLoopback(src)) return "martian-source";
    if (isZeronet(src)) {
      return (dst >>> 8) === 0xe00000 || protocol === IpProtocol.IGMP
        ? undefined
        : "martian-source";
    }
  } else if (dst === LIMITED_BROADCAST || (src === 0 && dst === 0)) {
    // "if (ipv4_is_lbcast(daddr) || (saddr == 0 && daddr == 0)) goto brd_input", which validates
    // a source only when it is not 0.0.0.0 (a DHCP client without an address).
    if (src === 0) return undefined;
  } else {
    if (isZeronet(src)) return "martian-source";
    if (isZeronet(dst)) return "martian-destination";
    // net.ipv4.conf.*.route_localnet is 0: 127/8 never comes from or goes to a wire.
    if (isLoopback(dst)) return "martian-destination";
    if (isLoopback(src)) return "martian-source";
  }
  // fib_validate_source (every path above that goes on): a source that is our own address
  // (accept_local 0; a LAND attack's source) is refused, and with rp_filter 1 or 2 (systemd sets
  // 2) so is a directed broadcast of the receiving subnet (RTN_BROADCAST), as RFC 1812 §5.3.7
  // asks ("a source address that is a broadcast address"). Measured on Linux 6.18 through a veth:
  // with the kernel's default rp_filter 0 it answers a SYN from 10.15.0.255; here it never does.
  if (iface.acceptsIPv4(src) === "broadcast" || isOwn(src)) return "martian-source";
  return undefined;
}

/**
 * Whether an ARP packet from `senderIp` about `targetIp` that arrived on `iface` is a martian, to
 * be dropped without learning or answering. Linux's `arp_process()` (net/ipv4/arp.c) drops one
 * whose target is multicast or in 127/8, answers a probe from 0.0.0.0 (RFC 5227), and answers a
 * request only when `ip_route_input_noref(skb, tip, sip, …)` accepts it as a datagram from the
 * sender to the target, which refuses the martians {@link martian4} names; it learns no sender
 * it had no entry for. Here neither a request nor a reply from a martian sender is learned.
 */
export function arpMartian(
  iface: MartianIface4,
  senderIp: number,
  targetIp: number,
  isOwn: (addr: number) => boolean,
): boolean {
  if (isMulticast(targetIp) || isLoopback(targetIp)) return true;
  if (senderIp === 0) return false;
  return martian4(iface, senderIp, targetIp, 0, isOwn) !== undefined;
}
