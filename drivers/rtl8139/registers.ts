/**
 * Realtek RTL8139(C) register offsets and bits, from the RTL8139C(L) datasheet §6. Registers are
 * 8, 16 or 32 bits wide at their byte offsets; {@link WIDTH} notes the odd ones.
 */

import type { RegisterTable, WriteEffect } from "../hw/mmio.ts";

/** Register byte offsets in the I/O window. */
export const REG = {
  /** Station address, 6 bytes (8-bit registers), loaded from the 93C46 at reset. */
  IDR0: 0x00,
  /** Multicast hash, 8 bytes. */
  MAR0: 0x08,
  /** Transmit status of descriptors 0-3 (32-bit each, 4 apart). */
  TSD0: 0x10,
  /** Transmit start addresses of descriptors 0-3 (32-bit each, 4 apart). */
  TSAD0: 0x20,
  RBSTART: 0x30,
  /** Command register (8-bit). */
  CR: 0x37,
  /** Current Address of Packet Read (16-bit), kept 16 below the real read offset. */
  CAPR: 0x38,
  /** Current Buffer Address: the device's write offset (16-bit). */
  CBR: 0x3a,
  /** Interrupt mask (16-bit). */
  IMR: 0x3c,
  /** Interrupt status (16-bit, write 1 to clear). */
  ISR: 0x3e,
  TCR: 0x40,
  RCR: 0x44,
  /** Missed packet counter (24-bit; any write resets it). */
  MPC: 0x4c,
  CONFIG1: 0x52,
  /** Media status (8-bit). */
  MSR: 0x58,
  /** PHY basic mode status (16-bit). */
  BMSR: 0x64,
} as const;

/** Size of the register window. */
export const MMIO_SIZE = 0x100;

/** Command register bits. BUFE = receive buffer empty (read-only). */
export const CR = { BUFE: 1 << 0, TE: 1 << 2, RE: 1 << 3, RST: 1 << 4 } as const;

/** Interrupt bits shared by IMR and ISR. */
export const INT = {
  ROK: 1 << 0,
  RER: 1 << 1,
  TOK: 1 << 2,
  TER: 1 << 3,
  RXOVW: 1 << 4,
  LINK_CHG: 1 << 5,
} as const;

/** Transmit status bits; SIZE is bits 12:0, ERTXTH (early TX threshold, 32-byte units) 21:16. */
export const TSD = {
  SIZE_MASK: 0x1fff,
  OWN: 1 << 13,
  TUN: 1 << 14,
  TOK: 1 << 15,
  ERTXTH_SHIFT: 16,
  TABT: 1 << 30,
} as const;

/** Receive configuration bits. RBLEN 00 selects the 8K + 16 ring. */
export const RCR = {
  AAP: 1 << 0,
  APM: 1 << 1,
  AM: 1 << 2,
  AB: 1 << 3,
  WRAP: 1 << 7,
  MXDMA_UNLIMITED: 7 << 8,
  RBLEN_8K: 0 << 11,
} as const;

/** Receive packet header status bits. */
export const RX_STATUS = { ROK: 1 << 0, BAR: 1 << 13, PAM: 1 << 14, MAR: 1 << 15 } as const;

/** Media status: LINKB is 1 while the link is down. */
export const MSR_LINKB = 1 << 2;
/** BMSR: link status. */
export const BMSR_LINK = 1 << 2;

/** Receive ring length selected by RBLEN 00. */
export const RX_RING = 8192;
/** Bytes the driver must allocate for the ring: 8K + 16 guard + room for one spilled frame. */
export const RX_ALLOC = RX_RING + 16 + 1536 + 16;
/** Largest frame the chip transmits (TSD SIZE limit). */
export const TX_MAX = 1792;
/** Number of transmit descriptors. */
export const TX_SLOTS = 4;

const w1c: WriteEffect = { kind: "w1c" };

/** Write semantics: ISR bits clear when 1 is written. */
export const WRITE_TABLE: RegisterTable = new Map<number, WriteEffect>([[REG.ISR, w1c]]);
