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
