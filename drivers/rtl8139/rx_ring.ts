/**
 * The RTL8139's contiguous receive ring. Each packet is a 4-byte header (16-bit status, 16-bit
 * length including the 4-byte CRC) followed by the frame and its CRC, the next packet starting
 * at the following 4-byte boundary. Offsets run modulo {@link RX_RING}. With RCR.WRAP the chip
 * writes a packet that crosses the end contiguously into the slack after the ring; without it
 * the bytes wrap to the start. The driver reports its read offset through CAPR minus 16.
 */

import type { DmaMemory } from "../hw/dma.ts";
import { RX_RING } from "./registers.ts";

/** Bytes of the per-packet header. */
export const RX_HEADER = 4;
/** Bytes of the CRC the chip stores after each frame. */
export const CRC_LEN = 4;

/** Ring bytes a packet of `lenWithCrc` occupies, header and alignment included. */
export function packetSpan(lenWithCrc: number): number {
  return (RX_HEADER + lenWithCrc + 3) & ~3;
}

/** CAPR value for read offset `read` (the -16 quirk). */
export function caprFor(read: number): number {
  return (read - 16) & 0xffff;
}

/** Read offset encoded by CAPR. */
export function readFromCapr(capr: number): number {
  return ((capr + 16) & 0xffff) % RX_RING;
}

/** Bytes in use between `read` and `write`. */
export function ringUsed(read: number, write: number): number {
  return (write - read + RX_RING) % RX_RING;
}

/** Copy `data` into the ring at `offset`, contiguously (WRAP) or wrapping at the ring end. */
export function ringWrite(
  dma: DmaMemory,
  base: number,
  offset: number,
  data: Uint8Array,
  wrap: boolean,
): void {
  const first = wrap ? data.length : Math.min(data.length, RX_RING - offset);
  dma.copyIn(base + offset, first === data.length ? data : data.subarray(0, first));
  if (first < data.length) dma.copyIn(base, data.subarray(first));
}

/** Copy `len` bytes out of the ring at `offset`, honouring the same wrap mode. */
export function ringRead(
  dma: DmaMemory,
  base: number,
  offset: number,
  len: number,
  wrap: boolean,
): Uint8Array {
  if (wrap || offset + len <= RX_RING) return dma.copyOut(base + offset, len);
  const out = new Uint8Array(len);
  const first = RX_RING - offset;
  out.set(dma.bytes.subarray(base + offset, base + RX_RING), 0);
  out.set(dma.bytes.subarray(base, base + len - first), first);
  return out;
}
