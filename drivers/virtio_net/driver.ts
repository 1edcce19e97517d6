/**
 * virtio-net driver over virtio-mmio ({@link VirtioNetDevice}): reset, the ACKNOWLEDGE → DRIVER
 * → FEATURES_OK → DRIVER_OK handshake, one RX and one TX split virtqueue with a fixed 2048-byte
 * buffer per descriptor, the 12-byte net header, and checksum offload. The fast path batches:
 * RX buffers are reposted with one index store and one notify per interrupt, TX runs with
 * interrupts suppressed (NO_INTERRUPT) and reclaims lazily, asking for a TX interrupt only when
 * the ring is full; notifies are skipped while the device says NO_NOTIFY.
 */

import { DmaMemory } from "../hw/dma.ts";
import { Doorbell, InterruptLine, type Spin } from "../hw/control.ts";
import { LinkWatch } from "../hw/link_watch.ts";
import { MmioWindow } from "../hw/mmio.ts";
import type { DeviceResources } from "../hw/resources.ts";
import {
  countDrop,
  countTx,
  type DriverOptions,
  MAX_FRAME,
  newNicStats,
  type NicDriver,
  type NicStats,
} from "../hw/nic.ts";
import {
  DEVICE_ID_NET,
  FEATURE,
  featureBit,
  ISR,
  MAGIC,
  NET_CONFIG,
  NET_S_LINK_UP,
  QUEUE,
  REG,
  STATUS,
  WRITE_TABLE,
} from "./registers.ts";
import { allocQueue, AVAIL_F_NO_INTERRUPT, DESC_F, DriverQueue } from "./virtqueue.ts";
import { type ChecksumOffload, HDR, HDR_F, NET_HDR_LEN, writeNetHdr } from "./net_header.ts";

/** Bytes per RX/TX buffer: header + 1518-byte frame fit. */
const BUFFER_SIZE = 2048;
/** Features the driver can use. */
const DRIVER_FEATURES = featureBit(FEATURE.NET_CSUM) | featureBit(FEATURE.NET_GUEST_CSUM) |
  featureBit(FEATURE.NET_MTU) | featureBit(FEATURE.NET_MAC) | featureBit(FEATURE.NET_STATUS) |
  featureBit(FEATURE.VERSION_1);
/** Locally administered address used when the device offers no MAC. */
const FALLBACK_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/** Options for {@link VirtioNetDriver}. */
export interface VirtioNetDriverOptions extends DriverOptions {
  /** Entries per queue (power of two, at most the device's maximum). Default 256. */
  queueSize?: number;
}

/** Callback for received frames; `checksumValid[i]` mirrors DATA_VALID for `frames[i]`. */
export type VirtioReceive = (frames: Uint8Array[], checksumValid: boolean[]) => void;

/** The virtio-net driver; see the module doc. */
export class VirtioNetDriver implements NicDriver {
  readonly mac = new Uint8Array(6);
  mtu = 1500;
  /** Last link state seen. */
  get linkUp(): boolean {
    return this.#link.up;
  }
  /** Negotiated features (valid after init). */
  features = 0n;
  readonly stats: NicStats = newNicStats();
  readonly #regs: MmioWindow;
  readonly #dma: DmaMemory;
  readonly #bell: Doorbell;
  readonly #irq: InterruptLine;
  readonly #spin: Spin;
  readonly #size: number;
  #rx?: DriverQueue;
  #tx?: DriverQueue;
  #rxBuf = 0;
  #txBuf = 0;
  #txFree: number[] = [];
  #onReceive: VirtioReceive = () => {};
  readonly #link = new LinkWatch();

  /** Bind to a device's `resources`; nothing touches the device until {@link init}. */
  constructor(resources: DeviceResources, opts: VirtioNetDriverOptions = {}) {
    this.#regs = new MmioWindow(resources.mmio, resources.control, WRITE_TABLE);
    this.#dma = new DmaMemory(resources.dma);
    this.#bell = new Doorbell(resources.control);
    this.#irq = new InterruptLine(resources.control);
    this.#spin = opts.spin ?? this.#bell.threadSpin;
    this.#size = opts.queueSize ?? 256;
    if (this.#size < 2 || this.#size > 32768 || (this.#size & (this.#size - 1)) !== 0) {
      throw new RangeError(`Cannot use queue size ${this.#size}`);
    }
  }

  /** True when the device agreed to complete checksums the driver leaves partial. */
  get checksumOffload(): boolean {
    return (this.features & featureBit(FEATURE.NET_CSUM)) !== 0n;
  }

