import assert from "node:assert/strict";
import { numberedFrame, sendAll } from "../hw/frame_pump.ts";
import * as check from "../hw/_nic_checks.ts";
import {
  lonelyDriver,
  MAC_A,
  MAC_B,
  type NicUnderTest,
  pairOf,
  seqOf,
} from "../hw/_nic_test_harness.ts";
import { MmioWindow } from "../hw/mmio.ts";
import { buildEeprom, E1000Device } from "./device.ts";
import { E1000Driver, type E1000DriverOptions } from "./driver.ts";
import { EEPROM_CHECKSUM, REG, WRITE_TABLE } from "./registers.ts";

const E1000: NicUnderTest<E1000Device, E1000Driver, E1000DriverOptions> = {
  device: (link, mac) => new E1000Device(link, { mac }),
  driver: (resources, opts) => new E1000Driver(resources, opts),
};

const pair = pairOf(E1000);

Deno.test("e1000: EEPROM image sums to 0xBABA and the driver reads the MAC through EERD", () => {
  const words = buildEeprom(MAC_A);
  assert.equal(words.reduce((s, w) => (s + w) & 0xffff, 0), EEPROM_CHECKSUM);
  const p = pair();
  check.macAndLinkUp(p);
  assert.equal(p.drvA.stats.drops["eeprom-timeout"], undefined);
});

Deno.test("e1000: without a device to answer EERD the driver falls back to RAL0/RAH0", () => {
  const drv = lonelyDriver(E1000, {});
  assert.deepEqual(drv.mac, MAC_A);
  assert.equal(drv.stats.drops["eeprom-timeout"], 1);
});

Deno.test("e1000: descriptors complete in order across >3x ring wrap-arounds", () => {
  const p = pair({ rxRing: 16, txRing: 16 });
  const regs = new MmioWindow(p.devA.resources.mmio, p.devA.resources.control, WRITE_TABLE);
  check.inOrderOneByOne(p, Array.from({ length: 100 }, (_, i) => numberedFrame(i, MAC_B, MAC_A)));
  assert.equal(regs.read(REG.TDH), 100 % 16);
  assert.equal(regs.read(REG.TDT), 100 % 16);
  assert.equal(p.drvB.stats.rxPackets, 100);
});

Deno.test("e1000: a full RX ring drops and counts (RNBC) instead of overwriting", () => {
  const p = pair({ rxRing: 16, txRing: 32 });
  for (let i = 0; i < 20; i++) assert.equal(p.drvA.transmit(numberedFrame(i, MAC_B, MAC_A)), true);
  p.devA.service(); // 20 frames hit B, whose driver has not run: 15 free descriptors
  assert.equal(p.devB.stats.rxPackets, 15);
  assert.equal(p.devB.stats.drops["rx-no-descriptor"], 5);
  p.drvB.handleInterrupt();
  assert.deepEqual(p.received.map(seqOf), Array.from({ length: 15 }, (_, i) => i));
  assert.equal(p.drvB.stats.drops["rx-no-descriptor"], 5);
  sendAll(p, [numberedFrame(99, MAC_B, MAC_A)]);
  assert.equal(seqOf(p.received[15]), 99);
});

Deno.test("e1000: a full TX ring returns false and recovers after the device drains", () => {
  const p = pair({ txRing: 8 });
  check.txBackPressure(p, {
    frame: (i) => numberedFrame(i, MAC_B, MAC_A),
    capacity: 7,
    drain: () => {
      p.devA.service();
      p.drvA.handleInterrupt();
    },
  });
});

Deno.test("e1000: link change raises LSC and the driver reports it", () => {
  const p = pair();
  check.linkChange(p, () => {
    sendAll(p, [numberedFrame(1, MAC_B, MAC_A)]);
    assert.equal(p.devB.stats.drops["rx-link-down"], 1);
  });
});

Deno.test("e1000: frames for another station are filtered, broadcast accepted", () => {
  const p = pair();
  const other = new Uint8Array([0x52, 0x54, 0, 0, 0, 1]);
  const bcast = new Uint8Array(6).fill(0xff);
  sendAll(p, [numberedFrame(1, other, MAC_A), numberedFrame(2, bcast, MAC_A)]);
  assert.deepEqual(p.received.map(seqOf), [2]);
  assert.equal(p.devB.stats.drops["rx-filtered"], 1);
});

Deno.test("e1000: 10,000 frames of 60..1514 bytes arrive byte-identical and in order", () => {
  check.tenThousandFrames(pair());
});
