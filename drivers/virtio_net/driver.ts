/**
 * virtio-net driver over virtio-mmio ({@link VirtioNetDevice}): reset, the ACKNOWLEDGE → DRIVER
 * → FEATURES_OK → DRIVER_OK handshake, one RX and one TX split virtqueue of 2048-byte buffers,
 * the 12-byte net header, and the offloads the device agrees to (any may be refused through
 * `features`, and the driver falls back): checksum offload, TSO both ways (a TCP super-segment
 * from the netstack goes out as one GSO packet, or is segmented here in software when the
 * device has no HOST_TSO, as Linux's GSO does), mergeable receive buffers (needed for
 * GUEST_TSO: a received super-segment spans many buffers), and EVENT_IDX.
 *
 * The fast path batches: frames are staged with {@link VirtioNetDriver.stage} and published with
 * one index store and at most one notify per burst ({@link VirtioNetDriver.kick}); RX buffers
 * are reposted the same way; TX completions raise no interrupt unless the ring is full.
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
import { segmentTcp, tcpFrameLayout } from "../link/gso_segment.ts";
import { fold, pseudoHeaderSum4, pseudoHeaderSum6 } from "../../netstack/wire/checksum.ts";
import {
  DEVICE_ID_NET,
  FEATURE,
  featureBit,
  ISR,
  MAGIC,
  missingDependency,
  NET_CONFIG,
  NET_S_LINK_UP,
  QUEUE,
  REG,
  STATUS,
  WRITE_TABLE,
} from "./registers.ts";
import { allocQueue, AVAIL_F_NO_INTERRUPT, DESC_F, DriverQueue } from "./virtqueue.ts";
import {
  type ChecksumOffload,
  completeChecksum,
  GSO,
  GSO_NONE,
  HDR_F,
  NET_HDR_LEN,
  type NetHdr,
  readNetHdr,
  writeFullNetHdr,
} from "./net_header.ts";

/** Bytes per RX/TX buffer: header + 1518-byte frame fit. */
const BUFFER_SIZE = 2048;
/** Features the driver can use. */
export const DRIVER_FEATURES = [
  FEATURE.NET_CSUM,
  FEATURE.NET_GUEST_CSUM,
  FEATURE.NET_MTU,
  FEATURE.NET_MAC,
  FEATURE.NET_GUEST_TSO4,
  FEATURE.NET_GUEST_TSO6,
  FEATURE.NET_HOST_TSO4,
  FEATURE.NET_HOST_TSO6,
  FEATURE.NET_MRG_RXBUF,
  FEATURE.NET_STATUS,
  FEATURE.RING_EVENT_IDX,
  FEATURE.VERSION_1,
].reduce((set, f) => set | featureBit(f), 0n);
/** Largest packet queued: a 64 KiB TCP super-segment and its Ethernet header. */
const MAX_GSO_FRAME = 14 + 65_535;
/** A header asking for nothing. */
const PLAIN_HDR: NetHdr = {
  flags: 0,
  gsoType: GSO_NONE,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
  numBuffers: 0,
};

/** Locally administered address used when the device offers no MAC. */
const FALLBACK_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/** Options for {@link VirtioNetDriver}. */
export interface VirtioNetDriverOptions extends DriverOptions {
  /** Entries per queue (power of two, at most the device's maximum). Default 1024: 2 MiB of TX buffers, some 30 super-segments in flight. */
  queueSize?: number;
  /**
   * The features the driver may accept (a mask over {@link DRIVER_FEATURES}; default all):
   * clear bits to refuse offloads the device offers.
   */
  features?: bigint;
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
  /** Descriptors of each TX chain in flight, by head. */
  #txChains: number[][] = [];
  readonly #accept: bigint;
  #eventIdx = false;
  #mergeable = false;
  /** Notifications written to QUEUE_NOTIFY (both queues). */
  kicks = 0;
  #onReceive: VirtioReceive = () => {};
  readonly #link = new LinkWatch();

