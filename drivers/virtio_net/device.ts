/**
 * virtio-net device model over virtio-mmio: status handshake, 64-bit feature negotiation
 * through the select registers, two split virtqueues (RX 0, TX 1), the 12-byte net header with
 * checksum completion on transmit (NEEDS_CSUM) and DATA_VALID on receive, and notification
 * suppression (used.flags NO_NOTIFY while it is draining, avail.flags NO_INTERRUPT honoured).
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
  MMIO_SIZE,
  NET_CONFIG,
  NET_S_LINK_UP,
  QUEUE,
  REG,
  STATUS,
  WRITE_TABLE,
} from "./registers.ts";
import { type ChainPart, DeviceQueue, type QueueLayout, USED_F_NO_NOTIFY } from "./virtqueue.ts";
import {
  completeChecksum,
  HDR,
  HDR_F,
  l4ChecksumValid,
  NET_HDR_LEN,
  readChecksumRequest,
  writeNetHdr,
} from "./net_header.ts";

/** Largest queue the device offers. */
export const QUEUE_NUM_MAX = 256;
/** Largest frame (no FCS) accepted or sent: 1514 + VLAN tag. */
const MAX_FRAME_LEN = 1518;

/** Features this model offers. */
export const DEVICE_FEATURES = featureBit(FEATURE.NET_CSUM) | featureBit(FEATURE.NET_GUEST_CSUM) |
  featureBit(FEATURE.NET_MTU) | featureBit(FEATURE.NET_MAC) | featureBit(FEATURE.NET_STATUS) |
  featureBit(FEATURE.VERSION_1);

/** Options for {@link VirtioNetDevice}. */
export interface VirtioNetDeviceOptions {
  /** Station address in the config space. */
  mac: Uint8Array;
  /** Guest memory given to the driver, bytes. Default 2 MiB. */
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
  #csum = false;
  #guestCsum = false;
  #queues: QueueState[] = [];
  #presentedSel = -1;

