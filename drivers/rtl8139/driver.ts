/**
 * Driver for the RTL8139 ({@link Rtl8139Device}): resets through CR.RST, reads the MAC from
 * IDR0-5, hands the chip an 8K + 16 receive ring (WRAP mode by default) and four transmit
 * buffers used round robin, and services ROK/TOK/RXOVW/LinkChg by acknowledging ISR (write 1 to
 * clear). Received packets are read from the ring up to CBR and released by moving CAPR.
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
  MIN_FRAME,
  newNicStats,
  type NicDriver,
  type NicStats,
} from "../hw/nic.ts";
import {
  CR,
  INT,
  MSR_LINKB,
  RCR,
  REG,
  RX_ALLOC,
  RX_RING,
  RX_STATUS,
  TSD,
  TX_SLOTS,
  WRITE_TABLE,
} from "./registers.ts";
import { caprFor, CRC_LEN, packetSpan, ringRead, RX_HEADER } from "./rx_ring.ts";

/** Bytes per transmit buffer. */
const TX_BUFFER = 2048;
/** Early transmit threshold: 256 bytes, in 32-byte units. */
const ERTXTH_256 = 8 << TSD.ERTXTH_SHIFT;

/** Options for {@link Rtl8139Driver}. */
export interface Rtl8139DriverOptions extends DriverOptions {
  /** Use RCR.WRAP (packets cross the ring end contiguously). Default true. */
  wrap?: boolean;
}

/** The RTL8139 driver; see the module doc. */
export class Rtl8139Driver implements NicDriver {
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
  readonly #wrap: boolean;
  #rxBase = 0;
  #txBase = 0;
  /** Our read offset in the receive ring. */
  #rxRead = 0;
  /** Next transmit descriptor to fill, and the oldest not yet completed (counters, not mod 4). */
  #txCur = 0;
  #txDirty = 0;
  #onReceive: (frames: Uint8Array[]) => void = () => {};
  readonly #link = new LinkWatch();

  /** Bind to a device's `resources`; nothing touches the device until {@link init}. */
  constructor(resources: DeviceResources, opts: Rtl8139DriverOptions = {}) {
    this.#regs = new MmioWindow(resources.mmio, resources.control, WRITE_TABLE);
    this.#dma = new DmaMemory(resources.dma);
    this.#bell = new Doorbell(resources.control);
    this.#irq = new InterruptLine(resources.control);
    this.#spin = opts.spin ?? this.#bell.threadSpin;
    this.#wrap = opts.wrap ?? true;
  }

