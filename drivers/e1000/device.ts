/**
 * Intel 82540EM device model. It owns the register window and reads/writes descriptors and
 * buffers in the driver's DMA memory, exactly as far as the driver programmed it: legacy
 * descriptors, head/tail rings, 2048-byte receive buffers, interrupt causes RXT0/TXDW/LSC/RXO.
 * A frame arriving with no free receive descriptor is dropped and counted (RNBC, MPC,
 * "rx-no-descriptor"), never written over a descriptor the driver still owns. Transmit takes
 * legacy descriptors (with CSO/CSS checksum insertion) and extended ones: context descriptors
 * for TCP/UDP and IP checksum offload and TCP segmentation (TSE, up to 64 KiB per packet cut
 * at MSS), data descriptors that use them (offload.ts).
 */

import type { LinkPort } from "../link/port.ts";
import { DmaMemory } from "../hw/dma.ts";
import { Doorbell, InterruptLine } from "../hw/control.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { createResources, type DeviceResources } from "../hw/resources.ts";
import {
  countDrop,
  countRx,
  countTx,
  MIN_FRAME,
  newNicStats,
  type NicDevice,
  type NicStats,
} from "../hw/nic.ts";
import {
  CTRL,
  EEPROM_CHECKSUM,
  EEPROM_WORDS,
  EERD,
  INT,
  MMIO_SIZE,
  RAH_AV,
  RCTL,
  REG,
  STATUS,
  TCTL,
  WRITE_TABLE,
} from "./registers.ts";
import {
  completeRxDesc,
  DESC_SIZE,
  DTYP,
  readTxContext,
  RXD_STAT,
  TUCMD,
  type TxContext,
  TXD,
  TXD_CMD,
  TXD_DEXT,
  TXD_STA_DD,
} from "./descriptors.ts";
import { e1000Transmit, insertChecksum } from "./offload.ts";
import { ringNext } from "./rings.ts";

/** Receive buffer size selected by RCTL.BSIZE = 00. */
export const RX_BUFFER_SIZE = 2048;
/** Largest frame (no FCS) accepted without long-packet enable: 1514 + VLAN tag. */
const MAX_RX_FRAME = 1518;
/** Largest packet a TSO context may cover: 64 KiB of IP and its Ethernet header. */
const MAX_TX_PACKET = 14 + 65_535;

/** Options for {@link E1000Device}. */
export interface E1000DeviceOptions {
  /** Station address burnt into the EEPROM. */
  mac: Uint8Array;
  /** Guest memory given to the driver, bytes. Default 2 MiB. */
  dmaSize?: number;
  /** Carrier present at power-on. Default true. */
  linkUp?: boolean;
}

/** The EEPROM image: MAC in words 0-2 (little-endian bytes), checksum in word 0x3F. */
export function buildEeprom(mac: Uint8Array): Uint16Array {
  const words = new Uint16Array(EEPROM_WORDS);
  for (let i = 0; i < 3; i++) words[i] = mac[2 * i] | (mac[2 * i + 1] << 8);
  let sum = 0;
  for (let i = 0; i < EEPROM_WORDS - 1; i++) sum += words[i];
  words[EEPROM_WORDS - 1] = (EEPROM_CHECKSUM - sum) & 0xffff;
  return words;
}

/** The 82540EM model; see the module doc. */
export class E1000Device implements NicDevice {
  readonly resources: DeviceResources;
  readonly stats: NicStats = newNicStats();
  readonly #regs: MmioWindow;
  readonly #dma: DmaMemory;
  readonly #bell: Doorbell;
  readonly #irq: InterruptLine;
  readonly #eeprom: Uint16Array;
  readonly #port: LinkPort;
  #carrier: boolean;
  #txFrags: Uint8Array[] = [];
  /** The last context descriptor seen (SDM: it stays in force until the next one). */
  #txCtx: TxContext | undefined;

  /** Build the device, power it on and attach it to `port`. */
  constructor(port: LinkPort, opts: E1000DeviceOptions) {
    this.resources = createResources("e1000", MMIO_SIZE, opts.dmaSize ?? 2 << 20);
    const r = this.resources;
    this.#regs = new MmioWindow(r.mmio, r.control, WRITE_TABLE);
    this.#dma = new DmaMemory(r.dma);
    this.#bell = new Doorbell(r.control);
    this.#irq = new InterruptLine(r.control);
    this.#eeprom = buildEeprom(opts.mac);
    this.#carrier = opts.linkUp ?? true;
    this.#port = port;
    this.#reset();
    port.onFrame((f) => this.receive(f));
  }