  /** Bind to a device's `resources`; nothing touches the device until {@link init}. */
  constructor(resources: DeviceResources, opts: VirtioNetDriverOptions = {}) {
    this.#regs = new MmioWindow(resources.mmio, resources.control, WRITE_TABLE);
    this.#dma = new DmaMemory(resources.dma);
    this.#bell = new Doorbell(resources.control);
    this.#irq = new InterruptLine(resources.control);
    this.#spin = opts.spin ?? this.#bell.threadSpin;
    this.#size = opts.queueSize ?? 1024;
    this.#accept = DRIVER_FEATURES & (opts.features ?? DRIVER_FEATURES);
    if (this.#size < 2 || this.#size > 32768 || (this.#size & (this.#size - 1)) !== 0) {
      throw new RangeError(`Cannot use queue size ${this.#size}`);
    }
  }

  /** True when the device agreed to complete checksums the driver leaves partial. */
  get checksumOffload(): boolean {
    return this.#has(FEATURE.NET_CSUM);
  }

  /** True when the device takes TCP super-segments over IPv4 (HOST_TSO4). */
  get tso(): boolean {
    return this.#has(FEATURE.NET_HOST_TSO4);
  }

  #has(f: number): boolean {
    return (this.features & featureBit(f)) !== 0n;
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
    let features = offered & this.#accept;
    // Received super-segments need room: without mergeable buffers, no GUEST_TSO (Linux would
    // post 64 KiB "big packet" buffers instead; this driver keeps its 2 KiB ones).
    if (!(features & featureBit(FEATURE.NET_MRG_RXBUF))) {
      features &= ~(featureBit(FEATURE.NET_GUEST_TSO4) | featureBit(FEATURE.NET_GUEST_TSO6));
    }
    for (let f = missingDependency(features); f !== undefined; f = missingDependency(features)) {
      features &= ~featureBit(f);
    }
    this.features = features;
    if (!(this.features & featureBit(FEATURE.VERSION_1))) return this.#fail("no-version-1");
    this.#eventIdx = this.#has(FEATURE.RING_EVENT_IDX);
    this.#mergeable = this.#has(FEATURE.NET_MRG_RXBUF);
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
    this.#rx.publishNeedsKick(this.#eventIdx);
    this.#txFree = Array.from({ length: this.#size }, (_, i) => this.#size - 1 - i);
    this.#txChains = [];
    this.#quietTx();
    if (this.#eventIdx) this.#rx.setUsedEvent(0);
    this.#readConfig();
    regs.write(REG.STATUS, status | STATUS.DRIVER_OK);
    this.#notify(QUEUE.RX);
  }

  /**
   * Queue one frame and kick; false when the TX queue is full (a TX interrupt is then
   * requested). With `offload` the frame's checksum field must hold the pseudo-header sum; the
   * device finishes it. A TCP frame longer than the MTU is a super-segment (see {@link stage}).
   */
  transmit(frame: Uint8Array, offload?: ChecksumOffload): boolean {
    const r = this.#stage(frame, offload);
    if (r === "queued") this.kick();
    return r !== "full";
  }

  /**
   * Copy a frame into TX buffers without telling the device (call {@link kick} after the
   * burst); false when the queue is full. A TCP super-segment (IP length over the MTU, valid
   * checksum) goes out as one GSO packet with HOST_TSO, else as MTU-sized segments.
   */
  stage(frame: Uint8Array): boolean {
    return this.#stage(frame) !== "full";
  }

