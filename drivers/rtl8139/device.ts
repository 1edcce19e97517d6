/**
 * RTL8139 device model: one contiguous 8K + 16 receive ring written at CBR and freed by the
 * driver through CAPR, four transmit descriptors (TSAD/TSD with OWN and TOK), ISR/IMR
 * interrupts (ROK, TOK, RXOVW, LinkChg) and CR reset/enable bits. A frame that does not fit
 * in the ring is dropped and counted (MPC, RXOVW, "rx-overflow"), never written over unread data.
 */

import type { LinkPort } from "../link/port.ts";
import { DmaMemory } from "../hw/dma.ts";
import { Doorbell, InterruptLine } from "../hw/control.ts";
import { fcs } from "../hw/fcs.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { createResources, type DeviceResources } from "../hw/resources.ts";
import {
  countDrop,
  countRx,
  countTx,
  newNicStats,
  type NicDevice,
  type NicStats,
} from "../hw/nic.ts";
import {
  BMSR_LINK,
  CR,
  INT,
  MMIO_SIZE,
  MSR_LINKB,
  RCR,
  REG,
  RX_ALLOC,
  RX_RING,
  RX_STATUS,
  TSD,
  TX_MAX,
  TX_SLOTS,
  WRITE_TABLE,
} from "./registers.ts";
import { CRC_LEN, packetSpan, readFromCapr, ringUsed, ringWrite, RX_HEADER } from "./rx_ring.ts";

/** Largest received frame without CRC (1514 + VLAN tag). */
const MAX_RX_FRAME = 1518;

/** Options for {@link Rtl8139Device}. */
export interface Rtl8139DeviceOptions {
  /** Station address in the 93C46 EEPROM, loaded into IDR0-5 at reset. */
  mac: Uint8Array;
  /** Guest memory given to the driver, bytes. Default 64 KiB. */
  dmaSize?: number;
  /** Carrier present at power-on. Default true. */
  linkUp?: boolean;
}

/** The RTL8139 model; see the module doc. */
export class Rtl8139Device implements NicDevice {
  readonly resources: DeviceResources;
  readonly stats: NicStats = newNicStats();
  readonly #regs: MmioWindow;
  readonly #dma: DmaMemory;
  readonly #bell: Doorbell;
  readonly #irq: InterruptLine;
  readonly #mac: Uint8Array;
  readonly #port: LinkPort;
  #carrier: boolean;
  /** Next transmit descriptor the chip will look at (round robin). */
  #txNext = 0;

  /** Build the device, power it on and attach it to `port`. */
  constructor(port: LinkPort, opts: Rtl8139DeviceOptions) {
    this.resources = createResources("rtl8139", MMIO_SIZE, opts.dmaSize ?? 64 << 10);
    const r = this.resources;
    this.#regs = new MmioWindow(r.mmio, r.control, WRITE_TABLE);
    this.#dma = new DmaMemory(r.dma);
    this.#bell = new Doorbell(r.control);
    this.#irq = new InterruptLine(r.control);
    this.#mac = opts.mac.slice(0, 6);
    this.#carrier = opts.linkUp ?? true;
    this.#port = port;
    this.#reset();
    port.onFrame((f) => this.receive(f));
  }

  /** Handle register writes since the last call: reset, transmit, BUFE, interrupt level. */
  service(): void {
    const seq = this.#bell.sequence;
    const regs = this.#regs;
    const cr = regs.read(REG.CR, 1);
    if (cr & CR.RST) this.#reset();
    else if (cr & CR.TE) this.#transmit();
    this.#updateBufe();
    if (regs.read(REG.ISR, 2) & regs.read(REG.IMR, 2)) this.#irq.raise();
    this.#bell.serviced(seq);
  }

