/**
 * Ethernet II frames (IEEE 802.3 with an EtherType), optionally carrying one IEEE 802.1Q tag.
 * Frames are handled without preamble and FCS, as TAP devices and pcap files show them.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                  Destination MAC (6 bytes)                    |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                     Source MAC (6 bytes)                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           EtherType           |   Payload (46..1500 bytes)…   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * With an 802.1Q tag the EtherType slot holds the TPID 0x8100, then the tag control
 * information, then the real EtherType:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         TPID (0x8100)         | PCP |D|         VID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           EtherType           |   Payload…                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * A value below 0x0600 in the EtherType slot is an IEEE 802.3 length (LLC frames such as STP);
 * it is kept as a number like any unknown EtherType, and the payload is not trimmed.
 */

import { WireError } from "./errors.ts";
import { put16, u16 } from "./_bytes.ts";

/** Length of an untagged Ethernet II header. */
export const ETHERNET_HEADER_LEN = 14;
/** Length of one 802.1Q tag (TPID + TCI). */
export const VLAN_TAG_LEN = 4;
/** Length of the header with one 802.1Q tag. */
export const ETHERNET_VLAN_HEADER_LEN = ETHERNET_HEADER_LEN + VLAN_TAG_LEN;
/** Smallest frame on the wire without FCS (60 bytes); shorter frames are padded by the sender. */
export const ETHERNET_MIN_FRAME_LEN = 60;
/** Length of a MAC address. */
export const MAC_LEN = 6;

/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** EtherType (TPID) of an 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/** Byte offsets of the Ethernet header fields (the VLAN ones only when tagged). */
export const EthernetField = {
  DST: 0,
  SRC: 6,
  ETHERTYPE: 12,
  VLAN_TCI: 14,
  VLAN_ETHERTYPE: 16,
} as const;

/** The broadcast MAC address ff:ff:ff:ff:ff:ff (do not modify). */
export const BROADCAST_MAC: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** An 802.1Q tag's control information. */
export interface VlanTag {
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN identifier, 0..4095. */
  vid: number;
}

/**
 * An Ethernet II frame as a plain record. On parse every field is zero-copy, the MACs included
 * (a copy costs ~10× a view on the per-frame path): `.slice()` a MAC to keep it.
 */
export interface EthernetRepr {
  /** Destination MAC, 6 bytes. */
  dst: Uint8Array;
  /** Source MAC, 6 bytes. */
  src: Uint8Array;
  /** EtherType of the payload (after the tag when tagged). */
  ethertype: number;
  /** The 802.1Q tag, when the frame carries one. */
  vlan?: VlanTag;
  /** Everything after the header, Ethernet padding included (the next layer trims it). */
  payload: Uint8Array;
}

const F = EthernetField;

/** Print an EtherType: its name when known, else hex ("0x88cc"). For printing only. */
export function etherTypeName(type: number): string {
  switch (type) {
    case ETHERTYPE_IPV4:
      return "IPv4";
    case ETHERTYPE_ARP:
      return "ARP";
    case ETHERTYPE_VLAN:
      return "802.1Q";
    case ETHERTYPE_IPV6:
      return "IPv6";
    default:
      return `0x${type.toString(16).padStart(4, "0")}`;
  }
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(mac: Uint8Array): boolean {
  return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) === 0xff;
}

/** True for group addresses (I/G bit set), broadcast included. */
export function isMulticastMac(mac: Uint8Array): boolean {
  return (mac[0] & 1) === 1;
}

/** True for individual (unicast) addresses. */
export function isUnicastMac(mac: Uint8Array): boolean {
  return (mac[0] & 1) === 0;
}

/** The MAC an IPv4 multicast group maps to (RFC 1112 §6.4): 01:00:5e + low 23 bits. */
export function ipv4MulticastMac(group: number): Uint8Array {
  return new Uint8Array([
    0x01,
    0x00,
    0x5e,
    (group >>> 16) & 0x7f,
    (group >>> 8) & 0xff,
    group & 0xff,
  ]);
}

/** The MAC an IPv6 multicast address maps to (RFC 2464 §7): 33:33 + its last 4 bytes. */
export function ipv6MulticastMac(group: Uint8Array): Uint8Array {
  return new Uint8Array([0x33, 0x33, group[12], group[13], group[14], group[15]]);
}

function checkEthernetHeader(bytes: Uint8Array): number {
  if (bytes.length < ETHERNET_HEADER_LEN) {
    throw new WireError("ethernet", "truncated", `${bytes.length} bytes`);
  }
  if (u16(bytes, F.ETHERTYPE) !== ETHERTYPE_VLAN) return ETHERNET_HEADER_LEN;
  if (bytes.length < ETHERNET_VLAN_HEADER_LEN) {
    throw new WireError("ethernet", "truncated", `${bytes.length} bytes with an 802.1Q tag`);
  }
  return ETHERNET_VLAN_HEADER_LEN;
}

