/**
 * virtio-net offloads: feature negotiation (all on, each off, refused), checksum offload both
 * ways checked by recomputation, TSO super-segments crossing a switch whole or cut for a peer
 * without GUEST_TSO (tshark-clean in a pcap), mergeable receive buffers, EVENT_IDX kick and
 * interrupt counts, and hostile descriptors and headers counted and dropped.
 */
import assert from "node:assert/strict";
import { memoryLinkPair } from "../hw/frame_pump.ts";
import { Doorbell, InterruptLine } from "../hw/control.ts";
import { DmaMemory } from "../hw/dma.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { VirtualSwitch } from "../link/switch.ts";
import { ManualClock } from "../../kernel/clock.ts";
import { PcapWriter } from "../../netstack/wire/pcap.ts";
import {
  TCP_MAC_A,
  TCP_MAC_B,
  tcpChecksumsValid,
  tcpFrame,
  tcpPayload,
} from "../link/_tcp_frames.ts";
import { TSHARK_CHECKSUM_PREFS, tsharkProblems, tsharkTest } from "../../tests/tshark.ts";
import { VirtioNetDevice } from "./device.ts";
import { DRIVER_FEATURES, VirtioNetDriver, type VirtioNetDriverOptions } from "./driver.ts";
import { FEATURE, featureBit, QUEUE, REG, STATUS, WRITE_TABLE } from "./registers.ts";
import { allocQueue, DESC_F, DeviceQueue, DriverQueue, type QueueLayout } from "./virtqueue.ts";
import { GSO, HDR_F, NET_HDR_LEN, type NetHdr, writeFullNetHdr } from "./net_header.ts";
import type { LinkPort } from "../link/port.ts";

const all = DRIVER_FEATURES;
const without = (...fs: number[]) => fs.reduce((s, f) => s & ~featureBit(f), all);

interface Nic {
  dev: VirtioNetDevice;
  drv: VirtioNetDriver;
  got: Uint8Array[];
  valid: boolean[];
}

/** A device on `port` with its driver initialised (spinning by servicing the device). */
function nic(port: LinkPort, mac: Uint8Array, opts: VirtioNetDriverOptions = {}): Nic {
  const dev = new VirtioNetDevice(port, { mac });
  const drv = new VirtioNetDriver(dev.resources, { ...opts, spin: () => dev.service() });
  drv.init();
  const n: Nic = { dev, drv, got: [], valid: [] };
  drv.onReceive((fs, ok) => {
    n.got.push(...fs);
    n.valid.push(...ok);
  });
  return n;
}

function pump(...nics: Nic[]): void {
  for (let i = 0; i < 4; i++) {
    for (const n of nics) {
      n.dev.service();
      n.drv.handleInterrupt();
    }
  }
}

/** Two NICs back to back, A's driver with `a` features, B's with `b`. */
function pair(a = all, b = all, opts: VirtioNetDriverOptions = {}) {
  const [la, lb] = memoryLinkPair();
  return [
    nic(la, TCP_MAC_A, { ...opts, features: a }),
    nic(lb, TCP_MAC_B, { ...opts, features: b }),
  ];
}

Deno.test("virtio-net offload: every feature offered is negotiated", () => {
  const [a] = pair();
  for (const f of Object.values(FEATURE)) assert.ok(a.drv.features & featureBit(f), `feature ${f}`);
  assert.equal(a.drv.tso, true);
});

const OPTIONAL = [
  FEATURE.NET_CSUM,
  FEATURE.NET_GUEST_CSUM,
  FEATURE.NET_GUEST_TSO4,
  FEATURE.NET_GUEST_TSO6,
  FEATURE.NET_HOST_TSO4,
  FEATURE.NET_HOST_TSO6,
  FEATURE.NET_MRG_RXBUF,
  FEATURE.RING_EVENT_IDX,
];

