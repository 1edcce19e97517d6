/**
 * The virtio-net header a TAP opened with IFF_VNET_HDR puts before every frame (and expects
 * before every frame written), as a virtio-net device does: with offloads on, Linux may hand over
 * a TCP "super-segment" of up to 64 KB (GSO) in one frame and leave its checksum partial
 * (NEEDS_CSUM: the field holds the pseudo-header sum; the device finishes the sum). Pure
 * functions and constants, importing nothing, so a TAP thread can load it.
 */

/** Bytes of `struct virtio_net_hdr` (without num_buffers): the TAP default. */
export const VNET_HDR_LEN = 10;
/** flags: the checksum from `csumStart` on is still to be computed. */
export const VNET_F_NEEDS_CSUM = 1;
/** gso_type values. */
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_TCPV6 = 4;

/** A parsed virtio-net header. */
export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** Read the header at the start of `b` (little-endian, as the TAP writes it). */
export function parseVnetHdr(b: Uint8Array): VnetHdr {
  const v = new DataView(b.buffer, b.byteOffset, VNET_HDR_LEN);
  return {
    flags: v.getUint8(0),
    gsoType: v.getUint8(1) & 0x7f,
    hdrLen: v.getUint16(2, true),
    gsoSize: v.getUint16(4, true),
    csumStart: v.getUint16(6, true),
    csumOffset: v.getUint16(8, true),
  };
}

/**
 * Finish a partial checksum in place: sum `frame` from `start` to its end (the checksum field,
 * at `start + offset`, holds the pseudo-header sum) and store the complement there. False when
 * the positions do not fit the frame (the frame is then left as it was).
 */
