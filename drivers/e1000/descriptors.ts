/**
 * 8254x legacy descriptors (8254x SDM §3.2.3 and §3.3.3), 16 bytes each, little-endian.
 *
 * Receive:                              Transmit:
 *   0  buffer address (64)                0  buffer address (64)
 *   8  length (16)                        8  length (16)
 *  10  packet checksum (16)              10  CSO (8)    11  CMD (8)
 *  12  status (8)   13  errors (8)       12  STA (8)    13  CSS (8)
 *  14  special (16)                      14  special (16)
 */

import type { DmaMemory } from "../hw/dma.ts";

/** Bytes per descriptor. */
export const DESC_SIZE = 16;

/** Receive descriptor field offsets. */
export const RXD = { ADDR: 0, LENGTH: 8, CSUM: 10, STATUS: 12, ERRORS: 13, SPECIAL: 14 } as const;
/** Receive status bits: descriptor done, end of packet. */
export const RXD_STAT = { DD: 1 << 0, EOP: 1 << 1 } as const;

/** Transmit descriptor field offsets. */
export const TXD = { ADDR: 0, LENGTH: 8, CSO: 10, CMD: 11, STA: 12, CSS: 13, SPECIAL: 14 } as const;
/** Transmit command bits: end of packet, insert FCS, insert checksum, report status. */
export const TXD_CMD = { EOP: 1 << 0, IFCS: 1 << 1, IC: 1 << 2, RS: 1 << 3 } as const;
/** Transmit status: descriptor done. */
export const TXD_STA_DD = 1 << 0;

/** Driver: hand an empty receive buffer to the device. */
export function writeRxDesc(dma: DmaMemory, desc: number, buffer: number): void {
  dma.write64(desc + RXD.ADDR, buffer);
  dma.write32(desc + RXD.LENGTH, 0);
  dma.write32(desc + RXD.STATUS, 0);
}

/** Device: write back a received packet's length and status. */
export function completeRxDesc(dma: DmaMemory, desc: number, length: number, status: number) {
  dma.write16(desc + RXD.LENGTH, length);
  dma.write16(desc + RXD.CSUM, 0);
  dma.bytes[desc + RXD.ERRORS] = 0;
  dma.write16(desc + RXD.SPECIAL, 0);
  dma.store8(desc + RXD.STATUS, status);
}

/** Driver: fill a transmit descriptor (status cleared). */
export function writeTxDesc(
  dma: DmaMemory,
  desc: number,
  buffer: number,
  len: number,
  cmd: number,
) {
  dma.write64(desc + TXD.ADDR, buffer);
  dma.write16(desc + TXD.LENGTH, len);
  dma.bytes[desc + TXD.CSO] = 0;
  dma.bytes[desc + TXD.CMD] = cmd;
  dma.bytes[desc + TXD.STA] = 0;
  dma.bytes[desc + TXD.CSS] = 0;
  dma.write16(desc + TXD.SPECIAL, 0);
}
