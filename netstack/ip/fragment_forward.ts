/**
 * Fragmenting a datagram this host forwards (RFC 791 §3.2, RFC 1812 §5.2.6). A forwarded
 * datagram may already be a fragment: its pieces keep its Identification, take offsets relative
 * to the original datagram (its own offset plus their place in it), and every piece carries MF
 * except the last, which keeps the forwarded datagram's MF (the last piece of a non-last fragment
 * still says more follow). Pieces after the first carry only the options marked "copied".
 *
 * Linux does the same in `ip_do_fragment()` / `ip_frag_next()` (net/ipv4/ip_output.c): the
 * offset starts at `(ntohs(iph->frag_off) & IP_OFFSET) << 3`, "if (state->left > 0 ||
 * state->not_last_frag) iph->frag_off |= htons(IP_MF)", the header (Identification included) is
 * copied into each piece, and `ip_options_fragment()` strips uncopied options after the first.
 */
import { encodeIpv4, IPV4_HEADER_LEN, ipv4FragmentOptions, type Ipv4Repr } from "../wire/ipv4.ts";

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
