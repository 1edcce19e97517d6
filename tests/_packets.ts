/** Hand-built packets for the IP edge-case tests (in-thread and against Linux). */
import { encodeIpv4, type Ipv4Repr } from "../netstack/wire/ipv4.ts";

/** An IPv4 datagram with plain defaults (UDP, TTL 64, no options) under what `over` sets. */
export function ipv4Datagram(
  over: Partial<Ipv4Repr> & { src: number; dst: number; payload: Uint8Array },
): Uint8Array {
  return encodeIpv4({
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
    options: new Uint8Array(0),
    ...over,
  });
}

/** An IPv6 fragment header (RFC 8200 §4.5) and its data. */
export function frag6(
  next: number,
  offset: number,
  more: boolean,
  id: number,
  data: Uint8Array,
): Uint8Array {
  const p = new Uint8Array(8 + data.length);
  p[0] = next;
  p[2] = offset >> 8;
  p[3] = (offset & 0xf8) | (more ? 1 : 0);
  new DataView(p.buffer).setUint32(4, id);
  p.set(data, 8);
  return p;
}

/** The bytes of `parts`, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
