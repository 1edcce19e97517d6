/**
 * `struct virtio_net_hdr` (virtio 1.2 §5.1.6), 12 bytes little-endian, in front of every frame
 * on both queues once VIRTIO_F_VERSION_1 is negotiated:
 *
 *   0 flags u8 | 1 gso_type u8 | 2 hdr_len u16 | 4 gso_size u16 | 6 csum_start u16
 *   8 csum_offset u16 | 10 num_buffers u16
 *
 * Plus the two checksum jobs of the device: finishing a partial checksum the driver asked for
 * (NEEDS_CSUM) and validating a received TCP/UDP-over-IPv4 checksum (DATA_VALID).
 */

import {
  checksum,
  pseudoHeaderSum4,
  pseudoHeaderSum6,
  verifies,
} from "../../netstack/wire/checksum.ts";

/** Header length with VERSION_1 (num_buffers included). */
export const NET_HDR_LEN = 12;
/** Field offsets. */
export const HDR = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  NUM_BUFFERS: 10,
} as const;
/** Header flags. */
export const HDR_F = { NEEDS_CSUM: 1, DATA_VALID: 2 } as const;
/** gso_type: no segmentation offload. */
export const GSO_NONE = 0;
/** gso_type values (§5.1.6): TCP over IPv4, TCP over IPv6, and the ECN bit. */
export const GSO = { TCPV4: 1, UDP: 3, TCPV6: 4, ECN: 0x80 } as const;

/** Every field of a header. */
export interface NetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  numBuffers: number;
}

/** Read the whole header at `at`. */
export function readNetHdr(buf: Uint8Array, at: number): NetHdr {
  const u16 = (o: number) => buf[at + o] | (buf[at + o + 1] << 8);
  return {
    flags: buf[at + HDR.FLAGS],
    gsoType: buf[at + HDR.GSO_TYPE],
    hdrLen: u16(HDR.HDR_LEN),
    gsoSize: u16(HDR.GSO_SIZE),
    csumStart: u16(HDR.CSUM_START),
    csumOffset: u16(HDR.CSUM_OFFSET),
    numBuffers: u16(HDR.NUM_BUFFERS),
  };
}

/** Write every field of `h` at `at`. */
export function writeFullNetHdr(buf: Uint8Array, at: number, h: NetHdr): void {
  const u16 = (o: number, v: number) => {
    buf[at + o] = v & 0xff;
    buf[at + o + 1] = (v >>> 8) & 0xff;
  };
  buf[at + HDR.FLAGS] = h.flags;
  buf[at + HDR.GSO_TYPE] = h.gsoType;
  u16(HDR.HDR_LEN, h.hdrLen);
  u16(HDR.GSO_SIZE, h.gsoSize);
  u16(HDR.CSUM_START, h.csumStart);
  u16(HDR.CSUM_OFFSET, h.csumOffset);
  u16(HDR.NUM_BUFFERS, h.numBuffers);
}

/** Ask the device to checksum from `start` to the end, storing at `start + offset`. */
export interface ChecksumOffload {
  /** Where the summed region starts (the L4 header), from the start of the frame. */
  csumStart: number;
  /** Where the 16-bit result goes, from `csumStart` (UDP 6, TCP 16). */
  csumOffset: number;
}

/** Write a header into `buf` at `at` (num_buffers = 0; the device sets it on receive). */
export function writeNetHdr(
  buf: Uint8Array,
  at: number,
  flags: number,
  offload?: ChecksumOffload,
): void {
  const start = offload?.csumStart ?? 0;
  const offset = offload?.csumOffset ?? 0;
  buf.fill(0, at, at + NET_HDR_LEN);
  buf[at + HDR.FLAGS] = flags;
  buf[at + HDR.GSO_TYPE] = GSO_NONE;
  buf[at + HDR.CSUM_START] = start & 0xff;
  buf[at + HDR.CSUM_START + 1] = start >>> 8;
  buf[at + HDR.CSUM_OFFSET] = offset & 0xff;
  buf[at + HDR.CSUM_OFFSET + 1] = offset >>> 8;
}

/** Read csum_start and csum_offset of the header at `at`. */
export function readChecksumRequest(buf: Uint8Array, at: number): ChecksumOffload {
  return {
    csumStart: buf[at + HDR.CSUM_START] | (buf[at + HDR.CSUM_START + 1] << 8),
    csumOffset: buf[at + HDR.CSUM_OFFSET] | (buf[at + HDR.CSUM_OFFSET + 1] << 8),
  };
}

/**
 * Finish a NEEDS_CSUM checksum in place: the field already holds the pseudo-header sum; fold in
 * everything from `csumStart` and store the complement. False if the offsets are out of range.
 */
export function completeChecksum(frame: Uint8Array, csumStart: number, csumOffset: number) {
  const at = csumStart + csumOffset;
  if (at + 2 > frame.length) return false;
  const sum = checksum(frame.subarray(csumStart));
  frame[at] = sum >>> 8;
  frame[at + 1] = sum & 0xff;
  return true;
}

/** True when `frame` is TCP/UDP over IPv4 (unfragmented) or IPv6 and its L4 checksum verifies. */
export function l4ChecksumValid(frame: Uint8Array): boolean {
  if (frame.length >= 54 && frame[12] === 0x86 && frame[13] === 0xdd) {
    const next = frame[20];
    const len = (frame[18] << 8) | frame[19];
    if ((frame[14] >>> 4) !== 6 || (next !== 6 && next !== 17) || 54 + len > frame.length) {
      return false;
    }
    const l4 = frame.subarray(54, 54 + len);
    const pseudo = pseudoHeaderSum6(frame.subarray(22, 38), frame.subarray(38, 54), next, len);
    return verifies(l4, pseudo);
  }
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00) return false;
  const ihl = (frame[14] & 0x0f) * 4;
  const total = (frame[16] << 8) | frame[17];
  if ((frame[14] >>> 4) !== 4 || ihl < 20 || total < ihl || 14 + total > frame.length) return false;
  if (((frame[20] & 0x3f) | frame[21]) !== 0) return false; // MF or fragment offset set
  const proto = frame[23];
  if (proto !== 6 && proto !== 17) return false;
  const l4 = frame.subarray(14 + ihl, 14 + total);
  if (proto === 17 && l4.length >= 8 && l4[6] === 0 && l4[7] === 0) return false; // no checksum
  const v = new DataView(frame.buffer, frame.byteOffset);
  const pseudo = pseudoHeaderSum4(v.getUint32(26), v.getUint32(30), proto, l4.length);
  return verifies(l4, pseudo);
}
