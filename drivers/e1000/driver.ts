/**
 * Driver for the Intel 82540EM ({@link E1000Device}): resets the chip, reads the MAC from the
 * EEPROM through EERD, sets up legacy receive and transmit rings of 2048-byte buffers, and
 * services RXT0/TXDW/LSC/RXO interrupts. It touches the device only through MMIO and DMA memory.
 * A TCP super-segment from the netstack (IP length over the MTU) goes out with TSO: one context
 * descriptor (TSE, HDRLEN, MSS, PAYLEN, checksum offsets) and data descriptors over as many
 * buffers as it takes; the device cuts it into MSS-sized segments, as an 8254x does.
 */

import { DmaMemory } from "../hw/dma.ts";
import { Doorbell, InterruptLine, type Spin } from "../hw/control.ts";
import { LinkWatch } from "../hw/link_watch.ts";
import { MmioWindow } from "../hw/mmio.ts";
import type { DeviceResources } from "../hw/resources.ts";
import {
  countDrop,
  countRx,
  countTx,
  type DriverOptions,
  MAX_FRAME,
  newNicStats,
  type NicDriver,
  type NicStats,
} from "../hw/nic.ts";
import { CTRL, EERD, INT, RAH_AV, RCTL, REG, STATUS, TCTL, WRITE_TABLE } from "./registers.ts";
import {
  POPTS,
  RXD,
  RXD_STAT,
  TUCMD,
  TXD,
  TXD_CMD,
  TXD_STA_DD,
  writeRxDesc,
  writeTxContext,
  writeTxData,
  writeTxDesc,
} from "./descriptors.ts";
import { tcpFrameLayout } from "../link/gso_segment.ts";
import { DescRing, ringNext, validRingSize } from "./rings.ts";

/** Buffer size per descriptor (RCTL.BSIZE = 2048). */
const BUFFER_SIZE = 2048;
/** 82540EM copper TIPG: IPGT 10, IPGR1 8, IPGR2 6. */
const TIPG_COPPER = 0x0060200a;

/** Options for {@link E1000Driver}. */
export interface E1000DriverOptions extends DriverOptions {
  /** Receive descriptors (multiple of 8). Default 256. */
  rxRing?: number;
  /** Transmit descriptors (multiple of 8). Default 256. */
  txRing?: number;
}

/** The 82540EM driver; see the module doc. */
export class E1000Driver implements NicDriver {
  readonly mac = new Uint8Array(6);
  readonly mtu = 1500;
  /** Last link state seen. */
  get linkUp(): boolean {
    return this.#link.up;
  }
  readonly stats: NicStats = newNicStats();
  readonly #regs: MmioWindow;
  readonly #dma: DmaMemory;
  readonly #bell: Doorbell;
  readonly #irq: InterruptLine;
  readonly #spin: Spin;
  readonly #rxCount: number;
  readonly #txCount: number;
  #rx = new DescRing(0, 0);
  #tx = new DescRing(0, 0);
  #rxBuf = 0;
  #txBuf = 0;
  /** Next receive descriptor to look at. */
  #rxNext = 0;
  /** Next transmit descriptor to fill (our copy of TDT). */
  #txTail = 0;
  /** Oldest transmit descriptor not yet reclaimed. */
  #txClean = 0;
  #onReceive: (frames: Uint8Array[]) => void = () => {};
  readonly #link = new LinkWatch();

