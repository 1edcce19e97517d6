import assert from "node:assert/strict";
import {
  memoryLinkPair,
  type NicPair,
  numberedFrame,
  pumpOnce,
  sendAll,
} from "../hw/frame_pump.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { InterruptLine } from "../hw/control.ts";
import { DmaMemory } from "../hw/dma.ts";
import { fcs } from "../hw/fcs.ts";
import { Rtl8139Device } from "./device.ts";
import { Rtl8139Driver, type Rtl8139DriverOptions } from "./driver.ts";
import { CR, REG, RX_STATUS, TSD, WRITE_TABLE } from "./registers.ts";
import { caprFor, readFromCapr } from "./rx_ring.ts";

const MAC_A = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const MAC_B = new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

function pair(opts: Rtl8139DriverOptions = {}): NicPair & { received: Uint8Array[] } {
  const [la, lb] = memoryLinkPair();
  const devA = new Rtl8139Device(la, { mac: MAC_A });
  const devB = new Rtl8139Device(lb, { mac: MAC_B });
  const drvA = new Rtl8139Driver(devA.resources, { ...opts, spin: () => devA.service() });
  const drvB = new Rtl8139Driver(devB.resources, { ...opts, spin: () => devB.service() });
  drvA.init();
  drvB.init();
  const received: Uint8Array[] = [];
  drvB.onReceive((fs) => received.push(...fs));
  return { devA, drvA, devB, drvB, received };
}

function seqOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}

function sized(i: number, size: number): Uint8Array {
  const f = numberedFrame(i, MAC_B, MAC_A).slice(0, 18);
  const out = new Uint8Array(size);
  out.set(f);
  out.fill(i & 0xff, 18);
  return out;
}

Deno.test("rtl8139: CAPR carries the read offset minus 16", () => {
  assert.equal(caprFor(0), 0xfff0);
  assert.equal(readFromCapr(0xfff0), 0);
  assert.equal(readFromCapr(caprFor(8188)), 8188);
});

Deno.test("rtl8139: the driver reads the MAC from IDR0-5 after reset and sees the link up", () => {
  const p = pair();
  assert.deepEqual(p.drvA.mac, MAC_A);
  assert.deepEqual(p.drvB.mac, MAC_B);
  assert.equal(p.drvA.linkUp, true);
  assert.deepEqual(p.drvA.stats.drops, {});
});

Deno.test("rtl8139: packet header has ROK|PAM, length with CRC, and the FCS after the frame", () => {
  const p = pair();
  const f = sized(1, 100);
  const dma = new DmaMemory(p.devB.resources.dma);
  const regs = new MmioWindow(p.devB.resources.mmio, p.devB.resources.control, WRITE_TABLE);
  p.devB.service();
  assert.equal(regs.read(REG.CR, 1) & CR.BUFE, CR.BUFE);
  p.drvA.transmit(f);
  p.devA.service();
  assert.equal(regs.read(REG.CR, 1) & CR.BUFE, 0);
  const base = regs.read(REG.RBSTART);
  assert.equal(dma.read16(base), RX_STATUS.ROK | RX_STATUS.PAM);
  assert.equal(dma.read16(base + 2), 104);
  assert.equal(dma.read32(base + 4 + 100), fcs(f));
  assert.equal(regs.read(REG.CBR, 2), 108);
  p.drvB.handleInterrupt();
  assert.deepEqual(p.received, [f]);
  assert.equal(regs.read(REG.CAPR, 2), 108 - 16);
  p.devB.service();
  assert.equal(regs.read(REG.CR, 1) & CR.BUFE, CR.BUFE);
});

for (const wrap of [true, false]) {
  Deno.test(`rtl8139: ring and TX slots wrap >3x in order (WRAP=${wrap})`, () => {
    const p = pair({ wrap });
    const frames = Array.from({ length: 120 }, (_, i) => sized(i, 700 + ((i * 37) % 800)));
    for (const f of frames) {
      assert.equal(p.drvA.transmit(f), true);
      pumpOnce(p);
    }
    assert.equal(p.received.length, 120);
    p.received.forEach((f, i) => assert.deepEqual(f, frames[i]));
    assert.ok(p.devB.stats.rxBytes > 3 * 8192);
  });
}

Deno.test("rtl8139: a full receive ring drops and counts (MPC, RXOVW) without overwriting", () => {
  const p = pair();
  for (let burst = 0; burst < 2; burst++) {
    for (let i = 0; i < 4; i++) assert.equal(p.drvA.transmit(sized(burst * 4 + i, 1514)), true);
    p.devA.service();
    p.drvA.handleInterrupt();
  }
  // Each 1514-byte frame takes 1524 ring bytes: five fit in 8K, the other three are dropped.
  assert.equal(p.devB.stats.rxPackets, 5);
  assert.equal(p.devB.stats.drops["rx-overflow"], 3);
  p.drvB.handleInterrupt();
  assert.deepEqual(p.received.map(seqOf), [0, 1, 2, 3, 4]);
  assert.equal(p.drvB.stats.drops["rx-overflow"], 3);
  sendAll(p, [sized(9, 600)]);
  assert.equal(seqOf(p.received[5]), 9);
});

Deno.test("rtl8139: four busy TX slots return false and recover after the device drains", () => {
  const p = pair();
  for (let i = 0; i < 4; i++) assert.equal(p.drvA.transmit(sized(i, 60)), true);
  assert.equal(p.drvA.transmit(sized(4, 60)), false);
  const regs = new MmioWindow(p.devA.resources.mmio, p.devA.resources.control, WRITE_TABLE);
  assert.equal(regs.read(REG.TSD0) & TSD.OWN, 0);
  p.devA.service();
  assert.equal(regs.read(REG.TSD0) & (TSD.OWN | TSD.TOK), TSD.OWN | TSD.TOK);
  assert.equal(p.drvA.transmit(sized(4, 60)), true);
  pumpOnce(p);
  pumpOnce(p);
  assert.deepEqual(p.received.map(seqOf), [0, 1, 2, 3, 4]);
});

Deno.test("rtl8139: link change raises LinkChg and the driver reports it", () => {
  const p = pair();
  const seen: boolean[] = [];
  p.drvB.onLinkChange((up) => seen.push(up));
  const line = new InterruptLine(p.devB.resources.control);
  line.take();
  p.devB.setLink(false);
  assert.equal(line.pending, true);
  p.drvB.handleInterrupt();
  assert.equal(p.drvB.linkUp, false);
  p.devB.setLink(true);
  p.drvB.handleInterrupt();
  assert.deepEqual(seen, [false, true]);
});

Deno.test("rtl8139: 10,000 frames of 60..1514 bytes arrive byte-identical and in order", () => {
  const p = pair();
  let next = 0;
  let bad = 0;
  p.drvB.onReceive((fs) => {
    for (const f of fs) {
      const want = numberedFrame(next++, MAC_B, MAC_A);
      if (f.length !== want.length || !f.every((b, i) => b === want[i])) bad++;
    }
  });
  const gen = function* () {
    for (let i = 0; i < 10_000; i++) yield numberedFrame(i, MAC_B, MAC_A);
  };
  sendAll(p, gen());
  assert.equal(next, 10_000);
  assert.equal(bad, 0);
  assert.deepEqual(p.devB.stats.drops, {});
});
