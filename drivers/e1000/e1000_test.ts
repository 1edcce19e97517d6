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
import { buildEeprom, E1000Device } from "./device.ts";
import { E1000Driver, type E1000DriverOptions } from "./driver.ts";
import { EEPROM_CHECKSUM, REG, WRITE_TABLE } from "./registers.ts";

const MAC_A = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
const MAC_B = new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

function pair(opts: E1000DriverOptions = {}): NicPair & { received: Uint8Array[] } {
  const [la, lb] = memoryLinkPair();
  const devA = new E1000Device(la, { mac: MAC_A });
  const devB = new E1000Device(lb, { mac: MAC_B });
  const drvA = new E1000Driver(devA.resources, { ...opts, spin: () => devA.service() });
  const drvB = new E1000Driver(devB.resources, { ...opts, spin: () => devB.service() });
  drvA.init();
  drvB.init();
  const received: Uint8Array[] = [];
  drvB.onReceive((fs) => received.push(...fs));
  return { devA, drvA, devB, drvB, received };
}

function seqOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}

Deno.test("e1000: EEPROM image sums to 0xBABA and the driver reads the MAC through EERD", () => {
  const words = buildEeprom(MAC_A);
  assert.equal(words.reduce((s, w) => (s + w) & 0xffff, 0), EEPROM_CHECKSUM);
  const p = pair();
  assert.deepEqual(p.drvA.mac, MAC_A);
  assert.deepEqual(p.drvB.mac, MAC_B);
  assert.equal(p.drvA.stats.drops["eeprom-timeout"], undefined);
  assert.equal(p.drvA.linkUp, true);
});

Deno.test("e1000: without a device to answer EERD the driver falls back to RAL0/RAH0", () => {
  const [la] = memoryLinkPair();
  const dev = new E1000Device(la, { mac: MAC_A });
  const drv = new E1000Driver(dev.resources, { spin: () => {} });
  drv.init();
  assert.deepEqual(drv.mac, MAC_A);
  assert.equal(drv.stats.drops["eeprom-timeout"], 1);
});

Deno.test("e1000: descriptors complete in order across >3x ring wrap-arounds", () => {
  const p = pair({ rxRing: 16, txRing: 16 });
  const regs = new MmioWindow(p.devA.resources.mmio, p.devA.resources.control, WRITE_TABLE);
  const frames = Array.from({ length: 100 }, (_, i) => numberedFrame(i, MAC_B, MAC_A));
  for (const f of frames) {
    assert.equal(p.drvA.transmit(f), true);
    pumpOnce(p);
  }
  assert.equal(p.received.length, 100);
  p.received.forEach((f, i) => assert.deepEqual(f, frames[i]));
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
  let accepted = 0;
  while (p.drvA.transmit(numberedFrame(accepted, MAC_B, MAC_A))) accepted++;
  assert.equal(accepted, 7);
  p.devA.service();
  p.drvA.handleInterrupt();
  assert.equal(p.drvA.transmit(numberedFrame(7, MAC_B, MAC_A)), true);
  pumpOnce(p);
  assert.deepEqual(p.received.map(seqOf), [0, 1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("e1000: link change raises LSC and the driver reports it", () => {
  const p = pair();
  const seen: boolean[] = [];
  p.drvB.onLinkChange((up) => seen.push(up));
  const line = new InterruptLine(p.devB.resources.control);
  line.take();
  p.devB.setLink(false);
  assert.equal(line.pending, true);
  p.drvB.handleInterrupt();
  assert.equal(p.drvB.linkUp, false);
  sendAll(p, [numberedFrame(1, MAC_B, MAC_A)]);
  assert.equal(p.devB.stats.drops["rx-link-down"], 1);
  p.devB.setLink(true);
  p.drvB.handleInterrupt();
  assert.deepEqual(seen, [false, true]);
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