  /** Bind to a device's `resources`; nothing touches the device until {@link init}. */
  constructor(resources: DeviceResources, opts: E1000DriverOptions = {}) {
    this.#regs = new MmioWindow(resources.mmio, resources.control, WRITE_TABLE);
    this.#dma = new DmaMemory(resources.dma);
    this.#bell = new Doorbell(resources.control);
    this.#irq = new InterruptLine(resources.control);
    this.#spin = opts.spin ?? this.#bell.threadSpin;
    this.#rxCount = opts.rxRing ?? 256;
    this.#txCount = opts.txRing ?? 256;
    if (!validRingSize(this.#rxCount) || !validRingSize(this.#txCount)) {
      throw new RangeError(`Cannot use ring sizes ${this.#rxCount}/${this.#txCount}`);
    }
  }

  /** Reset, read the MAC, program rings and filters, enable RX/TX and interrupts. */
  init(): void {
    const regs = this.#regs;
    regs.write(REG.IMC, 0xffffffff);
    regs.write(REG.CTRL, CTRL.RST);
    if (!this.#bell.flush(this.#spin) || (regs.read(REG.CTRL) & CTRL.RST)) {
      countDrop(this.stats, "reset-timeout");
    }
    regs.write(REG.IMC, 0xffffffff);
    regs.readClear(REG.ICR);
    this.#readMac();

    const dma = this.#dma;
    dma.reset();
    this.#rx = new DescRing(dma.alloc(this.#rxCount * 16, 128), this.#rxCount);
    this.#tx = new DescRing(dma.alloc(this.#txCount * 16, 128), this.#txCount);
    this.#rxBuf = dma.alloc(this.#rxCount * BUFFER_SIZE);
    this.#txBuf = dma.alloc(this.#txCount * BUFFER_SIZE);
    for (let i = 0; i < this.#rxCount; i++) {
      writeRxDesc(dma, this.#rx.addr(i), this.#rxBuf + i * BUFFER_SIZE);
    }
    for (let i = 0; i < this.#txCount; i++) {
      dma.bytes.fill(0, this.#tx.addr(i), this.#tx.addr(i + 1));
    }
    this.#rxNext = this.#txTail = this.#txClean = 0;

    for (let i = 0; i < 128; i++) regs.write(REG.MTA + 4 * i, 0);
    regs.write(
      REG.RAL0,
      (this.mac[0] | (this.mac[1] << 8) | (this.mac[2] << 16) | (this.mac[3] << 24)) >>> 0,
    );
    regs.write(REG.RAH0, (this.mac[4] | (this.mac[5] << 8) | RAH_AV) >>> 0);
    regs.write(REG.RDBAL, this.#rx.base);
    regs.write(REG.RDBAH, 0);
    regs.write(REG.RDLEN, this.#rx.byteLength);
    regs.write(REG.RDH, 0);
    regs.write(REG.RDT, this.#rxCount - 1);
    regs.write(REG.TDBAL, this.#tx.base);
    regs.write(REG.TDBAH, 0);
    regs.write(REG.TDLEN, this.#tx.byteLength);
    regs.write(REG.TDH, 0);
    regs.write(REG.TDT, 0);
    regs.write(REG.TIPG, TIPG_COPPER);
    regs.write(REG.CTRL, CTRL.SLU | CTRL.ASDE);
    regs.write(REG.RCTL, RCTL.EN | RCTL.BAM | RCTL.MPE | RCTL.BSIZE_2048 | RCTL.SECRC);
    regs.write(REG.TCTL, TCTL.EN | TCTL.PSP | (0x0f << TCTL.CT_SHIFT) | (0x40 << TCTL.COLD_SHIFT));
    regs.write(REG.IMS, INT.RXT0 | INT.TXDW | INT.LSC | INT.RXO);
    this.#link.up = (regs.read(REG.STATUS) & STATUS.LU) !== 0;
  }

  /** Read EEPROM words 0-2 through EERD; fall back to RAL0/RAH0 if the EEPROM never answers. */
  #readMac(): void {
    for (let w = 0; w < 3; w++) {
      const word = this.#eepromWord(w);
      if (word === undefined) {
        countDrop(this.stats, "eeprom-timeout");
        const ral = this.#regs.read(REG.RAL0);
        const rah = this.#regs.read(REG.RAH0);
        this.mac.set([ral, ral >>> 8, ral >>> 16, ral >>> 24, rah, rah >>> 8]);
        return;
      }
      this.mac[2 * w] = word & 0xff;
      this.mac[2 * w + 1] = word >>> 8;
    }
  }

  /** One EEPROM word through EERD, or undefined on timeout. */
  #eepromWord(addr: number): number | undefined {
    this.#regs.write(REG.EERD, EERD.START | (addr << EERD.ADDR_SHIFT));
    this.#bell.flush(this.#spin);
    const v = this.#regs.read(REG.EERD);
    return v & EERD.DONE ? v >>> EERD.DATA_SHIFT : undefined;
  }

  /**
   * Copy `frame` into the next transmit buffer; false when the ring is full. A TCP
   * super-segment goes out with TSO.
   */
  transmit(frame: Uint8Array): boolean {
    if (frame.length > MAX_FRAME && frame.length <= 14 + 65_535) return this.#transmitTso(frame);
    if (frame.length > MAX_FRAME || frame.length < 14) {
      countDrop(this.stats, "tx-bad-length");
      return true;
    }
    const next = ringNext(this.#txTail, this.#txCount);
    if (next === this.#txClean) {
      this.#reclaimTx();
      if (next === this.#txClean) return false;
    }
    const i = this.#txTail;
    const buf = this.#txBuf + i * BUFFER_SIZE;
    this.#dma.copyIn(buf, frame);
    writeTxDesc(
      this.#dma,
      this.#tx.addr(i),
      buf,
      frame.length,
      TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS,
    );
    this.#txTail = next;
    this.#regs.write(REG.TDT, next);
    countTx(this.stats, frame.length);
    return true;
  }

  /** A context descriptor and data descriptors for one TCP super-segment; false when full. */
  #transmitTso(frame: Uint8Array): boolean {
    const l = tcpFrameLayout(frame);
    if (!l) {
      countDrop(this.stats, "tx-bad-length");
      return true;
    }
    const need = 1 + Math.ceil(frame.length / BUFFER_SIZE);
    if (this.#txFree() < need) {
      this.#reclaimTx();
      if (this.#txFree() < need) return false;
    }
    const dma = this.#dma;
    const ipEnd = l.tcp - 1;
    writeTxContext(dma, this.#tx.addr(this.#txTail), {
      ipcss: 14,
      ipcso: l.ipVersion === 4 ? 24 : 0,
      ipcse: l.ipVersion === 4 ? ipEnd : 0,
      tucss: l.tcp,
      tucso: l.tcp + 16,
      tucse: 0,
      paylen: frame.length - l.hdrLen,
      tucmd: TUCMD.TCP | (l.ipVersion === 4 ? TUCMD.IP : 0) | TUCMD.TSE,
      hdrLen: l.hdrLen,
      mss: this.mtu - (l.hdrLen - 14),
    });
    this.#txTail = ringNext(this.#txTail, this.#txCount);
    for (let at = 0; at < frame.length; at += BUFFER_SIZE) {
      const i = this.#txTail;
      const buf = this.#txBuf + i * BUFFER_SIZE;
      const n = Math.min(BUFFER_SIZE, frame.length - at);
      dma.bytes.set(frame.subarray(at, at + n), buf);
      const last = at + n === frame.length;
      const dcmd = TUCMD.TSE | TXD_CMD.IFCS | TXD_CMD.RS | (last ? TXD_CMD.EOP : 0);
      const popts = POPTS.TXSM | (l.ipVersion === 4 ? POPTS.IXSM : 0);
      writeTxData(dma, this.#tx.addr(i), buf, n, dcmd, popts);
      this.#txTail = ringNext(i, this.#txCount);
    }
    this.#regs.write(REG.TDT, this.#txTail);
    countTx(this.stats, frame.length);
    return true;
  }

  /** Descriptors free for the driver (one always stays empty: head = tail means empty). */
  #txFree(): number {
    return (this.#txClean - this.#txTail - 1 + this.#txCount) % this.#txCount;
  }

  /** Register the receiver of frame batches. */
  onReceive(cb: (frames: Uint8Array[]) => void): void {
    this.#onReceive = cb;
  }

  /** Register the receiver of link changes. */
  onLinkChange(cb: (up: boolean) => void): void {
    this.#link.listen(cb);
  }

  /** Acknowledge the line, read-clear ICR and service link, receive and transmit work. */
  handleInterrupt(): void {
    this.#irq.take();
    const causes = this.#regs.readClear(REG.ICR);
    if (causes & INT.LSC) {
      const up = (this.#regs.read(REG.STATUS) & STATUS.LU) !== 0;
      this.#link.update(up);
    }
    if (causes & INT.RXO) {
      const missed = this.#regs.readClear(REG.RNBC);
      countDrop(this.stats, "rx-no-descriptor", missed);
    }
    this.#receive();
    this.#reclaimTx();
  }

  /** Take every completed receive descriptor in order, then give them back by moving RDT. */
  #receive(): void {
    const dma = this.#dma;
    const frames: Uint8Array[] = [];
    let last = -1;
    for (;;) {
      const desc = this.#rx.addr(this.#rxNext);
      const status = dma.load8(desc + RXD.STATUS);
      if (!(status & RXD_STAT.DD)) break;
      const len = dma.read16(desc + RXD.LENGTH);
      if (!(status & RXD_STAT.EOP) || len > BUFFER_SIZE) countDrop(this.stats, "rx-bad-descriptor");
      else {
        frames.push(dma.copyOut(this.#rxBuf + this.#rxNext * BUFFER_SIZE, len));
        countRx(this.stats, len);
      }
      dma.bytes[desc + RXD.STATUS] = 0;
      last = this.#rxNext;
      this.#rxNext = ringNext(this.#rxNext, this.#rxCount);
    }
    if (last < 0) return;
    this.#regs.write(REG.RDT, last);
    this.#onReceive(frames);
  }

  /** Reclaim transmit descriptors the device marked done, oldest first. */
  #reclaimTx(): void {
    while (this.#txClean !== this.#txTail) {
      const desc = this.#tx.addr(this.#txClean);
      if (!(this.#dma.load8(desc + TXD.STA) & TXD_STA_DD)) break;
      this.#dma.bytes[desc + TXD.STA] = 0;
      this.#txClean = ringNext(this.#txClean, this.#txCount);
    }
  }
}