for (const off of OPTIONAL) {
  Deno.test(`virtio-net offload: a driver refusing feature ${off} falls back and still carries everything`, () => {
    const [a, b] = pair(without(off), without(off));
    assert.equal(a.drv.features & featureBit(off), 0n);
    assert.deepEqual(a.dev.stats.drops, {});
    // Dependents go too: no TSO without checksum offload, no GUEST_TSO without mergeable buffers.
    if (off === FEATURE.NET_CSUM) {
      assert.equal(a.drv.features & featureBit(FEATURE.NET_HOST_TSO4), 0n);
    }
    if (off === FEATURE.NET_MRG_RXBUF) {
      assert.equal(a.drv.features & featureBit(FEATURE.NET_GUEST_TSO4), 0n);
    }
    const frames = [tcpFrame(4, 40_000), tcpFrame(6, 30_000), tcpFrame(4, 100), tcpFrame(6, 1000)];
    for (const f of frames) assert.equal(a.drv.transmit(f.slice()), true);
    pump(a, b);
    const sent = frames.reduce((n, f) => n + tcpPayload(f).length, 0);
    const got = b.got.reduce((n, f) => n + tcpPayload(f).length, 0);
    assert.equal(got, sent);
    assert.ok(b.got.every(tcpChecksumsValid));
    assert.deepEqual(a.drv.stats.drops, {});
    assert.deepEqual(b.drv.stats.drops, {});
    assert.deepEqual(b.dev.stats.drops, {});
  });
}

/** Bring a device up by hand, as a hostile or minimal driver would, with `features`. */
function rawDevice(features: bigint) {
  const sent: Uint8Array[] = [];
  const [la, lb] = memoryLinkPair();
  lb.onFrame((f) => sent.push(f));
  const dev = new VirtioNetDevice(la, { mac: TCP_MAC_A });
  const regs = new MmioWindow(dev.resources.mmio, dev.resources.control, WRITE_TABLE);
  const dma = new DmaMemory(dev.resources.dma);
  const w = (r: number, v: number) => {
    regs.write(r, v);
    dev.service();
  };
  let status = STATUS.ACKNOWLEDGE | STATUS.DRIVER;
  w(REG.STATUS, 0);
  w(REG.STATUS, status);
  w(REG.DRIVER_FEATURES_SEL, 0);
  w(REG.DRIVER_FEATURES, Number(features & 0xffffffffn));
  w(REG.DRIVER_FEATURES_SEL, 1);
  w(REG.DRIVER_FEATURES, Number(features >> 32n));
  w(REG.STATUS, status |= STATUS.FEATURES_OK);
  const accepted = (regs.read(REG.STATUS) & STATUS.FEATURES_OK) !== 0;
  const layouts: QueueLayout[] = [];
  for (const q of [QUEUE.RX, QUEUE.TX]) {
    w(REG.QUEUE_SEL, q);
    const l = allocQueue(dma, 16);
    w(REG.QUEUE_NUM, 16);
    w(REG.QUEUE_DESC_LOW, l.desc);
    w(REG.QUEUE_DRIVER_LOW, l.avail);
    w(REG.QUEUE_DEVICE_LOW, l.used);
    w(REG.QUEUE_READY, 1);
    layouts.push(l);
  }
  w(REG.STATUS, status | STATUS.DRIVER_OK);
  const rx = new DriverQueue(dma, layouts[0]);
  const tx = new DriverQueue(dma, layouts[1]);
  const buf = dma.alloc(16 * 2048);
  /** Transmit header `h` and `frame` as one descriptor (or as the given chain). */
  const send = (h: NetHdr, frame: Uint8Array) => {
    writeFullNetHdr(dma.bytes, buf, h);
    dma.bytes.set(frame, buf + NET_HDR_LEN);
    tx.setDesc(0, buf, NET_HDR_LEN + frame.length, 0);
    tx.stage(0);
    tx.publish();
    w(REG.QUEUE_NOTIFY, QUEUE.TX);
  };
  return { dev, dma, regs, rx, tx, sent, buf, send, accepted, w, link: lb };
}

Deno.test("virtio-net offload: the device refuses a feature set missing a dependency", () => {
  const v1 = featureBit(FEATURE.VERSION_1);
  const bad = rawDevice(v1 | featureBit(FEATURE.NET_HOST_TSO4)); // TSO without CSUM
  assert.equal(bad.accepted, false);
  assert.ok(bad.dev.stats.drops["features-rejected"] >= 1);
  bad.send(PLAIN, tcpFrame(4, 10));
  assert.equal(bad.sent.length, 0); // never got to DRIVER_OK
  const fine = rawDevice(v1 | featureBit(FEATURE.NET_HOST_TSO4) | featureBit(FEATURE.NET_CSUM));
  assert.equal(fine.accepted, true);
  assert.equal(rawDevice(featureBit(FEATURE.NET_CSUM)).accepted, false); // no VERSION_1
});