  /** Change the carrier: updates MSR/BMSR and raises LinkChg. */
  setLink(up: boolean): void {
    if (up === this.#carrier) return;
    this.#carrier = up;
    this.#linkRegisters();
    this.#cause(INT.LINK_CHG);
  }

  /** Write a frame from the link into the receive ring, or drop and count. */
  receive(frame: Uint8Array): void {
    const regs = this.#regs;
    if (!this.#carrier) return countDrop(this.stats, "rx-link-down");
    if (!(regs.read(REG.CR, 1) & CR.RE)) return countDrop(this.stats, "rx-disabled");
    if (frame.length < 14) return countDrop(this.stats, "rx-runt");
    if (frame.length > MAX_RX_FRAME) return countDrop(this.stats, "rx-oversize");
    const rcr = regs.read(REG.RCR);
    const match = this.#match(frame, rcr);
    if (match < 0) return countDrop(this.stats, "rx-filtered");
    const base = regs.read(REG.RBSTART);
    const wrap = (rcr & RCR.WRAP) !== 0;
    if (!this.#dma.contains(base, wrap ? RX_ALLOC : RX_RING)) {
      return countDrop(this.stats, "rx-bad-buffer");
    }
    const write = regs.read(REG.CBR, 2) % RX_RING;
    const read = readFromCapr(regs.read(REG.CAPR, 2));
    const lenWithCrc = frame.length + CRC_LEN;
    const span = packetSpan(lenWithCrc);
    if (span >= RX_RING - ringUsed(read, write)) {
      regs.add(REG.MPC, 1);
      countDrop(this.stats, "rx-overflow");
      return this.#cause(INT.RXOVW);
    }
    const packet = new Uint8Array(RX_HEADER + lenWithCrc);
    const view = new DataView(packet.buffer);
    view.setUint16(0, RX_STATUS.ROK | match, true);
    view.setUint16(2, lenWithCrc, true);
    packet.set(frame, RX_HEADER);
    view.setUint32(RX_HEADER + frame.length, fcs(frame), true);
    ringWrite(this.#dma, base, write, packet, wrap);
    regs.poke(REG.CBR, (write + span) % RX_RING, 2);
    regs.clearBits(REG.CR, CR.BUFE, 1);
    countRx(this.stats, frame.length);
    this.#cause(INT.ROK);
  }

  /** The header's address-match bit, or -1 when the filter rejects the frame. */
  #match(frame: Uint8Array, rcr: number): number {
    const broadcast = frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff &&
      frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff;
    if (broadcast) return rcr & (RCR.AB | RCR.AAP) ? RX_STATUS.BAR : -1;
    // The MAR hash filter is not modeled: AM accepts every multicast group.
    if (frame[0] & 1) return rcr & (RCR.AM | RCR.AAP) ? RX_STATUS.MAR : -1;
    let mine = true;
    for (let i = 0; i < 6; i++) mine &&= frame[i] === this.#regs.read(REG.IDR0 + i, 1);
    if (mine && rcr & RCR.APM) return RX_STATUS.PAM;
    return rcr & RCR.AAP ? 0 : -1;
  }

  /** Send every descriptor the driver released (OWN = 0), in round-robin order. */
  #transmit(): void {
    const regs = this.#regs;
    let done = 0;
    for (let n = 0; n < TX_SLOTS; n++) {
      const tsdReg = REG.TSD0 + 4 * this.#txNext;
      const tsd = regs.read(tsdReg);
      if (tsd & TSD.OWN) break;
      const size = tsd & TSD.SIZE_MASK;
      const addr = regs.read(REG.TSAD0 + 4 * this.#txNext);
      this.#txNext = (this.#txNext + 1) % TX_SLOTS;
      if (size < 14 || size > TX_MAX || !this.#dma.contains(addr, size)) {
        countDrop(this.stats, "tx-bad-descriptor");
        regs.poke(tsdReg, (tsd | TSD.OWN | TSD.TABT) >>> 0);
        this.#cause(INT.TER);
        continue;
      }
      const frame = this.#dma.copyOut(addr, size);
      // The frame is in the FIFO and goes out whole: OWN and TOK before the wire delivers it.
      regs.poke(tsdReg, (tsd | TSD.OWN | TSD.TOK) >>> 0);
      done++;
      if (this.#carrier) {
        countTx(this.stats, size);
        this.#port.send(frame);
      } else countDrop(this.stats, "tx-link-down");
    }
    if (done) this.#cause(INT.TOK);
  }

  #updateBufe(): void {
    const read = readFromCapr(this.#regs.read(REG.CAPR, 2));
    if (read === this.#regs.read(REG.CBR, 2) % RX_RING) this.#regs.setBits(REG.CR, CR.BUFE, 1);
    else this.#regs.clearBits(REG.CR, CR.BUFE, 1);
  }

  #cause(bits: number): void {
    this.#regs.setBits(REG.ISR, bits, 2);
    if (this.#regs.read(REG.IMR, 2) & bits) this.#irq.raise();
  }

  #linkRegisters(): void {
    this.#regs.poke(REG.MSR, this.#carrier ? 0 : MSR_LINKB, 1);
    this.#regs.poke(REG.BMSR, this.#carrier ? BMSR_LINK : 0, 2);
  }

  /** Power-on / CR.RST: defaults, IDR from the EEPROM, CAPR = 0xFFF0, every TSD owned by the host. */
  #reset(): void {
    const regs = this.#regs;
    regs.clearAll();
    for (let i = 0; i < 6; i++) regs.poke(REG.IDR0 + i, this.#mac[i], 1);
    regs.poke(REG.CAPR, 0xfff0, 2);
    regs.poke(REG.CR, CR.BUFE, 1);
    for (let i = 0; i < TX_SLOTS; i++) regs.poke(REG.TSD0 + 4 * i, TSD.OWN);
    this.#txNext = 0;
    this.#linkRegisters();
  }
}