export function completeChecksum(frame: Uint8Array, start: number, offset: number): boolean {
  const at = start + offset;
  if (start >= frame.length || at + 2 > frame.length) return false;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
  let sum = 0;
  let i = start;
  for (; i + 4 <= frame.length; i += 4) {
    const w = v.getUint32(i);
    sum += (w >>> 16) + (w & 0xffff);
  }
  if (i + 2 <= frame.length) {
    sum += v.getUint16(i);
    i += 2;
  }
  if (i < frame.length) sum += frame[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  const c = ~sum & 0xffff;
  v.setUint16(at, c === 0 ? 0xffff : c);
  return true;
}

/** Folded (not complemented) 16-bit one's-complement sum of `b` from `start` to `end`. */
function sum16(v: DataView, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += v.getUint16(i);
  if ((end - start) & 1) sum += v.getUint8(end - 1) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

const ETH = 14;
const IP4 = 20;
const IP6 = 40;

/**
 * Gathers consecutive full-sized segments of one IPv4 TCP flow, as a NIC driver with TSO hands
 * them to a virtio-net device, into one super-segment for the TAP: one write and one trip
 * through Linux's stack instead of one per 1500-byte frame; Linux treats it as a GSO packet.
 * Only segments that could have come from one GSO packet join: same addresses and ports,
 * consecutive sequence numbers, a TCP header identical but for the sequence number and
 * checksum (so the same ACK, window and options), flags exactly ACK, every one but the last
 * exactly as long as the first. Anything else (ARP, UDP, SYN, PSH, FIN, IPv4 options,
 * fragments, IPv6) goes out alone, unchanged.
 *
 * A TCP frame longer than the MTU (the netstack's own TSO super-segment, over IPv4 or IPv6 with
 * no extension headers) goes out alone as a GSO packet cut at `mtu`.
 *
 * `add` copies a frame in (false: it cannot join; flush with `take` and add it again); `take`
 * returns header plus frame, ready to write, in a view of the buffer given to the constructor.
 */
export class GsoBuilder {
  readonly #out: Uint8Array;
  readonly #v: DataView;
  /** Bytes of header + frame gathered (0: empty). */
  #len = 0;
  #segs = 0;
  #mss = 0;
  #tcpHdr = 0;
  #nextSeq = 0;
  /** The last segment joined was short: nothing may follow it. */
  #closed = false;
  /** The gathered frame is one super-segment longer than the MTU. */
  #oversize = false;
  /** The gathered frame is IPv6 (only ever a lone super-segment). */
  #v6 = false;

  constructor(out: Uint8Array, readonly mtu = 1500) {
    this.#out = out;
    this.#v = new DataView(out.buffer, out.byteOffset, out.length);
  }

  /** Copy `frame` in, as the start of a super-segment or joined to the one being gathered. */
  add(frame: Uint8Array): boolean {
    if (this.#len === 0) {
      if (VNET_HDR_LEN + frame.length > this.#out.length) return false;
      this.#out.fill(0, 0, VNET_HDR_LEN);
      this.#out.set(frame, VNET_HDR_LEN);
      this.#len = VNET_HDR_LEN + frame.length;
      this.#segs = 1;
      this.#closed = false;
      this.#oversize = false;
      this.#v6 = false;
      if (frame.length - ETH > this.mtu && this.#tcpAt6(frame) > 0) {
        this.#oversize = this.#closed = this.#v6 = true;
        this.#tcpHdr = (frame[ETH + IP6 + 12] >> 4) * 4;
        this.#mss = this.mtu - IP6 - this.#tcpHdr;
        return true;
      }
      const tcp = this.#tcpAt(frame);
      if (tcp < 0) {
        this.#closed = true; // not TCP over plain IPv4: it travels alone
        return true;
      }
      const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
      this.#tcpHdr = (v.getUint8(tcp + 12) >> 4) * 4;
      if (frame.length - ETH > this.mtu) {
        // Linux cuts it into segments that fill the MTU.
        this.#oversize = this.#closed = true;
        this.#mss = this.mtu - IP4 - this.#tcpHdr;
        return true;
      }
      this.#mss = frame.length - tcp - this.#tcpHdr;
      this.#nextSeq = (v.getUint32(tcp + 4) + this.#mss) >>> 0;
      if (v.getUint8(tcp + 13) !== 0x10 || this.#mss === 0) this.#closed = true;
      return true;
    }
    if (this.#closed || !this.#joins(frame)) return false;
    const payload = frame.subarray(ETH + IP4 + this.#tcpHdr);
    this.#out.set(payload, this.#len);
    this.#len += payload.length;
    this.#segs++;
    this.#nextSeq = (this.#nextSeq + payload.length) >>> 0;
    if (payload.length < this.#mss) this.#closed = true;
    return true;
  }

  /** True while a TCP super-segment is being gathered that more segments could still join. */
  get open(): boolean {
    return this.#len > 0 && !this.#closed;
  }

  /** Header plus frame of what was gathered (undefined when empty); the builder is empty after. */
  take(): Uint8Array | undefined {
    if (this.#len === 0) return undefined;
    const len = this.#len;
    this.#len = 0;
    if (this.#segs > 1 || this.#oversize) this.#finish(len);
    return this.#out.subarray(0, len);
  }

  /** Offset of the TCP header in an IPv6 frame whose next header is TCP, else -1. */
  #tcpAt6(f: Uint8Array): number {
    if (f.length < ETH + IP6 + 20 || f[12] !== 0x86 || f[13] !== 0xdd) return -1;
    if ((f[ETH] >> 4) !== 6 || f[ETH + 6] !== 6) return -1;
    const payload = (f[ETH + 4] << 8) | f[ETH + 5];
    return payload === f.length - ETH - IP6 ? ETH + IP6 : -1;
  }

  /** Offset of the TCP header in a plain IPv4 (no options, unfragmented) TCP frame, else -1. */
  #tcpAt(f: Uint8Array): number {
    if (f.length < ETH + IP4 + 20 || f[12] !== 0x08 || f[13] !== 0x00) return -1;
    if (f[ETH] !== 0x45 || f[ETH + 9] !== 6) return -1;
    if ((f[ETH + 6] & 0x3f) !== 0 || f[ETH + 7] !== 0) return -1; // MF or fragment offset
    const total = (f[ETH + 2] << 8) | f[ETH + 3];
    return total === f.length - ETH ? ETH + IP4 : -1;
  }

  /** Whether `f` continues the gathered flow exactly (see the class comment). */
  #joins(f: Uint8Array): boolean {
    const o = this.#out;
    const base = VNET_HDR_LEN;
    const tcp = this.#tcpAt(f);
    if (tcp < 0 || this.#len + f.length - ETH - IP4 - this.#tcpHdr > this.#out.length) return false;
    const hdr = this.#tcpHdr;
    const payload = f.length - tcp - hdr;
    if (payload === 0 || payload > this.#mss) return false;
    if (IP4 + hdr + (this.#len - base - ETH - IP4 - hdr) + payload > 0xffff) return false;
    // Ethernet header, and the IP addresses.
    for (let i = 0; i < ETH; i++) if (f[i] !== o[base + i]) return false;
    for (let i = ETH + 12; i < ETH + 20; i++) if (f[i] !== o[base + i]) return false;
    const v = new DataView(f.buffer, f.byteOffset, f.length);
    if ((v.getUint8(tcp + 12) >> 4) * 4 !== hdr) return false;
    if (v.getUint32(tcp + 4) !== this.#nextSeq) return false;
    // The TCP header but for sequence number (4..8) and checksum (16..18).
    const t = base + ETH + IP4;
    for (let i = 0; i < hdr; i++) {
      if ((i >= 4 && i < 8) || i === 16 || i === 17) continue;
      if (f[tcp + i] !== o[t + i]) return false;
    }
    return true;
  }

  /** Turn the gathered bytes into a GSO packet: lengths, IP checksum, partial TCP checksum. */
  #finish(len: number): void {
    if (this.#v6) return this.#finish6(len);
    const v = this.#v;
    const base = VNET_HDR_LEN;
    const ip = base + ETH;
    const tcp = ip + IP4;
    const tcpLen = len - tcp;
    v.setUint16(ip + 2, IP4 + tcpLen);
    v.setUint16(ip + 10, 0);
    v.setUint16(ip + 10, ~sum16(v, ip, ip + IP4) & 0xffff);
    // Partial checksum: the pseudo-header sum, left for Linux to finish per segment.
    let pseudo = sum16(v, ip + 12, ip + 20) + 6 + tcpLen;
    while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
    v.setUint16(tcp + 16, pseudo);
    v.setUint8(0, VNET_F_NEEDS_CSUM);
    v.setUint8(1, VNET_GSO_TCPV4);
    v.setUint16(2, ETH + IP4 + this.#tcpHdr, true);
    v.setUint16(4, this.#mss, true);
    v.setUint16(6, ETH + IP4, true);
    v.setUint16(8, 16, true);
  }

  /** {@link #finish} for an IPv6 super-segment (no IP checksum; a 40-byte pseudo-header). */
  #finish6(len: number): void {
    const v = this.#v;
    const ip = VNET_HDR_LEN + ETH;
    const tcp = ip + IP6;
    const tcpLen = len - tcp;
    let pseudo = sum16(v, ip + 8, ip + 40) + 6 + tcpLen;
    while (pseudo > 0xffff) pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
    v.setUint16(tcp + 16, pseudo);
    v.setUint8(0, VNET_F_NEEDS_CSUM);
    v.setUint8(1, VNET_GSO_TCPV6);
    v.setUint16(2, ETH + IP6 + this.#tcpHdr, true);
    v.setUint16(4, this.#mss, true);
    v.setUint16(6, ETH + IP6, true);
    v.setUint16(8, 16, true);
  }
}
