/**
 * TCP segments out of captured Ethernet frames, for the time-sequence (Stevens) graph: who sent
 * it, sequence and acknowledgement numbers, payload length, SACK blocks. A pure function over
 * bytes that reads only headers, so frames cut short still count. Anything that is not TCP over
 * IPv4 or IPv6 (without extension headers) gives undefined.
 */
import { formatIPv4, formatIPv6 } from "../../netstack/wire/addr.ts";
import { parseTcpOptions } from "../../netstack/wire/tcp.ts";

/** One TCP segment seen on a link. */
export interface Segment {
  /** "10.0.0.1:5001" style endpoints ("[fd00::1]:80" for IPv6 is written without brackets). */
  src: string;
  dst: string;
  seq: number;
  ack: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16). */
  flags: number;
  /** Payload bytes. */
  len: number;
  win: number;
  /** SACK blocks [left, right). */
  sack?: Array<[number, number]>;
}

const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number) =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** The TCP segment in `frame` (an Ethernet II frame, possibly cut short), if any. */
export function tcpSegment(frame: Uint8Array): Segment | undefined {
  if (frame.length < 14) return undefined;
  const type = u16(frame, 12);
  const ip = 14;
  let l4: number, payloadEnd: number, src: string, dst: string;
  if (type === 0x0800) {
    if (frame.length < ip + 20 || frame[ip] >> 4 !== 4 || frame[ip + 9] !== 6) return undefined;
    if ((u16(frame, ip + 6) & 0x1fff) !== 0) return undefined; // a later fragment
    l4 = ip + (frame[ip] & 15) * 4;
    payloadEnd = ip + u16(frame, ip + 2);
    src = formatIPv4(u32(frame, ip + 12));
    dst = formatIPv4(u32(frame, ip + 16));
  } else if (type === 0x86dd) {
    if (frame.length < ip + 40 || frame[ip + 6] !== 6) return undefined;
    l4 = ip + 40;
    payloadEnd = l4 + u16(frame, ip + 4);
    src = formatIPv6(frame.subarray(ip + 8, ip + 24));
    dst = formatIPv6(frame.subarray(ip + 24, ip + 40));
  } else return undefined;
  if (frame.length < l4 + 20) return undefined;
  const doff = (frame[l4 + 12] >> 4) * 4;
  if (doff < 20) return undefined;
  const seg: Segment = {
    src: `${src}:${u16(frame, l4)}`,
    dst: `${dst}:${u16(frame, l4 + 2)}`,
    seq: u32(frame, l4 + 4),
    ack: u32(frame, l4 + 8),
    flags: frame[l4 + 13],
    len: Math.max(0, payloadEnd - l4 - doff),
    win: u16(frame, l4 + 14),
  };
  if (doff > 20 && frame.length >= l4 + doff) {
    try {
      const opts = parseTcpOptions(frame.subarray(l4 + 20, l4 + doff));
      if (opts.sack?.length) seg.sack = opts.sack;
    } catch {
      // malformed options: the segment still counts, without SACK
    }
  }
  return seg;
}
