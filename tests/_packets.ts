/** Hand-built packets, and a recorder of what a host sends, for the in-thread packet tests. */
import type { LinkPort } from "../drivers/link/port.ts";
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

/**
 * A port wrapper (Sim's `wrap` option) that records every frame a host sends, one list per
 * interface in the order they were wrapped, and passes everything on.
 */
export function frameRecorder(): { sent: Uint8Array[][]; wrap: (p: LinkPort) => LinkPort } {
  const sent: Uint8Array[][] = [];
  const wrap = (p: LinkPort): LinkPort => {
    const mine: Uint8Array[] = [];
    sent.push(mine);
    return {
      send(frame) {
        mine.push(frame.slice());
        p.send(frame);
      },
      onFrame: (h) => p.onFrame(h),
      onBurstEnd: p.onBurstEnd && ((cb) => p.onBurstEnd!(cb)),
      linkDrops: p.linkDrops && (() => p.linkDrops!()),
      close: () => p.close(),
    };
  };
  return { sent, wrap };
}
