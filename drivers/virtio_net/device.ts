/**
 * virtio-net device model over virtio-mmio: status handshake, 64-bit feature negotiation
 * through the select registers (a driver may refuse any feature; one asking for a feature
 * without its dependency is refused), two split virtqueues (RX 0, TX 1), and the offloads of
 * virtio 1.2 §5.1: checksum completion on transmit (NEEDS_CSUM) and DATA_VALID on receive, TSO
 * both ways (HOST_TSO4/6 and GUEST_TSO4/6, offload.ts), mergeable receive buffers (a frame
 * spread over several chains, `num_buffers`), and notification suppression: EVENT_IDX
 * (`used_event` / `avail_event`), or else used.flags NO_NOTIFY while draining and avail.flags
 * NO_INTERRUPT. Every header and descriptor the driver writes is checked; a bad one is
 * counted in `stats.drops` and dropped.
 *
 * Selector registers are latched when the device services a doorbell, so the driver flushes
 * (rings and waits for `serviced`) after changing a selector and after making a queue ready.
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
  newNicStats,
  type NicDevice,
  type NicStats,
} from "../hw/nic.ts";
import {
  DEVICE_ID_NET,
  FEATURE,
  featureBit,
  ISR,
  MAGIC,
  missingDependency,
  MMIO_SIZE,
  NET_CONFIG,
  NET_S_LINK_UP,
  QUEUE,
  REG,
  STATUS,
  WRITE_TABLE,
} from "./registers.ts";
import { type ChainPart, DeviceQueue, type QueueLayout, USED_F_NO_NOTIFY } from "./virtqueue.ts";
import { NET_HDR_LEN, type NetHdr, readNetHdr, writeFullNetHdr } from "./net_header.ts";
import { type OffloadFeatures, receiveFrames, transmitFrames } from "./offload.ts";

/** Largest queue the device offers. */
export const QUEUE_NUM_MAX = 1024;
/** Largest frame (no FCS) accepted or sent without GSO: 1514 + VLAN tag. */
const MAX_FRAME_LEN = 1518;
/** Largest packet on the cable or a queue: a 64 KiB TCP super-segment and its Ethernet header. */
const MAX_GSO_LEN = 14 + 65_535;

