/**
 * Intel 82540EM (8254x family) register offsets and bits, from the "PCI/PCI-X Family of Gigabit
 * Ethernet Controllers Software Developer's Manual" (8254x SDM) §13. Only what the model uses.
 */

import type { RegisterTable, WriteEffect } from "../hw/mmio.ts";

/** Register byte offsets in BAR0. */
export const REG = {
  CTRL: 0x0000,
  STATUS: 0x0008,
  EECD: 0x0010,
  EERD: 0x0014,
  ICR: 0x00c0,
  ICS: 0x00c8,
  IMS: 0x00d0,
  IMC: 0x00d8,
  RCTL: 0x0100,
  TCTL: 0x0400,
  TIPG: 0x0410,
  RDBAL: 0x2800,
  RDBAH: 0x2804,
  RDLEN: 0x2808,
  RDH: 0x2810,
  RDT: 0x2818,
  TDBAL: 0x3800,
  TDBAH: 0x3804,
  TDLEN: 0x3808,
  TDH: 0x3810,
  TDT: 0x3818,
  /** Missed Packets Count (read-to-clear). */
  MPC: 0x4010,
  /** Good Packets Received Count (read-to-clear). */
  GPRC: 0x4074,
  /** Good Packets Transmitted Count (read-to-clear). */
  GPTC: 0x4080,
  /** Receive No Buffers Count (read-to-clear). */
  RNBC: 0x40a0,
  /** Multicast Table Array, 128 dwords. */
  MTA: 0x5200,
  RAL0: 0x5400,
  RAH0: 0x5404,
} as const;

/** Size of the register window (BAR0 of the 82540EM). */
export const MMIO_SIZE = 0x20000;

/** Device Control bits. */
export const CTRL = { FD: 1 << 0, LRST: 1 << 3, ASDE: 1 << 5, SLU: 1 << 6, RST: 1 << 26 } as const;

/** Device Status bits (LU = link up; SPEED_1000 = 0b10 in bits 7:6). */
export const STATUS = { FD: 1 << 0, LU: 1 << 1, SPEED_1000: 2 << 6 } as const;

/** EEPROM Read register fields (82540EM layout: address in 15:8, data in 31:16). */
export const EERD = { START: 1 << 0, DONE: 1 << 4, ADDR_SHIFT: 8, DATA_SHIFT: 16 } as const;

/** Interrupt cause bits, shared by ICR, ICS, IMS and IMC. */
export const INT = {
  TXDW: 1 << 0,
  TXQE: 1 << 1,
  LSC: 1 << 2,
  RXDMT0: 1 << 4,
  RXO: 1 << 6,
  RXT0: 1 << 7,
} as const;

/** Receive Control bits. BSIZE 00 with BSEX 0 means 2048-byte buffers. */
export const RCTL = {
  EN: 1 << 1,
  SBP: 1 << 2,
  UPE: 1 << 3,
  MPE: 1 << 4,
  LPE: 1 << 5,
  BAM: 1 << 15,
  BSIZE_2048: 0 << 16,
  SECRC: 1 << 26,
} as const;

/** Transmit Control bits and the recommended collision fields. */
export const TCTL = {
  EN: 1 << 1,
  PSP: 1 << 3,
  CT_SHIFT: 4,
  COLD_SHIFT: 12,
} as const;

/** Receive Address High: Address Valid. */
export const RAH_AV = 1 << 31;

/** EEPROM words 0-2 hold the MAC; words 0x00-0x3F sum to this. */
export const EEPROM_CHECKSUM = 0xbaba;
/** Number of EEPROM words modeled. */
export const EEPROM_WORDS = 64;

const set = (target: number): WriteEffect => ({ kind: "set", target });
const clear = (target: number): WriteEffect => ({ kind: "clear", target });

/**
 * Write semantics: ICR is write-1-to-clear (and read-to-clear via `readClear`), ICS sets causes
 * in ICR, IMS sets and IMC clears bits of the mask (stored at IMS).
 */
export const WRITE_TABLE: RegisterTable = new Map<number, WriteEffect>([
  [REG.ICR, { kind: "w1c" }],
  [REG.ICS, set(REG.ICR)],
  [REG.IMS, set(REG.IMS)],
  [REG.IMC, clear(REG.IMS)],
]);