  /** Build the device, power it on and attach it to `port`. */
  constructor(port: LinkPort, opts: VirtioNetDeviceOptions) {
    this.resources = createResources("virtio-net", MMIO_SIZE, opts.dmaSize ?? 2 << 20);
    const r = this.resources;
    this.#regs = new MmioWindow(r.mmio, r.control, WRITE_TABLE);
    this.#dma = new DmaMemory(r.dma);
    this.#bell = new Doorbell(r.control);
    this.#irq = new InterruptLine(r.control);
    this.#port = port;
    this.#mac = opts.mac.slice(0, 6);
    this.#mtu = opts.mtu ?? 1500;
    this.#carrier = opts.linkUp ?? true;
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

  /** Place a frame from the link into the next receive buffer, or drop and count. */
  receive(frame: Uint8Array): void {
    if (!this.#carrier) return countDrop(this.stats, "rx-link-down");
    this.#syncStatus();
    const rx = this.#queues[QUEUE.RX].dev;
    if (!(this.#status & STATUS.DRIVER_OK) || !rx) return countDrop(this.stats, "rx-disabled");
    if (frame.length < 14 || frame.length > MAX_FRAME_LEN) {
      return countDrop(this.stats, "rx-bad-length");
    }
    const chain = rx.pop();
    if (!chain) return countDrop(this.stats, "rx-no-buffer");
    const room = chain.parts?.reduce((n, p) => (p.write ? n + p.len : n), 0) ?? 0;
    if (!chain.parts || room < NET_HDR_LEN + frame.length) {
      countDrop(this.stats, chain.parts ? "rx-buffer-too-small" : "rx-bad-descriptor");
      rx.push(chain.head, 0);
      return this.#used(rx);
    }
    const total = NET_HDR_LEN + frame.length;
    const flags = this.#guestCsum && l4ChecksumValid(frame) ? HDR_F.DATA_VALID : 0;
    const first = chain.parts[0];
    if (first.write && first.len >= total) {
      // Fast path: one buffer holds header and frame.
      writeNetHdr(this.#dma.bytes, first.addr, flags);
      this.#dma.bytes[first.addr + HDR.NUM_BUFFERS] = 1;
      this.#dma.copyIn(first.addr + NET_HDR_LEN, frame);
    } else this.#scatter(chain.parts, frame, flags);
    rx.push(chain.head, total);
    countRx(this.stats, frame.length);
    this.#used(rx);
  }

  /** Status writes take effect at once, even before the next doorbell is serviced. */
  #syncStatus(): void {
    if (this.#regs.read(REG.STATUS) !== this.#status) this.#serviceStatus();
  }

  /** Spread header and frame over the writable buffers of a chain. */
  #scatter(parts: ChainPart[], frame: Uint8Array, flags: number): void {
    const packet = new Uint8Array(NET_HDR_LEN + frame.length);
    writeNetHdr(packet, 0, flags);
    packet[HDR.NUM_BUFFERS] = 1;
    packet.set(frame, NET_HDR_LEN);
    let at = 0;
    for (const p of parts) {
      if (!p.write || at === packet.length) continue;
      const n = Math.min(p.len, packet.length - at);
      this.#dma.copyIn(p.addr, packet.subarray(at, at + n));
      at += n;
    }
  }

  #serviceStatus(): void {
    const regs = this.#regs;
    const status = regs.read(REG.STATUS);
    if (status === 0 && this.#status !== 0) return this.#reset();
    const newly = status & ~this.#status;
    if (newly & STATUS.FEATURES_OK) {
      const wanted = BigInt(this.#driverFeatures[0]) | (BigInt(this.#driverFeatures[1]) << 32n);
      if ((wanted & ~DEVICE_FEATURES) !== 0n || !(wanted & featureBit(FEATURE.VERSION_1))) {
        regs.clearBits(REG.STATUS, STATUS.FEATURES_OK);
        countDrop(this.stats, "features-rejected");
        this.#status = status & ~STATUS.FEATURES_OK;
        return;
      }
      this.#features = wanted;
      this.#csum = (wanted & featureBit(FEATURE.NET_CSUM)) !== 0n;
      this.#guestCsum = (wanted & featureBit(FEATURE.NET_GUEST_CSUM)) !== 0n;
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
    this.#queues[sel] = { layout, ready: true, dev: new DeviceQueue(this.#dma, layout) };
  }

  /** Drain the TX queue; NO_NOTIFY is set while draining, then the queue is checked again. */
  #transmit(): void {
    const tx = this.#queues[QUEUE.TX].dev;
    if (!tx) return;
    let sent = 0;
    do {
      tx.setUsedFlags(USED_F_NO_NOTIFY);
      for (let c = tx.pop(); c; c = tx.pop()) {
        this.#sendChain(c.parts);
        tx.push(c.head, 0);
        sent++;
      }
      tx.setUsedFlags(0);
    } while (tx.pending > 0);
    if (sent) this.#used(tx);
  }

  #sendChain(parts: ChainPart[] | null): void {
    if (!parts) return countDrop(this.stats, "tx-bad-descriptor");
    let total = 0;
    for (const p of parts) {
      if (p.write) return countDrop(this.stats, "tx-bad-descriptor");
      total += p.len;
    }
    if (total < NET_HDR_LEN + 14 || total > NET_HDR_LEN + MAX_FRAME_LEN) {
      return countDrop(this.stats, "tx-bad-length");
    }
    const bytes = this.#dma.bytes;
    let frame: Uint8Array;
    let hdr: Uint8Array;
    if (parts.length === 1) {
      // Fast path: header and frame in one buffer; copy the frame out once.
      hdr = bytes.subarray(parts[0].addr, parts[0].addr + NET_HDR_LEN);
      frame = bytes.slice(parts[0].addr + NET_HDR_LEN, parts[0].addr + total);
    } else {
      const packet = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        packet.set(bytes.subarray(p.addr, p.addr + p.len), at);
        at += p.len;
      }
      hdr = packet.subarray(0, NET_HDR_LEN);
      frame = packet.subarray(NET_HDR_LEN);
    }
    if (hdr[HDR.FLAGS] & HDR_F.NEEDS_CSUM) {
      const req = readChecksumRequest(hdr, 0);
      if (!this.#csum || !completeChecksum(frame, req.csumStart, req.csumOffset)) {
        return countDrop(this.stats, "tx-bad-checksum-request");
      }
    }
    if (!this.#carrier) return countDrop(this.stats, "tx-link-down");
    countTx(this.stats, frame.length);
    this.#port.send(frame);
  }

  /** A queue returned buffers: interrupt unless the driver suppressed it for that queue. */
  #used(q: DeviceQueue): void {
    if (!q.interruptSuppressed) this.#interrupt(ISR.USED_BUFFER);
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
    this.#csum = this.#guestCsum = false;
    this.#presentedSel = -1;
  }
}