/** Features this model offers. */
export const DEVICE_FEATURES = [
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

/** Nothing negotiated. */
const NO_OFFLOADS: Omit<OffloadFeatures, "mtu"> = {
  csum: false,
  hostTso4: false,
  hostTso6: false,
  guestCsum: false,
  guestTso4: false,
  guestTso6: false,
};

/** Options for {@link VirtioNetDevice}. */
export interface VirtioNetDeviceOptions {
  /** Station address in the config space. */
  mac: Uint8Array;
  /** Guest memory given to the driver, bytes. Default 6 MiB (two queues of 1024 2-KiB buffers). */
  dmaSize?: number;
  /** Carrier present at power-on. Default true. */
  linkUp?: boolean;
  /** MTU advertised through VIRTIO_NET_F_MTU. Default 1500. */
  mtu?: number;
}

interface QueueState {
  layout: QueueLayout;
  ready: boolean;
  dev?: DeviceQueue;
}

/** The virtio-net model; see the module doc. */
export class VirtioNetDevice implements NicDevice {
  readonly resources: DeviceResources;
  readonly stats: NicStats = newNicStats();
  readonly #regs: MmioWindow;
  readonly #dma: DmaMemory;
  readonly #bell: Doorbell;
  readonly #irq: InterruptLine;
  readonly #port: LinkPort;
  readonly #mac: Uint8Array;
  readonly #mtu: number;
  #carrier: boolean;
  #status = 0;
  #driverFeatures = [0, 0];
  #features = 0n;
  #offload: OffloadFeatures;
  #mergeable = false;
  #eventIdx = false;
  #queues: QueueState[] = [];
  #presentedSel = -1;

  /** Build the device, power it on and attach it to `port`. */
  constructor(port: LinkPort, opts: VirtioNetDeviceOptions) {
    this.resources = createResources("virtio-net", MMIO_SIZE, opts.dmaSize ?? 6 << 20);
    const r = this.resources;
    this.#regs = new MmioWindow(r.mmio, r.control, WRITE_TABLE);
    this.#dma = new DmaMemory(r.dma);
    this.#bell = new Doorbell(r.control);
    this.#irq = new InterruptLine(r.control);
    this.#port = port;
    this.#mac = opts.mac.slice(0, 6);
    this.#mtu = opts.mtu ?? 1500;
    this.#carrier = opts.linkUp ?? true;
    this.#offload = { ...NO_OFFLOADS, mtu: this.#mtu };
    this.#reset();
    port.onFrame((f) => this.receive(f));
  }

  /** Latch status, feature and queue registers; drain the TX queue once DRIVER_OK. */
  service(): void {
    const seq = this.#bell.sequence;
    const regs = this.#regs;
    this.#serviceStatus();
    const sel = regs.read(REG.DEVICE_FEATURES_SEL);
    regs.poke(
      REG.DEVICE_FEATURES,
      sel < 2 ? Number((DEVICE_FEATURES >> BigInt(32 * sel)) & 0xffffffffn) : 0,
    );
    if (!(this.#status & STATUS.FEATURES_OK)) {
      const dsel = regs.read(REG.DRIVER_FEATURES_SEL);
      if (dsel < 2) this.#driverFeatures[dsel] = regs.read(REG.DRIVER_FEATURES);
    }
    this.#serviceQueueRegs();
    if (this.#status & STATUS.DRIVER_OK) this.#transmit();
    if (regs.read(REG.INTERRUPT_STATUS)) this.#irq.raise();
    this.#bell.serviced(seq);
  }

  /** Change the carrier: updates config status and raises a configuration-change interrupt. */
  setLink(up: boolean): void {
    if (up === this.#carrier) return;
    this.#carrier = up;
    this.#syncStatus();
    this.#regs.poke(REG.CONFIG + NET_CONFIG.STATUS, up ? NET_S_LINK_UP : 0, 2);
    this.#regs.add(REG.CONFIG_GENERATION, 1);
    if (this.#status & STATUS.DRIVER_OK) this.#interrupt(ISR.CONFIG_CHANGE);
  }

  /**
   * Place a frame from the link into the next receive buffer(s) (a super-segment whole, or cut
   * when the driver took no GUEST_TSO), or drop and count.
   */
  receive(frame: Uint8Array): void {
    if (!this.#carrier) return countDrop(this.stats, "rx-link-down");
    this.#syncStatus();
    const rx = this.#queues[QUEUE.RX].dev;
    if (!(this.#status & STATUS.DRIVER_OK) || !rx) return countDrop(this.stats, "rx-disabled");
    if (frame.length < 14 || frame.length > MAX_GSO_LEN) {
      return countDrop(this.stats, "rx-bad-length");
    }
    let pushed = false;
    for (const r of receiveFrames(frame, this.#offload)) {
      if (r.hdr.gsoType === 0 && r.frame.length > MAX_FRAME_LEN) {
        countDrop(this.stats, "rx-bad-length");
        continue;
      }
      pushed = this.#deliver(rx, r.frame, r.hdr) || pushed;
    }
    if (!pushed) return;
    rx.publishUsed();
    if (rx.needsInterrupt(this.#eventIdx)) this.#interrupt(ISR.USED_BUFFER);
  }

  /**
   * Write header and frame into as many chains as it takes (one without MRG_RXBUF). True when
   * chains were returned (filled, or empty because they were unusable).
   */
  #deliver(rx: DeviceQueue, frame: Uint8Array, hdr: NetHdr): boolean {
    const total = NET_HDR_LEN + frame.length;
    const chains: { head: number; parts: ChainPart[] }[] = [];
    let room = 0;
    while (room < total) {
      const c = rx.pop();
      if (!c) {
        rx.unpop(chains.length);
        countDrop(this.stats, "rx-no-buffer");
        return false;
      }
      if (!c.parts || c.parts.some((p) => !p.write)) {
        for (const k of chains) rx.push(k.head, 0, true);
        rx.push(c.head, 0, true);
        countDrop(this.stats, "rx-bad-descriptor");
        return true;
      }
      chains.push({ head: c.head, parts: c.parts });
      for (const p of c.parts) room += p.len;
      if (!this.#mergeable) break;
    }
    if (room < total) {
      for (const k of chains) rx.push(k.head, 0, true);
      countDrop(this.stats, "rx-buffer-too-small");
      return true;
    }
    hdr.numBuffers = chains.length;
    const head = new Uint8Array(NET_HDR_LEN);
    writeFullNetHdr(head, 0, hdr);
    const bytes = this.#dma.bytes;
    let at = 0; // position in header + frame
    for (const c of chains) {
      let written = 0;
      for (const p of c.parts) {
        let dst = p.addr;
        let left = Math.min(p.len, total - at);
        written += left;
        if (at < NET_HDR_LEN && left > 0) {
          const n = Math.min(NET_HDR_LEN - at, left);
          bytes.set(head.subarray(at, at + n), dst);
          at += n;
          dst += n;
          left -= n;
        }
        if (left > 0) {
          bytes.set(frame.subarray(at - NET_HDR_LEN, at - NET_HDR_LEN + left), dst);
          at += left;
        }
      }
      rx.push(c.head, written, true);
    }
    countRx(this.stats, frame.length);
    return true;
  }

  /** Status writes take effect at once, even before the next doorbell is serviced. */
  #syncStatus(): void {
    if (this.#regs.read(REG.STATUS) !== this.#status) this.#serviceStatus();
  }

  #serviceStatus(): void {
    const regs = this.#regs;
    const status = regs.read(REG.STATUS);
    if (status === 0 && this.#status !== 0) return this.#reset();
    const newly = status & ~this.#status;
    if (newly & STATUS.FEATURES_OK) {
      const wanted = BigInt(this.#driverFeatures[0]) | (BigInt(this.#driverFeatures[1]) << 32n);
      if (
        (wanted & ~DEVICE_FEATURES) !== 0n || !(wanted & featureBit(FEATURE.VERSION_1)) ||
        missingDependency(wanted) !== undefined
      ) {
        regs.clearBits(REG.STATUS, STATUS.FEATURES_OK);
        countDrop(this.stats, "features-rejected");
        this.#status = status & ~STATUS.FEATURES_OK;
        return;
      }
      this.#features = wanted;
      const has = (f: number) => (wanted & featureBit(f)) !== 0n;
      this.#offload = {
        csum: has(FEATURE.NET_CSUM),
        hostTso4: has(FEATURE.NET_HOST_TSO4),
        hostTso6: has(FEATURE.NET_HOST_TSO6),
        guestCsum: has(FEATURE.NET_GUEST_CSUM),
        guestTso4: has(FEATURE.NET_GUEST_TSO4),
        guestTso6: has(FEATURE.NET_GUEST_TSO6),
        mtu: this.#mtu,
      };
      this.#mergeable = has(FEATURE.NET_MRG_RXBUF);
      this.#eventIdx = has(FEATURE.RING_EVENT_IDX);
    }
    // DRIVER_OK without accepted features (§3.1.1): the device stays inert.
    if ((status & STATUS.DRIVER_OK) && !(status & STATUS.FEATURES_OK)) {
      if (!(this.#status & STATUS.DRIVER_OK)) countDrop(this.stats, "driver-ok-without-features");
      regs.clearBits(REG.STATUS, STATUS.DRIVER_OK);
      this.#status = status & ~STATUS.DRIVER_OK;
      return;
    }
    this.#status = status;
  }

  /** Present the selected queue's registers, or latch them once the driver sets QueueReady. */
  #serviceQueueRegs(): void {
    const regs = this.#regs;
    const sel = regs.read(REG.QUEUE_SEL);
    const q = this.#queues[sel];
    if (sel !== this.#presentedSel) {
      this.#presentedSel = sel;
      regs.poke(REG.QUEUE_NUM_MAX, q ? QUEUE_NUM_MAX : 0);
      regs.poke(REG.QUEUE_READY, q?.ready ? 1 : 0);
      regs.poke(REG.QUEUE_NUM, q?.layout.num ?? 0);
      return;
    }
    if (!q || q.ready || regs.read(REG.QUEUE_READY) !== 1) return;
    const layout: QueueLayout = {
      num: regs.read(REG.QUEUE_NUM),
      desc: regs.read(REG.QUEUE_DESC_LOW),
      avail: regs.read(REG.QUEUE_DRIVER_LOW),
      used: regs.read(REG.QUEUE_DEVICE_LOW),
    };
    const n = layout.num;
    const ok = n > 0 && n <= QUEUE_NUM_MAX && (n & (n - 1)) === 0 &&
      this.#dma.contains(layout.desc, 16 * n) && this.#dma.contains(layout.avail, 6 + 2 * n) &&
      this.#dma.contains(layout.used, 6 + 8 * n) && (layout.avail & 1) === 0 &&
      (layout.used & 3) === 0;
    if (!ok) {
      countDrop(this.stats, "queue-rejected");
      regs.poke(REG.QUEUE_READY, 0);
      return;
    }
    const dev = new DeviceQueue(this.#dma, layout);
    // Receive buffers are taken when frames arrive: the driver need not notify about them.
    if (sel === QUEUE.RX && !this.#eventIdx) dev.setUsedFlags(USED_F_NO_NOTIFY);
    this.#queues[sel] = { layout, ready: true, dev };
  }

  /**
   * Drain the TX queue. While draining, notifications are off (NO_NOTIFY, or with EVENT_IDX an
   * `avail_event` left behind); then they are re-armed and the queue checked once more.
   */
  #transmit(): void {
    const tx = this.#queues[QUEUE.TX].dev;
    if (!tx) return;
    let sent = 0;
    do {
      if (!this.#eventIdx) tx.setUsedFlags(USED_F_NO_NOTIFY);
      for (let c = tx.pop(); c; c = tx.pop()) {
        this.#sendChain(c.parts);
        tx.push(c.head, 0, true);
        sent++;
      }
      if (this.#eventIdx) tx.setAvailEvent();
      else tx.setUsedFlags(0);
    } while (tx.pending > 0);
    if (!sent) return;
    tx.publishUsed();
    if (tx.needsInterrupt(this.#eventIdx)) this.#interrupt(ISR.USED_BUFFER);
  }

  #sendChain(parts: ChainPart[] | null): void {
    if (!parts) return countDrop(this.stats, "tx-bad-descriptor");
    let total = 0;
    for (const p of parts) {
      if (p.write) return countDrop(this.stats, "tx-bad-descriptor");
      total += p.len;
    }
    if (total < NET_HDR_LEN + 14 || total > NET_HDR_LEN + MAX_GSO_LEN) {
      return countDrop(this.stats, "tx-bad-length");
    }
    const bytes = this.#dma.bytes;
    let packet: Uint8Array;
    if (parts.length === 1) packet = bytes.slice(parts[0].addr, parts[0].addr + total);
    else {
      packet = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        packet.set(bytes.subarray(p.addr, p.addr + p.len), at);
        at += p.len;
      }
    }
    const r = transmitFrames(readNetHdr(packet, 0), packet.subarray(NET_HDR_LEN), this.#offload);
    if ("drop" in r) return countDrop(this.stats, r.drop);
    if (!this.#carrier) return countDrop(this.stats, "tx-link-down");
    for (const f of r.frames) {
      countTx(this.stats, f.length);
      this.#port.send(f);
    }
  }

  #interrupt(bits: number): void {
    this.#regs.setBits(REG.INTERRUPT_STATUS, bits);
    this.#irq.raise();
  }

  /** Power-on / status 0: identity registers, config space, queues forgotten. */
  #reset(): void {
    const regs = this.#regs;
    regs.clearAll();
    regs.poke(REG.MAGIC, MAGIC);
    regs.poke(REG.VERSION, 2);
    regs.poke(REG.DEVICE_ID, DEVICE_ID_NET);
    regs.poke(REG.VENDOR_ID, 0x554d4551);
    for (let i = 0; i < 6; i++) regs.poke(REG.CONFIG + NET_CONFIG.MAC + i, this.#mac[i], 1);
    regs.poke(REG.CONFIG + NET_CONFIG.STATUS, this.#carrier ? NET_S_LINK_UP : 0, 2);
    regs.poke(REG.CONFIG + NET_CONFIG.MAX_PAIRS, 1, 2);
    regs.poke(REG.CONFIG + NET_CONFIG.MTU, this.#mtu, 2);
    const idle = (): QueueState => ({
      layout: { num: 0, desc: 0, avail: 0, used: 0 },
      ready: false,
    });
    this.#queues = [idle(), idle()];
    this.#status = 0;
    this.#driverFeatures = [0, 0];
    this.#features = 0n;
    this.#offload = { ...NO_OFFLOADS, mtu: this.#mtu };
    this.#mergeable = this.#eventIdx = false;
    this.#presentedSel = -1;
  }
}
