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

/**
 * Extended transmit descriptors (8254x SDM §3.3.5–3.3.7): CMD bit 5 (DEXT) set, the type in
 * the high nibble of byte 10. A context descriptor (type 0) sets up checksum offload and TCP
 * segmentation for the data descriptors (type 1) that follow:
 *
 * Context:                                  Data:
 *   0 IPCSS  1 IPCSO  2 IPCSE (16)            0  buffer address (64)
 *   4 TUCSS  5 TUCSO  6 TUCSE (16)            8  DTALEN (20 bits) | DTYP (4) | DCMD (8)
 *   8 PAYLEN (20 bits) | DTYP (4) | TUCMD (8) 12 STA (8)  13 POPTS (8)
 *  12 STA (8)  13 HDRLEN (8)  14 MSS (16)     14 special (16)
 */
export const TXD_DEXT = 1 << 5;
/** Extended descriptor types. */
export const DTYP = { CONTEXT: 0, DATA: 1 } as const;
/** Context descriptor field offsets. */
export const TXC = {
  IPCSS: 0,
  IPCSO: 1,
  IPCSE: 2,
  TUCSS: 4,
  TUCSO: 5,
  TUCSE: 6,
  PAYLEN: 8,
  TUCMD: 11,
  HDRLEN: 13,
  MSS: 14,
} as const;
/** TUCMD (context) / DCMD (data) bits beyond the legacy ones: TCP (vs UDP), IPv4, TSE. */
export const TUCMD = { TCP: 1 << 0, IP: 1 << 1, TSE: 1 << 2 } as const;
/** Data descriptor POPTS: insert the IP checksum, insert the TCP/UDP checksum. */
export const POPTS = { IXSM: 1 << 0, TXSM: 1 << 1 } as const;

/** What a context descriptor set up. */
export interface TxContext {
  ipcss: number;
  ipcso: number;
  ipcse: number;
  tucss: number;
  tucso: number;
  tucse: number;
  paylen: number;
  tucmd: number;
  hdrLen: number;
  mss: number;
}

/** Device: read a context descriptor. */
export function readTxContext(dma: DmaMemory, desc: number): TxContext {
  const b = dma.bytes;
  return {
    ipcss: b[desc + TXC.IPCSS],
    ipcso: b[desc + TXC.IPCSO],
    ipcse: dma.read16(desc + TXC.IPCSE),
    tucss: b[desc + TXC.TUCSS],
    tucso: b[desc + TXC.TUCSO],
    tucse: dma.read16(desc + TXC.TUCSE),
    paylen: dma.read32(desc + TXC.PAYLEN) & 0xfffff,
    tucmd: b[desc + TXC.TUCMD],
    hdrLen: b[desc + TXC.HDRLEN],
    mss: dma.read16(desc + TXC.MSS),
  };
}

/** Driver: write a context descriptor (RS set, so it is reported done like the others). */
export function writeTxContext(dma: DmaMemory, desc: number, c: TxContext): void {
  const b = dma.bytes;
  b[desc + TXC.IPCSS] = c.ipcss;
  b[desc + TXC.IPCSO] = c.ipcso;
  dma.write16(desc + TXC.IPCSE, c.ipcse);
  b[desc + TXC.TUCSS] = c.tucss;
  b[desc + TXC.TUCSO] = c.tucso;
  dma.write16(desc + TXC.TUCSE, c.tucse);
  dma.write32(desc + TXC.PAYLEN, (c.paylen & 0xfffff) | (DTYP.CONTEXT << 20));
  b[desc + TXC.TUCMD] = c.tucmd | TXD_DEXT | TXD_CMD.RS;
  b[desc + TXD.STA] = 0;
  b[desc + TXC.HDRLEN] = c.hdrLen;
  dma.write16(desc + TXC.MSS, c.mss);
}

/** Driver: write a data descriptor (`dcmd` beyond DEXT, e.g. EOP | IFCS | RS | TSE). */
export function writeTxData(
  dma: DmaMemory,
  desc: number,
  buffer: number,
  len: number,
  dcmd: number,
  popts: number,
): void {
  dma.write64(desc + TXD.ADDR, buffer);
  dma.write32(desc + 8, (len & 0xfffff) | (DTYP.DATA << 20));
  dma.bytes[desc + TXD.CMD] = dcmd | TXD_DEXT;
  dma.bytes[desc + TXD.STA] = 0;
  dma.bytes[desc + 13] = popts;
  dma.write16(desc + TXD.SPECIAL, 0);
}
