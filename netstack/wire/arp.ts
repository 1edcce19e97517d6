/**
 * ARP (RFC 826) for Ethernet hardware and IPv4 protocol addresses, the only pairing Serin uses.
 *
 * ```text
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Hardware Type (1)        |     Protocol Type (0x0800)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  HLEN (6)     |   PLEN (4)    |          Operation            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Sender Hardware Address (6 bytes)              |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               | Sender Protocol Address (4) … |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | … Sender Protocol Address     |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                Target Hardware Address (6 bytes)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Target Protocol Address (4 bytes)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Other hardware/protocol types are refused with WireError "unsupported". Bytes after the 28-byte
 * packet (Ethernet padding) are ignored. Operations other than request/reply stay numbers.
 */

import { WireError } from "./errors.ts";
import { put16, put32, u16, u32 } from "./_bytes.ts";

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28;
/** Hardware type of Ethernet. */
export const ARP_HTYPE_ETHERNET = 1;
/** Protocol type of IPv4 (its EtherType). */
export const ARP_PTYPE_IPV4 = 0x0800;

/** ARP operation codes (RFC 826; RARP and others stay numbers). */
export const ArpOp = { REQUEST: 1, REPLY: 2 } as const;

/** Byte offsets of the ARP fields for Ethernet/IPv4. */
export const ArpField = {
  HTYPE: 0,
  PTYPE: 2,
  HLEN: 4,
  PLEN: 5,
  OP: 6,
  SENDER_MAC: 8,
  SENDER_IP: 14,
  TARGET_MAC: 18,
  TARGET_IP: 24,
} as const;

/** An Ethernet/IPv4 ARP packet as a plain record. MACs are copies, safe to keep. */
export interface ArpRepr {
  /** Operation, see {@link ArpOp}. */
  op: number;
  /** Sender hardware address, 6 bytes. */
  senderMac: Uint8Array;
  /** Sender IPv4 address. */
  senderIp: number;
  /** Target hardware address, 6 bytes (zero in a request). */
  targetMac: Uint8Array;
  /** Target IPv4 address. */
  targetIp: number;
}

const F = ArpField;

/** Print an ARP operation ("request", "reply", or the number). For printing only. */
export function arpOpName(op: number): string {
  switch (op) {
    case ArpOp.REQUEST:
      return "request";
    case ArpOp.REPLY:
      return "reply";
    default:
      return `op ${op}`;
  }
}

function checkArp(bytes: Uint8Array): void {
  if (bytes.length < ARP_LEN) throw new WireError("arp", "truncated", `${bytes.length} bytes`);
  const htype = u16(bytes, F.HTYPE);
  const ptype = u16(bytes, F.PTYPE);
  if (htype !== ARP_HTYPE_ETHERNET || ptype !== ARP_PTYPE_IPV4) {
    throw new WireError("arp", "unsupported", `htype ${htype} ptype 0x${ptype.toString(16)}`);
  }
  if (bytes[F.HLEN] !== 6 || bytes[F.PLEN] !== 4) {
    throw new WireError("arp", "bad-length", `hlen ${bytes[F.HLEN]} plen ${bytes[F.PLEN]}`);
  }
}

let _unchecked = false;

/**
 * Checked view of an Ethernet/IPv4 ARP packet: the constructor checks the length and the
 * hardware/protocol types once.
 */
export class ArpPacket {
  /** The packet bytes (at least 28; padding after them is ignored). */
  readonly bytes: Uint8Array;

  /** Wrap `bytes`; throws WireError "truncated", "unsupported" or "bad-length". */
  constructor(bytes: Uint8Array) {
    if (!_unchecked) checkArp(bytes);
    this.bytes = bytes;
  }

  /** Wrap a buffer you sized yourself (28 bytes) for emitting; nothing is validated. */
  static unchecked(bytes: Uint8Array): ArpPacket {
    _unchecked = true;
    try {
      return new ArpPacket(bytes);
    } finally {
      _unchecked = false;
    }
  }

  /** Operation, see {@link ArpOp}. */
  get op(): number {
    return u16(this.bytes, F.OP);
  }
  set op(v: number) {
    put16(this.bytes, F.OP, v);
  }
  /** Sender hardware address (zero-copy view). */
  get senderMac(): Uint8Array {
    return this.bytes.subarray(F.SENDER_MAC, F.SENDER_MAC + 6);
  }
  /** Sender IPv4 address. */
  get senderIp(): number {
    return u32(this.bytes, F.SENDER_IP);
  }
  set senderIp(v: number) {
    put32(this.bytes, F.SENDER_IP, v);
  }
  /** Target hardware address (zero-copy view). */
  get targetMac(): Uint8Array {
    return this.bytes.subarray(F.TARGET_MAC, F.TARGET_MAC + 6);
  }
  /** Target IPv4 address. */
  get targetIp(): number {
    return u32(this.bytes, F.TARGET_IP);
  }
  set targetIp(v: number) {
    put32(this.bytes, F.TARGET_IP, v);
  }
}

/** Parse an Ethernet/IPv4 ARP packet. Throws WireError "truncated", "unsupported", "bad-length". */
export function parseArp(bytes: Uint8Array): ArpRepr {
  checkArp(bytes);
  return {
    op: u16(bytes, F.OP),
    senderMac: bytes.slice(F.SENDER_MAC, F.SENDER_MAC + 6),
    senderIp: u32(bytes, F.SENDER_IP),
    targetMac: bytes.slice(F.TARGET_MAC, F.TARGET_MAC + 6),
    targetIp: u32(bytes, F.TARGET_IP),
  };
}

/** Length of `repr` on the wire: always {@link ARP_LEN}. */
export function arpLength(_repr: ArpRepr): number {
  return ARP_LEN;
}

/** Write `repr` into `buf` at offset 0 and return 28. Throws RangeError when `buf` is too small. */
export function emitArp(repr: ArpRepr, buf: Uint8Array): number {
  if (buf.length < ARP_LEN) throw new RangeError(`Buffer of ${buf.length} bytes < ${ARP_LEN}`);
  put16(buf, F.HTYPE, ARP_HTYPE_ETHERNET);
  put16(buf, F.PTYPE, ARP_PTYPE_IPV4);
  buf[F.HLEN] = 6;
  buf[F.PLEN] = 4;
  put16(buf, F.OP, repr.op);
  buf.set(repr.senderMac.subarray(0, 6), F.SENDER_MAC);
  put32(buf, F.SENDER_IP, repr.senderIp);
  buf.set(repr.targetMac.subarray(0, 6), F.TARGET_MAC);
  put32(buf, F.TARGET_IP, repr.targetIp);
  return ARP_LEN;
}

/** Encode `repr` into a new 28-byte buffer. */
export function encodeArp(repr: ArpRepr): Uint8Array {
  const buf = new Uint8Array(ARP_LEN);
  emitArp(repr, buf);
  return buf;
}
