/**
 * RFC 7112 / RFC 8200 §4.5: the first fragment of a fragmented packet must carry the whole
 * header chain, up to and including the upper-layer header. One that does not is dropped and
 * answered with ICMPv6 Parameter Problem, code 3 ("IPv6 First Fragment has incomplete IPv6 Header
 * Chain"), pointer 0.
 *
 * Linux: `ipv6_frag_rcv()` (net/ipv6/reassembly.c) calls `ipv6frag_thdr_truncated()`
 * (include/net/ipv6_frag.h) on every fragment that is not atomic; for the first fragment it
 * requires a whole TCP header (20 bytes), UDP header (8) or ICMPv6 header (8), or one byte of any
 * other upper layer, counts Ip6InHdrErrors and sends `icmpv6_param_prob(skb, ICMPV6_HDR_INCOMP,
 * 0)`. An extension header after the fragment header that is itself cut short counts as
 * incomplete too: `ipv6_skip_exthdr()` reads only its first two bytes and steps over the length
 * they claim, past the end. Both cases measured on Linux 6.18 through a veth: Parameter Problem
 * code 3, pointer 0.
 */
import { WireError } from "../wire/errors.ts";
import { Ipv6NextHeader } from "../wire/ipv6.ts";
import { walkIpv6Extensions } from "../wire/ipv6_ext.ts";

/** Bytes of the upper-layer header a first fragment must hold, as Linux requires them. */
function upperHeaderLen(protocol: number): number {
  switch (protocol) {
    case Ipv6NextHeader.TCP:
      return 20;
    case Ipv6NextHeader.UDP:
    case Ipv6NextHeader.ICMPV6:
      return 8;
    case Ipv6NextHeader.NO_NEXT_HEADER:
      return 0;
    default:
      return 1;
  }
}

/**
 * True when `afterFragment`, the bytes after the fragment header of a first fragment (offset 0,
 * more fragments), does not hold the rest of the header chain, `nextHeader` (the fragment
 * header's Next Header) first, through the upper-layer header.
 *
 * @example
 * if (h.fragmentOffset === 0 && h.more && firstFragmentIncomplete(chain.upper, h.nextHeader)) {
 *   sendParamProblem(3, 0);
 * }
 */
export function firstFragmentIncomplete(afterFragment: Uint8Array, nextHeader: number): boolean {
  let rest;
  try {
    rest = walkIpv6Extensions(afterFragment, nextHeader);
  } catch (err) {
    if (err instanceof WireError && err.reason === "truncated") return true;
    // Malformed or too long a chain is not this check's business: reassembly's walk refuses it.
    return false;
  }
  return rest.upper.length < upperHeaderLen(rest.upperLayer);
}