  /** Handle register writes since the last call: reset, EEPROM reads, transmit. */
  service(): void {
    const seq = this.#bell.sequence;
    const regs = this.#regs;
    if (regs.read(REG.CTRL) & CTRL.RST) this.#reset();
    const eerd = regs.read(REG.EERD);
    if ((eerd & EERD.START) && !(eerd & EERD.DONE)) {
      const addr = (eerd >>> EERD.ADDR_SHIFT) & 0xff;
      const data = addr < EEPROM_WORDS ? this.#eeprom[addr] : 0;
      regs.poke(REG.EERD, (data << EERD.DATA_SHIFT) | (addr << EERD.ADDR_SHIFT) | EERD.DONE);
    }
    if (regs.read(REG.TCTL) & TCTL.EN) this.#transmit();
    if (regs.read(REG.ICR) & regs.read(REG.IMS)) this.#irq.raise();
    this.#bell.serviced(seq);
  }

  /** Change the carrier: updates STATUS.LU and raises LSC. */
  setLink(up: boolean): void {
    if (up === this.#carrier) return;
    this.#carrier = up;
    if (up) this.#regs.setBits(REG.STATUS, STATUS.LU);
    else this.#regs.clearBits(REG.STATUS, STATUS.LU);
    this.#cause(INT.LSC);
  }

  /** Take a frame from the link into the next free receive descriptor, or drop and count. */
  receive(frame: Uint8Array): void {
    const regs = this.#regs;
    if (!this.#carrier) return countDrop(this.stats, "rx-link-down");
    const rctl = regs.read(REG.RCTL);
    if (!(rctl & RCTL.EN)) return countDrop(this.stats, "rx-disabled");
    if (frame.length < 14) return countDrop(this.stats, "rx-runt");
    if (frame.length > MAX_RX_FRAME) return countDrop(this.stats, "rx-oversize");
    if (!this.#accepts(frame, rctl)) return countDrop(this.stats, "rx-filtered");
    const count = regs.read(REG.RDLEN) / DESC_SIZE;
    const head = regs.read(REG.RDH);
    const tail = regs.read(REG.RDT);
    if (!Number.isInteger(count) || count === 0 || head >= count || tail >= count) {
      return countDrop(this.stats, "rx-bad-ring");
    }
    if (head === tail) {
      regs.add(REG.RNBC, 1);
      regs.add(REG.MPC, 1);
      countDrop(this.stats, "rx-no-descriptor");
      return this.#cause(INT.RXO);
    }
    const desc = regs.read(REG.RDBAL) + head * DESC_SIZE;
    if (!this.#dma.contains(desc, DESC_SIZE)) return countDrop(this.stats, "rx-bad-descriptor");
    const buf = this.#dma.read64(desc);
    if (!this.#dma.contains(buf, RX_BUFFER_SIZE)) return countDrop(this.stats, "rx-bad-buffer");
    this.#dma.copyIn(buf, frame);
    completeRxDesc(this.#dma, desc, frame.length, RXD_STAT.DD | RXD_STAT.EOP);
    regs.poke(REG.RDH, ringNext(head, count));
    regs.add(REG.GPRC, 1);
    countRx(this.stats, frame.length);
    this.#cause(INT.RXT0);
  }

  #accepts(frame: Uint8Array, rctl: number): boolean {
    if (rctl & RCTL.UPE) return true;
    const broadcast = frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff &&
      frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff;
    if (broadcast) return (rctl & RCTL.BAM) !== 0;
    if (frame[0] & 1) {
      if (rctl & RCTL.MPE) return true;
      // Multicast offset 00: hash = destination bits 47:36.
      const hash = ((frame[4] >>> 4) | (frame[5] << 4)) & 0xfff;
      return (this.#regs.read(REG.MTA + (hash >>> 5) * 4) & (1 << (hash & 31))) !== 0;
    }
    const ral = this.#regs.read(REG.RAL0);
    const rah = this.#regs.read(REG.RAH0);
    if (!(rah & RAH_AV)) return false;
    const dst = frame[0] | (frame[1] << 8) | (frame[2] << 16) | (frame[3] << 24);
    return (dst >>> 0) === ral && (frame[4] | (frame[5] << 8)) === (rah & 0xffff);
  }

  #transmit(): void {
    const regs = this.#regs;
    const count = regs.read(REG.TDLEN) / DESC_SIZE;
    const tail = regs.read(REG.TDT);
    let head = regs.read(REG.TDH);
    if (!Number.isInteger(count) || count === 0 || head >= count || tail >= count) {
      if (head !== tail) countDrop(this.stats, "tx-bad-ring");
      return;
    }
    const base = regs.read(REG.TDBAL);
    let reported = false;
    while (head !== tail) {
      const desc = base + head * DESC_SIZE;
      if (!this.#dma.contains(desc, DESC_SIZE)) {
        countDrop(this.stats, "tx-bad-descriptor");
        break;
      }
      const cmd = this.#dma.bytes[desc + TXD.CMD];
      const dtyp = this.#dma.bytes[desc + 10] >>> 4;
      if (!(cmd & TXD_DEXT)) this.#gather(desc, false);
      else if (dtyp === DTYP.CONTEXT) this.#txCtx = readTxContext(this.#dma, desc);
      else if (dtyp === DTYP.DATA) this.#gather(desc, true);
      else {
        this.#txFrags = [];
        countDrop(this.stats, "tx-bad-descriptor-type");
      }
      if (cmd & TXD_CMD.RS) {
        this.#dma.store8(desc + TXD.STA, this.#dma.load8(desc + TXD.STA) | TXD_STA_DD);
        reported = true;
      }
      head = ringNext(head, count);
      regs.poke(REG.TDH, head);
    }
    if (reported) this.#cause(INT.TXDW);
  }

  /** Collect one (legacy or data) descriptor's buffer; on EOP put the packet on the link. */
  #gather(desc: number, ext: boolean): void {
    const dma = this.#dma;
    const addr = dma.read64(desc + TXD.ADDR);
    const len = ext ? dma.read32(desc + 8) & 0xfffff : dma.read16(desc + TXD.LENGTH);
    const cmd = dma.bytes[desc + TXD.CMD];
    if (!dma.contains(addr, len)) {
      this.#txFrags = [];
      return countDrop(this.stats, "tx-bad-buffer");
    }
    this.#txFrags.push(dma.copyOut(addr, len));
    if (!(cmd & TXD_CMD.EOP)) return;
    const frags = this.#txFrags;
    this.#txFrags = [];
    let total = 0;
    for (const f of frags) total += f.length;
    const pad = (this.#regs.read(REG.TCTL) & TCTL.PSP) !== 0 && total < MIN_FRAME;
    const frame = frags.length === 1 && !pad ? frags[0] : new Uint8Array(pad ? MIN_FRAME : total);
    if (frame !== frags[0]) {
      let at = 0;
      for (const f of frags) {
        frame.set(f, at);
        at += f.length;
      }
    }
    if (frame.length < 14 || frame.length > MAX_TX_PACKET) {
      return countDrop(this.stats, "tx-bad-length");
    }
    let frames: Uint8Array[];
    if (ext) {
      const tse = (cmd & TUCMD.TSE) !== 0;
      const r = e1000Transmit(frame, this.#txCtx, dma.bytes[desc + 13], tse);
      if ("drop" in r) return countDrop(this.stats, r.drop);
      frames = r.frames;
    } else {
      if (frame.length > MAX_RX_FRAME) return countDrop(this.stats, "tx-bad-length");
      const css = dma.bytes[desc + TXD.CSS];
      const cso = dma.bytes[desc + TXD.CSO];
      if (cmd & TXD_CMD.IC && !insertChecksum(frame, css, cso)) {
        return countDrop(this.stats, "tx-bad-checksum-offset");
      }
      frames = [frame];
    }
    if (!this.#carrier) return countDrop(this.stats, "tx-link-down");
    for (const f of frames) {
      countTx(this.stats, f.length);
      this.#regs.add(REG.GPTC, 1);
      this.#port.send(f);
    }
  }

  #cause(bits: number): void {
    this.#regs.setBits(REG.ICR, bits);
    if (this.#regs.read(REG.IMS) & bits) this.#irq.raise();
  }

  /** Power-on / CTRL.RST: registers to defaults, MAC auto-loaded from the EEPROM into RAL0/RAH0. */
  #reset(): void {
    const regs = this.#regs;
    regs.clearAll();
    this.#txFrags = [];
    this.#txCtx = undefined;
    const e = this.#eeprom;
    regs.poke(REG.RAL0, (e[0] | (e[1] << 16)) >>> 0);
    regs.poke(REG.RAH0, (e[2] | RAH_AV) >>> 0);
    regs.poke(REG.STATUS, STATUS.FD | STATUS.SPEED_1000 | (this.#carrier ? STATUS.LU : 0));
  }
}