  /** Handshake, negotiate, set up both queues, post RX buffers, then DRIVER_OK. */
  init(): void {
    const regs = this.#regs;
    regs.write(REG.STATUS, 0);
    this.#flush();
    const id = regs.read(REG.MAGIC) === MAGIC && regs.read(REG.VERSION) === 2 &&
      regs.read(REG.DEVICE_ID) === DEVICE_ID_NET;
    if (!id) return this.#fail("not-virtio-net");
    let status = STATUS.ACKNOWLEDGE;
    regs.write(REG.STATUS, status);
    regs.write(REG.STATUS, status |= STATUS.DRIVER);
    const offered = BigInt(this.#selected(REG.DEVICE_FEATURES_SEL, 0, REG.DEVICE_FEATURES)) |
      (BigInt(this.#selected(REG.DEVICE_FEATURES_SEL, 1, REG.DEVICE_FEATURES)) << 32n);
    this.features = offered & DRIVER_FEATURES;
    if (!(this.features & featureBit(FEATURE.VERSION_1))) return this.#fail("no-version-1");
    for (const sel of [0, 1]) {
      regs.write(REG.DRIVER_FEATURES_SEL, sel);
      regs.write(REG.DRIVER_FEATURES, Number((this.features >> BigInt(32 * sel)) & 0xffffffffn));
      this.#flush();
    }
    regs.write(REG.STATUS, status |= STATUS.FEATURES_OK);
    this.#flush();
    if (!(regs.read(REG.STATUS) & STATUS.FEATURES_OK)) return this.#fail("features-rejected");

    this.#dma.reset();
    this.#rx = this.#setupQueue(QUEUE.RX);
    this.#tx = this.#setupQueue(QUEUE.TX);
    if (!this.#rx || !this.#tx) return this.#fail("queue-rejected");
    this.#rxBuf = this.#dma.alloc(this.#size * BUFFER_SIZE);
    this.#txBuf = this.#dma.alloc(this.#size * BUFFER_SIZE);
    for (let i = 0; i < this.#size; i++) {
      this.#rx.setDesc(i, this.#rxBuf + i * BUFFER_SIZE, BUFFER_SIZE, DESC_F.WRITE);
      this.#rx.stage(i);
    }
    this.#rx.publish();
    this.#txFree = Array.from({ length: this.#size }, (_, i) => this.#size - 1 - i);
    this.#tx.setAvailFlags(AVAIL_F_NO_INTERRUPT);
    this.#readConfig();
    regs.write(REG.STATUS, status | STATUS.DRIVER_OK);
    regs.write(REG.QUEUE_NOTIFY, QUEUE.RX);
  }

  /**
   * Queue one frame; false when the TX queue is full (a TX interrupt is then requested). With
   * `offload` the frame's checksum field must hold the pseudo-header sum; the device finishes it.
   */
  transmit(frame: Uint8Array, offload?: ChecksumOffload): boolean {
    const r = this.#stage(frame, offload);
    if (r === "queued") this.#kickTx();
    return r !== "full";
  }

  /**
   * Queue as many of `frames` as fit with one index update and at most one notify; returns how
   * many were taken (bad ones count as taken and dropped). The rest are back-pressured.
   */
  transmitBatch(frames: readonly Uint8Array[]): number {
    let taken = 0;
    let queued = false;
    for (const f of frames) {
      const r = this.#stage(f);
      if (r === "full") break;
      queued ||= r === "queued";
      taken++;
    }
    if (queued) this.#kickTx();
    return taken;
  }

  /** Copy one frame into a free TX buffer and stage its descriptor (not yet published). */
  #stage(frame: Uint8Array, offload?: ChecksumOffload): "queued" | "dropped" | "full" {
    const tx = this.#tx;
    if (!tx) {
      countDrop(this.stats, "tx-not-ready");
      return "dropped";
    }
    if (frame.length > MAX_FRAME || frame.length < 14) {
      countDrop(this.stats, "tx-bad-length");
      return "dropped";
    }
    if (offload && !this.checksumOffload) {
      countDrop(this.stats, "tx-offload-unsupported");
      return "dropped";
    }
    if (this.#txFree.length === 0) {
      this.#reclaimTx();
      if (this.#txFree.length === 0) {
        tx.setAvailFlags(0);
        this.#reclaimTx(); // the device may have drained before it could see the flag
        if (this.#txFree.length === 0) return "full";
      }
    }
    const i = this.#txFree.pop() as number;
    const buf = this.#txBuf + i * BUFFER_SIZE;
    writeNetHdr(this.#dma.bytes, buf, offload ? HDR_F.NEEDS_CSUM : 0, offload);
    this.#dma.copyIn(buf + NET_HDR_LEN, frame);
    tx.setDesc(i, buf, NET_HDR_LEN + frame.length, 0);
    tx.stage(i);
    countTx(this.stats, frame.length);
    return "queued";
  }

  /** Publish staged TX descriptors and notify unless the device suppressed notifications. */
  #kickTx(): void {
    const tx = this.#tx;
    if (!tx) return;
    tx.publish();
    if (!tx.notifySuppressed) this.#regs.write(REG.QUEUE_NOTIFY, QUEUE.TX);
  }

  /** Register the receiver of frame batches (with per-frame DATA_VALID). */
  onReceive(cb: VirtioReceive): void {
    this.#onReceive = cb;
  }

  /** Register the receiver of link changes. */
  onLinkChange(cb: (up: boolean) => void): void {
    this.#link.listen(cb);
  }

  /** Acknowledge the line and InterruptStatus; handle config change, RX and TX completions. */
  handleInterrupt(): void {
    this.#irq.take();
    const isr = this.#regs.read(REG.INTERRUPT_STATUS);
    if (isr) this.#regs.write(REG.INTERRUPT_ACK, isr);
    if (isr & ISR.CONFIG_CHANGE) this.#readConfig();
    this.#receive();
    this.#reclaimTx();
  }

  #receive(): void {
    const rx = this.#rx;
    if (!rx) return;
    const frames: Uint8Array[] = [];
    const valid: boolean[] = [];
    let reposted = 0;
    for (let u = rx.popUsed(); u; u = rx.popUsed()) {
      const buf = this.#rxBuf + u.id * BUFFER_SIZE;
      if (u.id >= this.#size || u.len < NET_HDR_LEN + 14 || u.len > BUFFER_SIZE) {
        countDrop(this.stats, "rx-bad-length");
      } else {
        frames.push(this.#dma.copyOut(buf + NET_HDR_LEN, u.len - NET_HDR_LEN));
        valid.push((this.#dma.bytes[buf + HDR.FLAGS] & HDR_F.DATA_VALID) !== 0);
        this.stats.rxBytes += u.len - NET_HDR_LEN;
      }
      if (u.id < this.#size) {
        rx.stage(u.id);
        reposted++;
      }
    }
    if (reposted === 0) return;
    rx.publish();
    if (!rx.notifySuppressed) this.#regs.write(REG.QUEUE_NOTIFY, QUEUE.RX);
    this.stats.rxPackets += frames.length;
    if (frames.length) this.#onReceive(frames, valid);
  }

  #reclaimTx(): void {
    const tx = this.#tx;
    if (!tx) return;
    let any = false;
    for (let u = tx.popUsed(); u; u = tx.popUsed()) {
      if (u.id < this.#size) this.#txFree.push(u.id);
      any = true;
    }
    if (any) tx.setAvailFlags(AVAIL_F_NO_INTERRUPT);
  }

  /** Select a queue, size and place it in DMA memory, and make it ready. */
  #setupQueue(index: number): DriverQueue | undefined {
    const regs = this.#regs;
    regs.write(REG.QUEUE_SEL, index);
    this.#flush();
    if (regs.read(REG.QUEUE_READY) !== 0 || regs.read(REG.QUEUE_NUM_MAX) < this.#size) return;
    const q = allocQueue(this.#dma, this.#size);
    regs.write(REG.QUEUE_NUM, q.num);
    regs.write(REG.QUEUE_DESC_LOW, q.desc);
    regs.write(REG.QUEUE_DESC_HIGH, 0);
    regs.write(REG.QUEUE_DRIVER_LOW, q.avail);
    regs.write(REG.QUEUE_DRIVER_HIGH, 0);
    regs.write(REG.QUEUE_DEVICE_LOW, q.used);
    regs.write(REG.QUEUE_DEVICE_HIGH, 0);
    regs.write(REG.QUEUE_READY, 1);
    this.#flush();
    return regs.read(REG.QUEUE_READY) === 1 ? new DriverQueue(this.#dma, q) : undefined;
  }

  /** Read MAC, MTU and link status, retrying while the configuration generation moves. */
  #readConfig(): void {
    const regs = this.#regs;
    const has = (bit: number) => (this.features & featureBit(bit)) !== 0n;
    for (let attempt = 0; attempt < 4; attempt++) {
      const gen = regs.read(REG.CONFIG_GENERATION);
      for (let i = 0; i < 6; i++) {
        this.mac[i] = has(FEATURE.NET_MAC)
          ? regs.read(REG.CONFIG + NET_CONFIG.MAC + i, 1)
          : FALLBACK_MAC[i];
      }
      if (has(FEATURE.NET_MTU)) this.mtu = regs.read(REG.CONFIG + NET_CONFIG.MTU, 2);
      const up = !has(FEATURE.NET_STATUS) ||
        (regs.read(REG.CONFIG + NET_CONFIG.STATUS, 2) & NET_S_LINK_UP) !== 0;
      if (regs.read(REG.CONFIG_GENERATION) !== gen) continue;
      this.#link.update(up);
      return;
    }
  }

  /** Write a selector, wait for the device to present the selected register, read it. */
  #selected(selReg: number, sel: number, valueReg: number): number {
    this.#regs.write(selReg, sel);
    this.#flush();
    return this.#regs.read(valueReg);
  }

  #flush(): void {
    if (!this.#bell.flush(this.#spin)) countDrop(this.stats, "device-timeout");
  }

  #fail(reason: string): void {
    countDrop(this.stats, reason);
    this.#regs.write(REG.STATUS, STATUS.FAILED);
  }
}