const PLAIN: NetHdr = {
  flags: 0,
  gsoType: 0,
  hdrLen: 0,
  gsoSize: 0,
  csumStart: 0,
  csumOffset: 0,
  numBuffers: 0,
};

Deno.test("virtio-net offload: driver → device NEEDS_CSUM and device → driver DATA_VALID, verified by recomputation", () => {
  const [a, b] = pair();
  for (const v of [4, 6] as const) {
    const good = tcpFrame(v, 700);
    const tcp = v === 4 ? 34 : 54;
    const partial = toPartial(good, tcp);
    assert.equal(tcpChecksumsValid(partial), false);
    assert.equal(a.drv.transmit(partial, { csumStart: tcp, csumOffset: 16 }), true);
    const broken = good.slice();
    broken[tcp + 40] ^= 1;
    a.drv.transmit(broken);
  }
  pump(a, b);
  assert.equal(b.got.length, 4);
  assert.ok(tcpChecksumsValid(b.got[0]) && tcpChecksumsValid(b.got[2]));
  assert.deepEqual(b.got[0], tcpFrame(4, 700));
  assert.deepEqual(b.got[2], tcpFrame(6, 700));
  assert.deepEqual(b.valid, [true, false, true, false]);
});

/**
 * A copy of `good` whose TCP checksum field holds the partial sum (the pseudo-header sum, as
 * Linux leaves it for NEEDS_CSUM): the valid field's complement minus the segment's own sum.
 */
function toPartial(good: Uint8Array, tcp: number): Uint8Array {
  const partial = good.slice();
  partial[tcp + 16] = partial[tcp + 17] = 0;
  const segSum = _fold(_sum(partial.subarray(tcp)));
  const valid = (good[tcp + 16] << 8) | good[tcp + 17];
  const pseudo = _fold((~valid & 0xffff) + (~segSum & 0xffff));
  partial[tcp + 16] = pseudo >>> 8;
  partial[tcp + 17] = pseudo & 0xff;
  return partial;
}

function _sum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  return s;
}

function _fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

Deno.test("virtio-net offload: a TSO super-segment crosses whole to a GUEST_TSO driver, spanning mergeable buffers", () => {
  const [a, b] = pair();
  const big = tcpFrame(4, 60_000);
  const txBell = new Doorbell(a.dev.resources.control);
  const before = txBell.sequence;
  assert.equal(a.drv.transmit(big.slice()), true);
  assert.equal(txBell.sequence, before + 1);
  pump(a, b);
  assert.equal(b.got.length, 1);
  assert.deepEqual(b.got[0], big);
  assert.deepEqual(b.valid, [true]);
  assert.equal(a.dev.stats.txPackets, 1);
  assert.equal(b.dev.stats.rxPackets, 1);
  // 60 KB over 2 KiB buffers: one packet in ~30 buffers, handed back and reposted.
  assert.deepEqual(b.drv.stats.drops, {});
});

tsharkTest(
  "virtio-net offload: a super-segment through a switch reaches a non-TSO host as valid MSS segments (tshark clean)",
  async () => {
    const sw = new VirtualSwitch({ clock: new ManualClock() });
    const capture = new PcapWriter();
    const spy = sw.connect();
    const a = nic(sw.connect(), TCP_MAC_A);
    const bPort = sw.connect();
    const b = nic(
      {
        send: (f) => bPort.send(f),
        onFrame: (h) => bPort.onFrame((f) => h(f)),
        close: () => bPort.close(),
      },
      TCP_MAC_B,
      { features: without(FEATURE.NET_GUEST_TSO4, FEATURE.NET_GUEST_TSO6) },
    );
    void spy;
    // B learns its port first so the switch forwards to it alone.
    b.drv.transmit(tcpFrame(4, 10, { dst: TCP_MAC_A }));
    pump(a, b);
    a.got.length = 0;
    const big = tcpFrame(4, 50_000, { flags: 0x18 });
    a.drv.transmit(big.slice());
    pump(a, b);
    const mss = 1500 - 20 - 32;
    assert.equal(b.got.length, Math.ceil(50_000 / mss));
    assert.ok(b.got.every((f) => f.length <= 1514 && tcpChecksumsValid(f)));
    assert.deepEqual(b.valid, b.got.map(() => true));
    const joined = b.got.flatMap((f) => [...tcpPayload(f)]);
    assert.deepEqual(new Uint8Array(joined), tcpPayload(big));
    for (const f of b.got) capture.write(f, 0);
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(path, capture.bytes());
      assert.deepEqual(await tsharkProblems(path, TSHARK_CHECKSUM_PREFS), []);
    } finally {
      await Deno.remove(path);
    }
  },
);