  /** Reset, read IDR0-5, program the rings, enable RX/TX and interrupts. */
  init(): void {
    const regs = this.#regs;
    regs.write(REG.IMR, 0, 2);
    regs.write(REG.CR, CR.RST, 1);
    if (!this.#bell.flush(this.#spin) || (regs.read(REG.CR, 1) & CR.RST)) {
      countDrop(this.stats, "reset-timeout");
    }
    for (let i = 0; i < 6; i++) this.mac[i] = regs.read(REG.IDR0 + i, 1);
    const dma = this.#dma;
    dma.reset();
    this.#rxBase = dma.alloc(RX_ALLOC, 16);
    this.#txBase = dma.alloc(TX_SLOTS * TX_BUFFER, 16);
    dma.bytes.fill(0, this.#rxBase, this.#rxBase + RX_ALLOC);
    this.#rxRead = 0;
    this.#txCur = this.#txDirty = 0;
    regs.write(REG.RBSTART, this.#rxBase);
    for (let i = 0; i < TX_SLOTS; i++) regs.write(REG.TSAD0 + 4 * i, this.#txBase + i * TX_BUFFER);
    regs.write(REG.MAR0, 0xffffffff);
    regs.write(REG.MAR0 + 4, 0xffffffff);
    regs.write(REG.CR, CR.RE | CR.TE, 1);
    const wrap = this.#wrap ? RCR.WRAP : 0;
    regs.write(REG.RCR, RCR.APM | RCR.AB | RCR.AM | RCR.MXDMA_UNLIMITED | RCR.RBLEN_8K | wrap);
    regs.write(REG.CAPR, caprFor(0), 2);
    regs.write(REG.MPC, 0);
    regs.write(REG.ISR, 0xffff, 2);
    regs.write(REG.IMR, INT.ROK | INT.RER | INT.TOK | INT.TER | INT.RXOVW | INT.LINK_CHG, 2);
    this.#link.up = (regs.read(REG.MSR, 1) & MSR_LINKB) === 0;
  }

  /** Copy `frame` into the next transmit buffer and release it; false when all four are busy. */
  transmit(frame: Uint8Array): boolean {
    if (frame.length > MAX_FRAME || frame.length < 14) {
      countDrop(this.stats, "tx-bad-length");
      return true;
    }
    if (this.#txCur - this.#txDirty === TX_SLOTS) {
      this.#reclaimTx();
      if (this.#txCur - this.#txDirty === TX_SLOTS) return false;
    }
    const slot = this.#txCur % TX_SLOTS;
    const buf = this.#txBase + slot * TX_BUFFER;
    this.#dma.copyIn(buf, frame);
    const size = Math.max(frame.length, MIN_FRAME);
    if (size > frame.length) this.#dma.bytes.fill(0, buf + frame.length, buf + size);
    this.#regs.write(REG.TSD0 + 4 * slot, size | ERTXTH_256);
    this.#txCur++;
    countTx(this.stats, frame.length);
    return true;
  }

  /** Register the receiver of frame batches. */
  onReceive(cb: (frames: Uint8Array[]) => void): void {
    this.#onReceive = cb;
  }

  /** Register the receiver of link changes. */
  onLinkChange(cb: (up: boolean) => void): void {
    this.#link.listen(cb);
  }

  /** Acknowledge the line and ISR, then service link, receive, overflow and transmit. */
  handleInterrupt(): void {
    this.#irq.take();
    const isr = this.#regs.read(REG.ISR, 2);
    if (isr) this.#regs.write(REG.ISR, isr, 2);
    if (isr & INT.LINK_CHG) {
      const up = (this.#regs.read(REG.MSR, 1) & MSR_LINKB) === 0;
      this.#link.update(up);
    }
    if (isr & INT.RXOVW) {
      const missed = this.#regs.readClear(REG.MPC) & 0xffffff;
      countDrop(this.stats, "rx-overflow", missed);
    }
    this.#receive();
    this.#reclaimTx();
  }

  /** Read packets from our offset up to CBR, then release them through CAPR. */
  #receive(): void {
    const write = this.#regs.read(REG.CBR, 2) % RX_RING;
    if (write === this.#rxRead) return;
    const dma = this.#dma;
    const frames: Uint8Array[] = [];
    while (this.#rxRead !== write) {
      const at = this.#rxBase + this.#rxRead;
      const status = dma.read16(at);
      const len = dma.read16(at + 2);
      if (!(status & RX_STATUS.ROK) || len < 14 + CRC_LEN || len > MAX_FRAME + 4 + CRC_LEN) {
        countDrop(this.stats, "rx-bad-header");
        this.#rxRead = write; // resynchronise: discard everything the chip has written
        break;
      }
      frames.push(ringRead(dma, this.#rxBase, this.#rxRead + RX_HEADER, len - CRC_LEN, this.#wrap));
      countRx(this.stats, len - CRC_LEN);
      this.#rxRead = (this.#rxRead + packetSpan(len)) % RX_RING;
    }
    this.#regs.write(REG.CAPR, caprFor(this.#rxRead), 2);
    if (frames.length) this.#onReceive(frames);
  }

  /** Retire completed transmit descriptors in order. */
  #reclaimTx(): void {
    while (this.#txDirty !== this.#txCur) {
      const tsd = this.#regs.read(REG.TSD0 + 4 * (this.#txDirty % TX_SLOTS));
      if (!(tsd & (TSD.TOK | TSD.TUN | TSD.TABT))) break;
      if (tsd & TSD.TABT) countDrop(this.stats, "tx-aborted");
      this.#txDirty++;
    }
  }
}
