/**
 * IPv6 martians: addresses a packet arriving from a link can never legitimately carry (RFC 4291
 * §2.5.3, §2.7 and erratum 3480, RFC 8200). They are dropped before delivery or forwarding and
 * nothing answers them.
 *
 * Linux is the model: `ip6_rcv_core()` (net/ipv6/ip6_input.c) drops these, counting
 * Ip6InHdrErrors (its "err:" label; measured on Linux 6.18), before any routing decision:
 * - ::1 as source or destination on an interface that is not loopback (RFC 4291 §2.5.3);
 * - an interface-local multicast destination (ffx1::) received from another node (erratum 3480);
 * - a multicast destination with the reserved scope 0 (RFC 4291 §2.7);
 * - a multicast source, on any interface (RFC 4291 §2.7).
 */
import { isLoopback6, isMulticast6 } from "./addr6.ts";

/** Why a packet is a martian: its source or its destination. */
export type Martian6 = "martian-source" | "martian-destination";

/**
 * Whether the packet `src` → `dst` that arrived on an interface (`loopback` for the loopback
 * interface) is a martian, and which side.
 *
 * @example
 * const m = martian6(iface.loopback, ip.src, ip.dst);
 * if (m) return iface.dropRx(`ipv6: ${m}`);
 */
export function martian6(
  loopback: boolean,
  src: Uint8Array,
  dst: Uint8Array,
): Martian6 | undefined {
  if (isMulticast6(src)) return "martian-source";
  if (!loopback) {
    if (isLoopback6(src)) return "martian-source";
    if (isLoopback6(dst)) return "martian-destination";
    if (isMulticast6(dst) && (dst[1] & 0x0f) === 1) return "martian-destination";
  }
  if (isMulticast6(dst) && (dst[1] & 0x0f) === 0) return "martian-destination";
  return undefined;
}
