/**
 * Test fixtures: TCP frames over IPv4 and IPv6 with valid checksums (super-segments when the
 * payload exceeds one MSS), and a checker that recomputes every IP and TCP checksum.
 */
import {
  checksum,
  pseudoHeaderSum4,
  pseudoHeaderSum6,
  verifies,
} from "../../netstack/wire/checksum.ts";

/** Station addresses the fixtures use (B receives). */
export const TCP_MAC_A = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const TCP_MAC_B = new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

/** Options for {@link tcpFrame}. */
export interface TcpFrameOptions {
  /** TCP flags (default ACK|PSH). */
  flags?: number;
  /** Sequence number (default 1000). */
  seq?: number;
  /** Bytes of TCP options (a multiple of 4, NOP-filled; default 12 like timestamps). */
  optionBytes?: number;
  /** Destination MAC (default {@link TCP_MAC_B}). */
  dst?: Uint8Array;
}

/** A TCP frame from A to B carrying `payload` pattern bytes, checksums valid. */
export function tcpFrame(v: 4 | 6, payload: number, o: TcpFrameOptions = {}): Uint8Array {
  const ip = v === 4 ? 20 : 40;
  const opt = o.optionBytes ?? 12;
  const tcpLen = 20 + opt + payload;
  const f = new Uint8Array(14 + ip + tcpLen);
  const d = new DataView(f.buffer);
  f.set(o.dst ?? TCP_MAC_B, 0);
  f.set(TCP_MAC_A, 6);
  d.setUint16(12, v === 4 ? 0x0800 : 0x86dd);
  if (v === 4) {
    d.setUint8(14, 0x45);
    d.setUint16(16, ip + tcpLen);
    d.setUint16(18, 0x1234);
    d.setUint16(20, 0x4000); // DF
    d.setUint8(22, 64);
    d.setUint8(23, 6);
    d.setUint32(26, 0x0a000001);
    d.setUint32(30, 0x0a000002);
    d.setUint16(24, checksum(f.subarray(14, 34)));
  } else {
    d.setUint32(14, 0x60000000);
    d.setUint16(18, tcpLen);
    d.setUint8(20, 6);
    d.setUint8(21, 64);
    f.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 22);
    f.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 38);
  }
  const t = 14 + ip;
  d.setUint16(t, 40000);
  d.setUint16(t + 2, 5001);
  d.setUint32(t + 4, o.seq ?? 1000);
  d.setUint32(t + 8, 77);
  d.setUint8(t + 12, ((20 + opt) / 4) << 4);
  d.setUint8(t + 13, o.flags ?? 0x18);
  d.setUint16(t + 14, 65535);
  f.fill(1, t + 20, t + 20 + opt); // NOPs, ending in a timestamp option when there is room
  if (opt >= 12) f.set([8, 10, 0, 0, 0, 1, 0, 0, 0, 2], t + 20 + opt - 10);
  for (let i = 0; i < payload; i++) f[t + 20 + opt + i] = (i * 7 + (i >> 8)) & 0xff;
  d.setUint16(t + 16, checksum(f.subarray(t), pseudo(f, v, tcpLen)));
  return f;
}

function pseudo(f: Uint8Array, v: 4 | 6, tcpLen: number): number {
  const d = new DataView(f.buffer, f.byteOffset);
  return v === 4
    ? pseudoHeaderSum4(d.getUint32(26), d.getUint32(30), 6, tcpLen)
    : pseudoHeaderSum6(f.subarray(22, 38), f.subarray(38, 54), 6, tcpLen);
}

/** True when the frame's IPv4 header checksum (if any) and TCP checksum both verify. */
export function tcpChecksumsValid(f: Uint8Array): boolean {
  const v = f[12] === 0x08 ? 4 : 6;
  const ip = v === 4 ? (f[14] & 0xf) * 4 : 40;
  if (v === 4 && !verifies(f.subarray(14, 14 + ip))) return false;
  return verifies(f.subarray(14 + ip), pseudo(f, v, f.length - 14 - ip));
}

/** The TCP payload of a frame from {@link tcpFrame}. */
export function tcpPayload(f: Uint8Array): Uint8Array {
  const ip = f[12] === 0x08 ? (f[14] & 0xf) * 4 : 40;
  return f.subarray(14 + ip + (f[14 + ip + 12] >> 4) * 4);
}