Deno.test("virtio-net offload: with EVENT_IDX a burst costs one kick; without, one per frame", () => {
  for (const eventIdx of [true, false]) {
    const features = eventIdx ? all : without(FEATURE.RING_EVENT_IDX);
    const [a, b] = pair(features, features);
    const bell = new Doorbell(a.dev.resources.control);
    const before = bell.sequence;
    const kicks = a.drv.kicks;
    for (let i = 0; i < 50; i++) a.drv.transmit(tcpFrame(4, 100, { seq: i }));
    const n = a.drv.kicks - kicks;
    assert.equal(bell.sequence - before, n);
    // EVENT_IDX: the device has not caught up, so its avail_event says "no more kicks".
    assert.equal(n, eventIdx ? 1 : 50);
    const line = new InterruptLine(a.dev.resources.control);
    line.take();
    const irqs = line.count;
    a.dev.service();
    assert.equal(line.count, irqs, "TX completions raise no interrupt");
    assert.equal(a.dev.stats.txPackets, 50);
    pump(a, b);
    assert.equal(b.got.length, 50);
    // Staged frames and one kick per burst, either way.
    const k2 = a.drv.kicks;
    for (let i = 0; i < 10; i++) a.drv.stage(tcpFrame(4, 100));
    a.drv.kick();
    assert.equal(a.drv.kicks - k2, 1);
  }
});

Deno.test("virtio-net offload: hostile transmit headers and descriptors are counted and dropped", () => {
  const d = rawDevice(all);
  const f4 = tcpFrame(4, 3000);
  const gso4 = {
    ...PLAIN,
    flags: HDR_F.NEEDS_CSUM,
    gsoType: GSO.TCPV4,
    hdrLen: 66,
    gsoSize: 1448,
    csumStart: 34,
    csumOffset: 16,
  };
  const cases: Array<[string, NetHdr, Uint8Array]> = [
    ["tx-bad-checksum-request", {
      ...PLAIN,
      flags: HDR_F.NEEDS_CSUM,
      csumStart: 200,
      csumOffset: 0,
    }, tcpFrame(4, 10)],
    ["tx-bad-checksum-request", {
      ...PLAIN,
      flags: HDR_F.NEEDS_CSUM,
      csumStart: 34,
      csumOffset: 5000,
    }, tcpFrame(4, 10)],
    ["tx-gso-size-zero", { ...gso4, gsoSize: 0 }, f4.slice()],
    ["tx-bad-hdr-len", { ...gso4, hdrLen: 4000 }, f4.slice()],
    ["tx-gso-not-tcp", { ...gso4, gsoType: GSO.TCPV6 }, f4.slice()],
    ["tx-bad-gso-type", { ...gso4, gsoType: GSO.UDP }, f4.slice()],
    ["tx-gso-without-csum", { ...gso4, flags: 0 }, f4.slice()],
    ["tx-bad-checksum-request", { ...gso4, csumOffset: 6 }, f4.slice()],
    ["tx-bad-length", PLAIN, f4.slice()], // longer than the MTU without GSO
  ];
  for (const [reason, h, frame] of cases) {
    const before = d.dev.stats.drops[reason] ?? 0;
    d.send(h, frame);
    assert.equal(d.dev.stats.drops[reason], before + 1, reason);
  }
  assert.equal(d.sent.length, 0);
  // A descriptor chain that loops, and a writable descriptor on the transmit queue.
  d.tx.setDesc(1, d.buf, 100, DESC_F.NEXT, 2);
  d.tx.setDesc(2, d.buf, 100, DESC_F.NEXT, 1);
  d.tx.stage(1);
  d.tx.setDesc(3, d.buf, 100, DESC_F.WRITE);
  d.tx.stage(3);
  d.tx.setDesc(4, d.buf, 100, DESC_F.NEXT, 99); // next beyond the table
  d.tx.stage(4);
  d.tx.setDesc(5, 1 << 30, 100, 0); // outside DMA memory
  d.tx.stage(5);
  d.tx.publish();
  d.w(REG.QUEUE_NOTIFY, QUEUE.TX);
  assert.equal(d.dev.stats.drops["tx-bad-descriptor"], 4);
  // A well-formed super-segment after all that still goes out whole.
  d.send(gso4, toPartial(f4, 34));
  assert.equal(d.sent.length, 1);
  assert.ok(tcpChecksumsValid(d.sent[0]));
  // A TSO driver without HOST_TSO negotiated is refused.
  const noTso = rawDevice(without(FEATURE.NET_HOST_TSO4, FEATURE.NET_HOST_TSO6));
  noTso.send(gso4, f4.slice());
  assert.equal(noTso.dev.stats.drops["tx-gso-not-negotiated"], 1);
});

