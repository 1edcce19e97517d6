/**
 * The device's offload work on frames, as pure functions: checking and carrying out what a
 * transmit header asks for (NEEDS_CSUM, TSO), and choosing the header for a received frame
 * (DATA_VALID, GUEST_TSO) or segmenting a super-segment the driver cannot take.
 *
 * On the cable, a frame longer than the MTU is a TCP super-segment with a valid checksum
 * (see drivers/link/gso_segment.ts), so a TSO packet from the driver leaves whole once its
 * checksum is finished, unless it asked for smaller segments than the MTU gives.
 */
import { framesForMtu, segmentTcp, tcpFrameLayout } from "../link/gso_segment.ts";
import {
  completeChecksum,
  GSO,
  GSO_NONE,
  HDR_F,
  l4ChecksumValid,
  type NetHdr,
} from "./net_header.ts";

/** What the driver and device agreed on, as the offload code needs it. */
export interface OffloadFeatures {
  /** VIRTIO_NET_F_CSUM: the driver may leave checksums partial. */
  csum: boolean;
  /** HOST_TSO4 / HOST_TSO6: the driver may send TCP super-segments. */
  hostTso4: boolean;
  hostTso6: boolean;
  /** GUEST_CSUM: the device may mark received checksums valid. */
  guestCsum: boolean;
  /** GUEST_TSO4 / GUEST_TSO6: the device may hand super-segments to the driver. */
  guestTso4: boolean;
  guestTso6: boolean;
  /** The link MTU (IP bytes per frame). */
  mtu: number;
}

/** Frames to put on the cable for one transmitted packet, or the reason it is dropped. */
export type TxResult = { frames: Uint8Array[] } | { drop: string };

/**
 * Carry out transmit header `h` on `frame` (owned, modified in place): finish a partial
 * checksum, accept a TSO super-segment (whole, or cut at `gso_size` when that is smaller than
 * the MTU allows). Every field a hostile driver could get wrong is checked: offsets beyond the
 * frame, a GSO type not negotiated or not matching the packet, `gso_size` 0, `hdr_len` past
 * the end, a super-segment without NEEDS_CSUM or whose checksum is not the TCP one.
 */
export function transmitFrames(h: NetHdr, frame: Uint8Array, f: OffloadFeatures): TxResult {
  const gso = h.gsoType & ~GSO.ECN;
  if (h.flags & HDR_F.NEEDS_CSUM) {
    if (!f.csum) return { drop: "tx-csum-not-negotiated" };
    if (!completeChecksum(frame, h.csumStart, h.csumOffset)) {
      return { drop: "tx-bad-checksum-request" };
    }
  }
  if (gso === GSO_NONE) {
    if (frame.length - 14 > f.mtu + 4) return { drop: "tx-bad-length" }; // 4: a VLAN tag
    return { frames: [frame] };
  }
  if (gso !== GSO.TCPV4 && gso !== GSO.TCPV6) return { drop: "tx-bad-gso-type" };
  if (!(gso === GSO.TCPV4 ? f.hostTso4 : f.hostTso6)) return { drop: "tx-gso-not-negotiated" };
  if (!(h.flags & HDR_F.NEEDS_CSUM)) return { drop: "tx-gso-without-csum" };
  if (h.gsoSize === 0) return { drop: "tx-gso-size-zero" };
  if (h.hdrLen > frame.length) return { drop: "tx-bad-hdr-len" };
  const l = tcpFrameLayout(frame);
  if (!l || (l.ipVersion === 4) !== (gso === GSO.TCPV4)) return { drop: "tx-gso-not-tcp" };
  if (h.csumStart !== l.tcp || h.csumOffset !== 16) return { drop: "tx-bad-checksum-request" };
  const fits = f.mtu - (l.hdrLen - 14);
  if (fits <= 0) return { drop: "tx-bad-hdr-len" };
  if (h.gsoSize >= fits) return { frames: [frame] };
  return { frames: segmentTcp(frame, l, h.gsoSize) };
}

/** A frame for the driver with the header fields the device fills in (num_buffers aside). */
export interface RxFrame {
  frame: Uint8Array;
  hdr: NetHdr;
}

/**
 * Headers for a frame from the cable: a super-segment goes up whole with GSO fields when the
 * driver took GUEST_TSO for its IP version, else it is segmented at the MTU first. With
 * GUEST_CSUM a verified TCP/UDP checksum is marked DATA_VALID (and a super-segment, whose
 * checksum the cable guarantees, always is).
 */
export function receiveFrames(frame: Uint8Array, f: OffloadFeatures): RxFrame[] {
  if (frame.length - 14 > f.mtu) {
    const l = tcpFrameLayout(frame);
    if (l && (l.ipVersion === 4 ? f.guestTso4 : f.guestTso6)) {
      return [{
        frame,
        hdr: {
          flags: HDR_F.DATA_VALID,
          gsoType: l.ipVersion === 4 ? GSO.TCPV4 : GSO.TCPV6,
          hdrLen: l.hdrLen,
          gsoSize: f.mtu - (l.hdrLen - 14),
          csumStart: 0,
          csumOffset: 0,
          numBuffers: 1,
        },
      }];
    }
    return framesForMtu(frame, f.mtu).map((s) => plain(s, f));
  }
  return [plain(frame, f)];
}

function plain(frame: Uint8Array, f: OffloadFeatures): RxFrame {
  const valid = f.guestCsum && l4ChecksumValid(frame);
  return {
    frame,
    hdr: {
      flags: valid ? HDR_F.DATA_VALID : 0,
      gsoType: GSO_NONE,
      hdrLen: 0,
      gsoSize: 0,
      csumStart: 0,
      csumOffset: 0,
      numBuffers: 1,
    },
  };
}