  /**
   * Queue as many of `frames` as fit with one index update and at most one notify; returns how
   * many were taken (bad ones count as taken and dropped). The rest are back-pressured.
   */
  transmitBatch(frames: readonly Uint8Array[]): number {
    let taken = 0;
    for (const f of frames) {
      if (this.#stage(f) === "full") break;
      taken++;
    }
    this.kick();
    return taken;
  }

  /** Publish staged TX buffers; notify unless the device suppressed it (EVENT_IDX, NO_NOTIFY). */
  kick(): void {
    if (this.#tx?.publishNeedsKick(this.#eventIdx)) this.#notify(QUEUE.TX);
  }

  #stage(frame: Uint8Array, offload?: ChecksumOffload): "queued" | "dropped" | "full" {
    if (!this.#tx) {
      countDrop(this.stats, "tx-not-ready");
      return "dropped";
    }
    if (frame.length < 14 || frame.length > MAX_GSO_FRAME) {
      countDrop(this.stats, "tx-bad-length");
      return "dropped";
    }
    if (offload && !this.checksumOffload) {
      countDrop(this.stats, "tx-offload-unsupported");
      return "dropped";
    }
    if (frame.length <= MAX_FRAME) {
      const flags = offload ? HDR_F.NEEDS_CSUM : 0;
      const hdr = { ...PLAIN_HDR, flags, ...offload };
      return this.#put(hdr, frame);
    }
    const l = tcpFrameLayout(frame);
    if (!l) {
      countDrop(this.stats, "tx-bad-length");
      return "dropped";
    }
    const gsoSize = this.mtu - (l.hdrLen - 14);
    if (this.#has(l.ipVersion === 4 ? FEATURE.NET_HOST_TSO4 : FEATURE.NET_HOST_TSO6)) {
      // The device finishes the checksum of each segment: leave the pseudo-header sum.
      const tcpLen = frame.length - l.tcp;
      const pseudo = l.ipVersion === 4
        ? pseudoHeaderSum4(_u32(frame, 26), _u32(frame, 30), 6, tcpLen)
        : pseudoHeaderSum6(frame.subarray(22, 38), frame.subarray(38, 54), 6, tcpLen);
      const partial = fold(pseudo);
      frame[l.tcp + 16] = partial >>> 8;
      frame[l.tcp + 17] = partial & 0xff;
      return this.#put({
        flags: HDR_F.NEEDS_CSUM,
        gsoType: l.ipVersion === 4 ? GSO.TCPV4 : GSO.TCPV6,
        hdrLen: l.hdrLen,
        gsoSize,
        csumStart: l.tcp,
        csumOffset: 16,
        numBuffers: 0,
      }, frame);
    }
    // Software GSO: every segment must fit, or none is queued.
    const segments = segmentTcp(frame, l, gsoSize);
    if (!this.#reserve(segments.length)) return "full";
    for (const s of segments) this.#put({ ...PLAIN_HDR }, s);
    return "queued";
  }

