/**
 * Software GSO, as Linux's `tcp_gso_segment` does it when a super-segment must reach a device
 * or peer that cannot take one (a NIC without TSO, a guest without GUEST_TSO, a pcap file).
 *
 * On a cable, a frame whose IP packet is longer than the link MTU is a TCP super-segment with
 * a valid checksum over the whole (what the netstack's TSO and a TAP's GRO both hand over).
 * {@link segmentTcp} cuts it into frames of at most `mss` payload bytes: sequence numbers
 * advance, IPv4 ids count up from the first, FIN and PSH stay on the last segment only, CWR on
 * the first only, and every IP and TCP checksum is computed afresh.
 */
import { checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from "../../netstack/wire/checksum.ts";
import type { LinkPort } from "./port.ts";

const ETH = 14;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

/** Where the headers of a TCP frame are. */
export interface TcpFrameLayout {
  /** 4 or 6. */
  ipVersion: 4 | 6;
  /** Offset of the TCP header. */
  tcp: number;
  /** TCP header length. */
  tcpHdrLen: number;
  /** Bytes of Ethernet + IP + TCP headers (virtio's `hdr_len`). */
  hdrLen: number;
}

/**
 * The layout of a TCP frame over IPv4 (unfragmented) or IPv6 (no extension headers) whose IP
 * length matches the frame, or undefined for anything else.
 */
export function tcpFrameLayout(f: Uint8Array): TcpFrameLayout | undefined {
  if (f.length < ETH + 40) return undefined;
  const type = (f[12] << 8) | f[13];
  let tcp: number;
  let ipVersion: 4 | 6;
  if (type === 0x0800) {
    const ihl = (f[ETH] & 0x0f) * 4;
    if ((f[ETH] >> 4) !== 4 || ihl < 20 || f[ETH + 9] !== 6) return undefined;
    if ((f[ETH + 6] & 0x3f) !== 0 || f[ETH + 7] !== 0) return undefined; // MF or offset
    const total = (f[ETH + 2] << 8) | f[ETH + 3];
    // A super-segment of more than 64 KiB has IP total length 0 (Linux's BIG TCP): not here.
    if (total !== f.length - ETH) return undefined;
    tcp = ETH + ihl;
    ipVersion = 4;
  } else if (type === 0x86dd) {
    if ((f[ETH] >> 4) !== 6 || f[ETH + 6] !== 6) return undefined;
    if (((f[ETH + 4] << 8) | f[ETH + 5]) !== f.length - ETH - 40) return undefined;
    tcp = ETH + 40;
    ipVersion = 6;
  } else return undefined;
  if (tcp + 20 > f.length) return undefined;
  const tcpHdrLen = (f[tcp + 12] >> 4) * 4;
  if (tcpHdrLen < 20 || tcp + tcpHdrLen > f.length) return undefined;
  return { ipVersion, tcp, tcpHdrLen, hdrLen: tcp + tcpHdrLen };
}

/** Recompute the TCP checksum of a TCP frame with layout `l`, in place. */
export function fillTcpChecksum(f: Uint8Array, l: TcpFrameLayout): void {
  const tcpLen = f.length - l.tcp;
  f[l.tcp + 16] = f[l.tcp + 17] = 0;
  const pseudo = l.ipVersion === 4
    ? pseudoHeaderSum4(_u32(f, ETH + 12), _u32(f, ETH + 16), 6, tcpLen)
    : pseudoHeaderSum6(f.subarray(ETH + 8, ETH + 24), f.subarray(ETH + 24, ETH + 40), 6, tcpLen);
  const c = checksum(f.subarray(l.tcp), pseudo);
  f[l.tcp + 16] = c >>> 8;
  f[l.tcp + 17] = c & 0xff;
}

/**
 * Cut TCP super-segment `f` (layout `l`) into frames carrying at most `mss` payload bytes each,
 * with headers and checksums as Linux's GSO writes them. Returns `[f]` unchanged when it
 * already fits. `mss` must be positive.
 */
export function segmentTcp(f: Uint8Array, l: TcpFrameLayout, mss: number): Uint8Array[] {
  const payload = f.length - l.hdrLen;
  if (payload <= mss) return [f];
  const out: Uint8Array[] = [];
  const seq0 = _u32(f, l.tcp + 4);
  const id0 = l.ipVersion === 4 ? (f[ETH + 4] << 8) | f[ETH + 5] : 0;
  const flags = f[l.tcp + 13];
  for (let at = 0, n = 0; at < payload; at += mss, n++) {
    const len = Math.min(mss, payload - at);
    const s = new Uint8Array(l.hdrLen + len);
    s.set(f.subarray(0, l.hdrLen));
    s.set(f.subarray(l.hdrLen + at, l.hdrLen + at + len), l.hdrLen);
    const last = at + len === payload;
    let fl = flags;
    if (!last) fl &= ~(TCP_FIN | TCP_PSH);
    if (n > 0) fl &= ~TCP_CWR;
    s[l.tcp + 13] = fl;
    _setU32(s, l.tcp + 4, (seq0 + at) >>> 0);
    if (l.ipVersion === 4) {
      const ihl = l.tcp - ETH;
      _setU16(s, ETH + 2, s.length - ETH);
      _setU16(s, ETH + 4, (id0 + n) & 0xffff);
      _setU16(s, ETH + 10, 0);
      _setU16(s, ETH + 10, checksum(s.subarray(ETH, ETH + ihl)));
    } else _setU16(s, ETH + 4, s.length - ETH - 40);
    fillTcpChecksum(s, l);
    out.push(s);
  }
  return out;
}

/**
 * Frames fit for a link of `mtu` (IP bytes per frame): a TCP super-segment longer than that is
 * segmented at `mtu` minus its headers; anything else passes as it is (the receiver's length
 * checks decide about it).
 */
export function framesForMtu(f: Uint8Array, mtu: number): Uint8Array[] {
  if (f.length - ETH <= mtu) return [f];
  const l = tcpFrameLayout(f);
  if (!l) return [f];
  const mss = mtu - (l.hdrLen - ETH);
  return mss > 0 ? segmentTcp(f, l, mss) : [f];
}

/**
 * Wrap `port` so that what is sent on it leaves as frames of at most `mtu` IP bytes (software
 * GSO in front of a peer that takes no super-segments). Frames arriving pass through.
 */
export function segmentingPort(port: LinkPort, mtu: number): LinkPort {
  return {
    send(frame) {
      if (frame.length - ETH <= mtu) return port.send(frame);
      for (const s of framesForMtu(frame, mtu)) port.send(s);
    },
    onFrame: (h) => port.onFrame(h),
    onBurstEnd: port.onBurstEnd ? (cb) => port.onBurstEnd!(cb) : undefined,
    linkDrops: port.linkDrops ? () => port.linkDrops!() : undefined,
    close: () => port.close(),
  };
}

function _u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function _setU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function _setU16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}
