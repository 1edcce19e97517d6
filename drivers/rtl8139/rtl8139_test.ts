import assert from "node:assert/strict";
import { numberedFrame, sendAll } from "../hw/frame_pump.ts";
import * as check from "../hw/_nic_checks.ts";
import { MAC_A, MAC_B, type NicUnderTest, pairOf, seqOf } from "../hw/_nic_test_harness.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { DmaMemory } from "../hw/dma.ts";
import { fcs } from "../hw/fcs.ts";
import { Rtl8139Device } from "./device.ts";
import { Rtl8139Driver, type Rtl8139DriverOptions } from "./driver.ts";
import { CR, REG, RX_STATUS, TSD, WRITE_TABLE } from "./registers.ts";
import { caprFor, readFromCapr } from "./rx_ring.ts";

const RTL8139: NicUnderTest<Rtl8139Device, Rtl8139Driver, Rtl8139DriverOptions> = {
  device: (link, mac) => new Rtl8139Device(link, { mac }),
  driver: (resources, opts) => new Rtl8139Driver(resources, opts),
};

const pair = pairOf(RTL8139);

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
  check.macAndLinkUp(p);
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
    check.inOrderOneByOne(
      p,
      Array.from({ length: 120 }, (_, i) => sized(i, 700 + ((i * 37) % 800))),
    );
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
  const regs = new MmioWindow(p.devA.resources.mmio, p.devA.resources.control, WRITE_TABLE);
  check.txBackPressure(p, {
    frame: (i) => sized(i, 60),
    capacity: 4,
    drain: () => {
      assert.equal(regs.read(REG.TSD0) & TSD.OWN, 0);
      p.devA.service();
      assert.equal(regs.read(REG.TSD0) & (TSD.OWN | TSD.TOK), TSD.OWN | TSD.TOK);
    },
    pumpsAfter: 2,
  });
});

Deno.test("rtl8139: link change raises LinkChg and the driver reports it", () => {
  check.linkChange(pair());
});

Deno.test("rtl8139: 10,000 frames of 60..1514 bytes arrive byte-identical and in order", () => {
  check.tenThousandFrames(pair());
});