let _unchecked = false;

/**
 * Checked view of an Ethernet frame: the constructor checks the header (and tag) fit, after which
 * no accessor reads outside `bytes`.
 *
 * @example
 * ```ts
 * const frame = new EthernetFrame(bytes);
 * if (frame.ethertype === ETHERTYPE_IPV4) handleIpv4(frame.payload);
 * ```
 */
export class EthernetFrame {
  /** The whole frame. */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated" when the header does not fit. */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkEthernetHeader(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): EthernetFrame {
    _unchecked = true;
    try {
      return new EthernetFrame(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Destination MAC (zero-copy view). */
  get dst(): Uint8Array {
    return this.bytes.subarray(F.DST, F.DST + MAC_LEN);
  }
  set dst(mac: Uint8Array) {
    this.bytes.set(mac.subarray(0, MAC_LEN), F.DST);
  }
  /** Source MAC (zero-copy view). */
  get src(): Uint8Array {
    return this.bytes.subarray(F.SRC, F.SRC + MAC_LEN);
  }
  set src(mac: Uint8Array) {
    this.bytes.set(mac.subarray(0, MAC_LEN), F.SRC);
  }
  /** True when the frame carries an 802.1Q tag. */
  get tagged(): boolean {
    return u16(this.bytes, F.ETHERTYPE) === ETHERTYPE_VLAN;
  }
  /** The tag control information (PCP/DEI/VID); 0 when untagged. */
  get tci(): number {
    return this.tagged ? u16(this.bytes, F.VLAN_TCI) : 0;
  }
  /** EtherType of the payload (the inner one when tagged). */
  get ethertype(): number {
    return u16(this.bytes, this.tagged ? F.VLAN_ETHERTYPE : F.ETHERTYPE);
  }
  /** Header length: 14, or 18 when tagged. */
  get headerLength(): number {
    return this.tagged ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
  }
  /** Everything after the header (zero-copy). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength);
  }
}

/**
 * Parse an Ethernet II frame into zero-copy views. Throws WireError "truncated" when the header
 * does not fit.
 */
export function parseEthernet(bytes: Uint8Array): EthernetRepr {
  const hl = checkEthernetHeader(bytes);
  const repr: EthernetRepr = {
    dst: bytes.subarray(F.DST, F.DST + MAC_LEN),
    src: bytes.subarray(F.SRC, F.SRC + MAC_LEN),
    ethertype: u16(bytes, hl - 2),
    payload: bytes.subarray(hl),
  };
  if (hl === ETHERNET_VLAN_HEADER_LEN) {
    const tci = u16(bytes, F.VLAN_TCI);
    repr.vlan = { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
  }
  return repr;
}

/** Header length for `repr`: 14, or 18 with a VLAN tag. */
export function ethernetHeaderLength(repr: EthernetRepr): number {
  return repr.vlan ? ETHERNET_VLAN_HEADER_LEN : ETHERNET_HEADER_LEN;
}

/** Frame length (header and payload, no padding) for `repr`. */
export function ethernetLength(repr: EthernetRepr): number {
  return ethernetHeaderLength(repr) + repr.payload.length;
}

/**
 * Write `repr` into `buf` at offset 0 and return the bytes written (`ethernetLength(repr)`).
 * A payload that already sits at the right place in `buf` (emitted there by the next layer) is
 * not copied. No padding to 60 bytes is added. Throws RangeError when `buf` is too small.
 */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array): number {
  const hl = ethernetHeaderLength(repr);
  const total = hl + repr.payload.length;
  if (buf.length < total) throw new RangeError(`Buffer of ${buf.length} bytes < ${total}`);
  const { dst, src } = repr;
  for (let i = 0; i < MAC_LEN; i++) {
    buf[F.DST + i] = dst[i];
    buf[F.SRC + i] = src[i];
  }
  if (repr.vlan) {
    const { pcp, dei, vid } = repr.vlan;
    put16(buf, F.ETHERTYPE, ETHERTYPE_VLAN);
    put16(buf, F.VLAN_TCI, ((pcp & 7) << 13) | (dei ? 0x1000 : 0) | (vid & 0x0fff));
  }
  put16(buf, hl - 2, repr.ethertype);
  const p = repr.payload;
  if (p.buffer !== buf.buffer || p.byteOffset !== buf.byteOffset + hl) buf.set(p, hl);
  return total;
}

/** Encode `repr` into a new buffer of exactly `ethernetLength(repr)` bytes. */
export function encodeEthernet(repr: EthernetRepr): Uint8Array {
  const buf = new Uint8Array(ethernetLength(repr));
  emitEthernet(repr, buf);
  return buf;
}