Deno.test("virtio-net offload: hostile receive buffers are returned empty and counted", () => {
  const d = rawDevice(all);
  d.rx.setDesc(0, d.buf, 2048, 0); // read-only: the device must not write it
  d.rx.stage(0);
  d.rx.setDesc(1, d.buf, 2048, DESC_F.WRITE | DESC_F.NEXT, 1); // loops on itself
  d.rx.stage(1);
  d.rx.publish();
  d.link.send(tcpFrame(4, 100, { dst: TCP_MAC_A }));
  d.link.send(tcpFrame(4, 100, { dst: TCP_MAC_A }));
  assert.equal(d.dev.stats.drops["rx-bad-descriptor"], 2);
  assert.deepEqual([d.rx.popUsed()?.len, d.rx.popUsed()?.len], [0, 0]);
  // No buffers at all: a super-segment is dropped whole, nothing half-written.
  d.link.send(tcpFrame(4, 30_000, { dst: TCP_MAC_A }));
  assert.equal(d.dev.stats.drops["rx-no-buffer"], 1);
  assert.equal(d.rx.popUsed(), undefined);
});

Deno.test("virtio-net offload: the driver drops a used buffer whose num_buffers lies", () => {
  const [la] = memoryLinkPair();
  const dev = new VirtioNetDevice(la, { mac: TCP_MAC_A });
  const drv = new VirtioNetDriver(dev.resources, { queueSize: 16, spin: () => dev.service() });
  drv.init();
  const got: Uint8Array[] = [];
  drv.onReceive((fs) => got.push(...fs));
  // Play the device: the RX queue is the first thing the driver allocated.
  const scratch = new DmaMemory(new SharedArrayBuffer(dev.resources.dma.byteLength));
  const layout = allocQueue(scratch, 16);
  const dma = new DmaMemory(dev.resources.dma);
  const hostile = new DeviceQueue(dma, layout);
  const put = (frame: Uint8Array, numBuffers: number) => {
    const c = hostile.pop()!;
    const at = c.parts![0].addr;
    writeFullNetHdr(dma.bytes, at, { ...PLAIN, numBuffers });
    dma.bytes.set(frame, at + NET_HDR_LEN);
    hostile.push(c.head, NET_HDR_LEN + frame.length);
  };
  put(tcpFrame(4, 100), 5); // claims five buffers, only one is there
  drv.handleInterrupt();
  assert.equal(drv.stats.drops["rx-bad-num-buffers"], 1);
  put(tcpFrame(4, 100), 0);
  drv.handleInterrupt();
  assert.equal(drv.stats.drops["rx-bad-num-buffers"], 2);
  put(tcpFrame(4, 100), 1);
  drv.handleInterrupt();
  assert.deepEqual(got, [tcpFrame(4, 100)]);
});