  /** True when `n` descriptors are free, reclaiming (and, if still short, asking for a TX interrupt). */
  #reserve(n: number): boolean {
    if (this.#txFree.length >= n) return true;
    this.#reclaimTx();
    if (this.#txFree.length >= n) return true;
    if (this.#eventIdx) this.#tx!.setUsedEvent(0);
    else this.#tx!.setAvailFlags(0);
    this.#reclaimTx(); // the device may have drained before it could see the request
    return this.#txFree.length >= n;
  }

  /** Copy header and frame into a chain of TX buffers and stage it. */
  #put(hdr: NetHdr, frame: Uint8Array): "queued" | "full" {
    const tx = this.#tx!;
    const total = NET_HDR_LEN + frame.length;
    const need = Math.ceil(total / BUFFER_SIZE);
    if (!this.#reserve(need)) return "full";
    const chain: number[] = [];
    for (let k = 0; k < need; k++) chain.push(this.#txFree.pop() as number);
    const bytes = this.#dma.bytes;
    const first = this.#txBuf + chain[0] * BUFFER_SIZE;
    writeFullNetHdr(bytes, first, hdr);
    let at = 0; // bytes of the frame copied
    for (let k = 0; k < need; k++) {
      const i = chain[k];
      const buf = this.#txBuf + i * BUFFER_SIZE;
      const skip = k === 0 ? NET_HDR_LEN : 0;
      const n = Math.min(BUFFER_SIZE - skip, frame.length - at);
      bytes.set(frame.subarray(at, at + n), buf + skip);
      at += n;
      const last = k === need - 1;
      tx.setDesc(i, buf, skip + n, last ? 0 : DESC_F.NEXT, last ? 0 : chain[k + 1]);
    }
    this.#txChains[chain[0]] = chain;
    tx.stage(chain[0]);
    countTx(this.stats, frame.length);
    return "queued";
  }

  #notify(queue: number): void {
    this.kicks++;
    this.#regs.write(REG.QUEUE_NOTIFY, queue);
  }

  /** Ask for no TX completion interrupts. */
  #quietTx(): void {
    if (this.#eventIdx) this.#tx?.suppressUsedEvent();
    else this.#tx?.setAvailFlags(AVAIL_F_NO_INTERRUPT);
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
    for (;;) {
      this.#receivePass(rx, frames, valid);
      if (rx.publishNeedsKick(this.#eventIdx)) this.#notify(QUEUE.RX);
      if (!this.#eventIdx) break;
      rx.setUsedEvent(0);
      // A buffer returned before the device could see the new used_event raised nothing.
      if (rx.usedPending === 0) break;
    }
    this.stats.rxPackets += frames.length;
    if (frames.length) this.#onReceive(frames, valid);
  }

  /** Collect every used RX buffer into frames (merging `num_buffers` ones) and repost them. */
  #receivePass(rx: DriverQueue, frames: Uint8Array[], valid: boolean[]): void {
    const bytes = this.#dma.bytes;
    const parts: { addr: number; len: number }[] = [];
    for (let u = rx.popUsed(); u; u = rx.popUsed()) {
      if (u.id >= this.#size) {
        countDrop(this.stats, "rx-bad-id");
        continue;
      }
      rx.stage(u.id);
      if (u.len === 0) continue; // returned unused
      const buf = this.#rxBuf + u.id * BUFFER_SIZE;
      if (u.len < NET_HDR_LEN || u.len > BUFFER_SIZE) {
        countDrop(this.stats, "rx-bad-length");
        continue;
      }
      const h = readNetHdr(bytes, buf);
      const count = this.#mergeable ? h.numBuffers : 1;
      if (count < 1 || count - 1 > rx.usedPending) {
        countDrop(this.stats, "rx-bad-num-buffers");
        continue;
      }
      parts.length = 0;
      parts.push({ addr: buf + NET_HDR_LEN, len: u.len - NET_HDR_LEN });
      let size = u.len - NET_HDR_LEN;
      let bad = false;
      for (let k = 1; k < count; k++) {
        const m = rx.popUsed()!;
        if (m.id >= this.#size) {
          bad = true;
          continue;
        }
        rx.stage(m.id);
        if (m.len > BUFFER_SIZE) bad = true;
        parts.push({ addr: this.#rxBuf + m.id * BUFFER_SIZE, len: m.len });
        size += m.len;
      }
      if (bad || size < 14 || size > MAX_GSO_FRAME) {
        countDrop(this.stats, "rx-bad-length");
        continue;
      }
      const frame = new Uint8Array(size);
      let at = 0;
      for (const p of parts) {
        frame.set(bytes.subarray(p.addr, p.addr + Math.min(p.len, BUFFER_SIZE)), at);
        at += p.len;
      }
      const gso = h.gsoType & ~GSO.ECN;
      if (
        gso !== GSO_NONE &&
        !(gso === GSO.TCPV4
          ? this.#has(FEATURE.NET_GUEST_TSO4)
          : gso === GSO.TCPV6 && this.#has(FEATURE.NET_GUEST_TSO6))
      ) {
        countDrop(this.stats, "rx-gso-not-negotiated");
        continue;
      }
      if (gso === GSO_NONE && size > MAX_FRAME + 4) {
        countDrop(this.stats, "rx-bad-length");
        continue;
      }
      if (h.flags & HDR_F.NEEDS_CSUM && !completeChecksum(frame, h.csumStart, h.csumOffset)) {
        countDrop(this.stats, "rx-bad-checksum-request");
        continue;
      }
      frames.push(frame);
      valid.push((h.flags & (HDR_F.DATA_VALID | HDR_F.NEEDS_CSUM)) !== 0);
      this.stats.rxBytes += size;
    }
  }

  #reclaimTx(): void {
    const tx = this.#tx;
    if (!tx) return;
    let any = false;
    for (let u = tx.popUsed(); u; u = tx.popUsed()) {
      const chain = this.#txChains[u.id];
      if (chain) {
        this.#txFree.push(...chain);
        this.#txChains[u.id] = undefined as unknown as number[];
      }
      any = true;
    }
    if (any) this.#quietTx();
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

function _u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
