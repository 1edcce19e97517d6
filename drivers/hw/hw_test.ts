import assert from "node:assert/strict";
import { DmaMemory } from "./dma.ts";
import { CONTROL_BYTES, Doorbell, InterruptLine } from "./control.ts";
import { MmioWindow, type WriteEffect } from "./mmio.ts";
import { createResources } from "./resources.ts";
import { countDrop, newNicStats } from "./nic.ts";

Deno.test("dma: aligned bump allocation, little-endian accessors, exhaustion throws RangeError", () => {
  const dma = new DmaMemory(new SharedArrayBuffer(256));
  assert.equal(dma.alloc(3), 0);
  assert.equal(dma.alloc(8, 128), 128);
  assert.equal(dma.free, 256 - 136);
  dma.write64(16, 0x1_2345_6789);
  assert.deepEqual([...dma.bytes.subarray(16, 24)], [0x89, 0x67, 0x45, 0x23, 1, 0, 0, 0]);
  assert.equal(dma.read64(16), 0x1_2345_6789);
  dma.store16(2, 0x1_0005);
  assert.equal(dma.load16(2), 5);
  assert.equal(dma.contains(250, 6), true);
  assert.equal(dma.contains(250, 7), false);
  assert.equal(dma.contains(-1, 1), false);
  assert.throws(() => dma.alloc(200), RangeError);
  dma.reset();
  assert.equal(dma.alloc(200), 0);
});

Deno.test("mmio: write semantics store, w1c, set and clear, at every width", () => {
  const table = new Map<number, WriteEffect>([
    [0x10, { kind: "w1c" }],
    [0x14, { kind: "set", target: 0x18 }],
    [0x1c, { kind: "clear", target: 0x18 }],
  ]);
  const r = createResources("e1000", 64, 64);
  const mmio = new MmioWindow(r.mmio, r.control, table);
  const bell = new Doorbell(r.control);
  mmio.write(0x00, 0xdeadbeef);
  assert.equal(mmio.read(0x00), 0xdeadbeef);
  assert.equal(mmio.read(0x03, 1), 0xde);
  assert.equal(mmio.read(0x02, 2), 0xdead);
  mmio.poke(0x10, 0b1111);
  mmio.write(0x10, 0b0101);
  assert.equal(mmio.read(0x10), 0b1010);
  mmio.write(0x14, 0b0011);
  mmio.write(0x14, 0b1100);
  mmio.write(0x1c, 0b0110);
  assert.equal(mmio.read(0x18), 0b1001);
  assert.equal(mmio.readClear(0x18), 0b1001);
  assert.equal(mmio.read(0x18), 0);
  mmio.write(0x21, 0xab, 1);
  assert.equal(mmio.read(0x20), 0xab00);
  assert.equal(bell.sequence, 6);
  assert.equal(mmio.add(0x24, 2), 0);
  assert.equal(mmio.read(0x24), 2);
});

Deno.test("doorbell: flush waits until the device reports the doorbell serviced", () => {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const bell = new Doorbell(control);
  let spins = 0;
  const ok = bell.flush(() => {
    if (++spins === 3) bell.serviced(bell.sequence);
  });
  assert.equal(ok, true);
  assert.equal(spins, 3);
  assert.equal(bell.flush(() => {}, 5), false);
});

Deno.test("doorbell: serviced compare survives 32-bit wrap-around", () => {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const words = new Int32Array(control);
  words[0] = 0x7fffffff;
  const bell = new Doorbell(control);
  const seq = bell.ring();
  assert.equal(seq, -0x80000000);
  bell.serviced(0x7fffffff);
  assert.equal(bell.hasServiced(seq), false);
  bell.serviced(seq);
  assert.equal(bell.hasServiced(seq), true);
  assert.equal(bell.hasServiced(0x7fffffff), true);
});

Deno.test("interrupt line: latches raises until taken and counts them", async () => {
  const control = new SharedArrayBuffer(CONTROL_BYTES);
  const line = new InterruptLine(control);
  assert.equal(line.take(), false);
  line.raise();
  line.raise();
  assert.equal(line.pending, true);
  assert.equal(line.count, 2);
  await line.waitAsync(); // already pending: resolves at once
  assert.equal(line.take(), true);
  assert.equal(line.take(), false);
});

Deno.test("nic stats: drops are counted by reason", () => {
  const s = newNicStats();
  countDrop(s, "rx-no-descriptor");
  countDrop(s, "rx-no-descriptor");
  assert.deepEqual(s.drops, { "rx-no-descriptor": 2 });
});
