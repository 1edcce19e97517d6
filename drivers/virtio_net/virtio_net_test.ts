import assert from "node:assert/strict";
import { numberedFrame, pumpOnce, sendAll } from "../hw/frame_pump.ts";
import * as check from "../hw/_nic_checks.ts";
import {
  lonelyDriver,
  MAC_A,
  MAC_B,
  type NicUnderTest,
  pairOf,
  seqOf,
} from "../hw/_nic_test_harness.ts";
import { Doorbell, InterruptLine } from "../hw/control.ts";
import { checksum, pseudoHeaderSum4 } from "../../netstack/wire/checksum.ts";
import { VirtioNetDevice } from "./device.ts";
import { VirtioNetDriver, type VirtioNetDriverOptions } from "./driver.ts";
import { FEATURE, featureBit } from "./registers.ts";
import { l4ChecksumValid } from "./net_header.ts";

const VIRTIO_NET: NicUnderTest<VirtioNetDevice, VirtioNetDriver, VirtioNetDriverOptions> = {
  device: (link, mac) => new VirtioNetDevice(link, { mac }),
  driver: (resources, opts) => new VirtioNetDriver(resources, opts),
};

const pair = pairOf(VIRTIO_NET);

/** An IPv4/UDP frame 10.0.0.1:1000 → 10.0.0.2:2000 whose UDP checksum field holds `csum`. */
function udpFrame(payload: number, csumField: "pseudo" | "full"): Uint8Array {
  const f = new Uint8Array(14 + 20 + 8 + payload);
  const v = new DataView(f.buffer);
  f.set(MAC_B, 0);
  f.set(MAC_A, 6);
  v.setUint16(12, 0x0800);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + 8 + payload);
  v.setUint8(22, 64);
  v.setUint8(23, 17);
  v.setUint32(26, 0x0a000001);
  v.setUint32(30, 0x0a000002);
  v.setUint16(24, checksum(f.subarray(14, 34)));
  v.setUint16(34, 1000);
  v.setUint16(36, 2000);
  v.setUint16(38, 8 + payload);
  for (let i = 0; i < payload; i++) f[42 + i] = (i * 13) & 0xff;
  const pseudo = pseudoHeaderSum4(0x0a000001, 0x0a000002, 17, 8 + payload);
  if (csumField === "full") v.setUint16(40, checksum(f.subarray(34), pseudo));
  else v.setUint16(40, checksum(new Uint8Array(0), pseudo) ^ 0xffff);
  return f;
}

Deno.test("virtio-net: handshake negotiates VERSION_1, MAC, CSUM and reads the MAC", () => {
  const p = pair();
  check.macAndLinkUp(p);
  assert.equal(p.drvA.mtu, 1500);
  assert.equal(p.drvA.checksumOffload, true);
  assert.ok(p.drvA.features & featureBit(FEATURE.VERSION_1));
  assert.ok(p.drvA.features & featureBit(FEATURE.NET_GUEST_CSUM));
  assert.deepEqual(p.drvA.stats.drops, {});
  assert.deepEqual(p.devA.stats.drops, {});
});

Deno.test("virtio-net: without a device answering the driver fails cleanly and counts it", () => {
  const drv = lonelyDriver(VIRTIO_NET, {});
  assert.equal(drv.stats.drops["no-version-1"], 1);
  assert.equal(drv.transmit(numberedFrame(0, MAC_B, MAC_A)), true);
  assert.equal(drv.stats.drops["tx-not-ready"], 1);
});

Deno.test("virtio-net: buffers complete in order across >3x queue wrap-arounds", () => {
  const p = pair({ queueSize: 8 });
  check.inOrderOneByOne(p, Array.from({ length: 100 }, (_, i) => numberedFrame(i, MAC_B, MAC_A)));
});

Deno.test("virtio-net: 16-bit ring indices wrap past 65535 without losing order", () => {
  const p = pair({ queueSize: 16 });
  let next = 0;
  p.drvB.onReceive((fs) => {
    for (const f of fs) assert.equal(seqOf(f), next++);
  });
  const frame = (i: number) => {
    const f = new Uint8Array(60);
    f.set(MAC_B);
    new DataView(f.buffer).setUint32(14, i);
    return f;
  };
  const gen = function* () {
    for (let i = 0; i < 66_000; i++) yield frame(i);
  };
  sendAll(p, gen());
  assert.equal(next, 66_000);
});

Deno.test("virtio-net: an empty RX queue drops and counts instead of overwriting", () => {
  const p = pair({ queueSize: 8 });
  for (let i = 0; i < 8; i++) assert.equal(p.drvA.transmit(numberedFrame(i, MAC_B, MAC_A)), true);
  p.devA.service();
  p.drvA.handleInterrupt();
  for (let i = 8; i < 12; i++) assert.equal(p.drvA.transmit(numberedFrame(i, MAC_B, MAC_A)), true);
  p.devA.service(); // B's driver has not run: its 8 buffers are full
  assert.equal(p.devB.stats.rxPackets, 8);
  assert.equal(p.devB.stats.drops["rx-no-buffer"], 4);
  p.drvB.handleInterrupt();
  assert.deepEqual(p.received.map(seqOf), [0, 1, 2, 3, 4, 5, 6, 7]);
  sendAll(p, [numberedFrame(99, MAC_B, MAC_A)]);
  assert.equal(seqOf(p.received[8]), 99);
});

Deno.test("virtio-net: a full TX queue returns false, asks for an interrupt, and recovers", () => {
  const p = pair({ queueSize: 8 });
  check.txBackPressure(p, {
    frame: (i) => numberedFrame(i, MAC_B, MAC_A),
    capacity: 8,
    drain: () => {
      const line = new InterruptLine(p.devA.resources.control);
      line.take();
      p.devA.service();
      assert.equal(line.pending, true); // TX interrupts were re-enabled because the ring was full
      pumpOnce(p);
    },
  });
});

Deno.test("virtio-net: TX completions do not interrupt while the driver suppresses them", () => {
  const p = pair();
  const line = new InterruptLine(p.devA.resources.control);
  line.take();
  const before = line.count;
  for (let i = 0; i < 50; i++) p.drvA.transmit(numberedFrame(i, MAC_B, MAC_A));
  p.devA.service();
  assert.equal(line.count, before);
  assert.equal(p.devA.stats.txPackets, 50);
});

Deno.test("virtio-net: transmitBatch publishes many frames with one doorbell", () => {
  const p = pair({ queueSize: 16 });
  const bell = new Doorbell(p.devA.resources.control);
  const before = bell.sequence;
  const frames = Array.from({ length: 20 }, (_, i) => numberedFrame(i, MAC_B, MAC_A));
  assert.equal(p.drvA.transmitBatch(frames), 16);
  assert.equal(bell.sequence, before + 1);
  pumpOnce(p);
  assert.equal(p.drvA.transmitBatch(frames.slice(16)), 4);
  pumpOnce(p);
  assert.deepEqual(p.received.map(seqOf), frames.map((_, i) => i));
});

Deno.test("virtio-net: NEEDS_CSUM is completed by the device; DATA_VALID marks good receives", () => {
  const p = pair();
  const valid: boolean[] = [];
  p.drvB.onReceive((fs, ok) => {
    p.received.push(...fs);
    valid.push(...ok);
  });
  const partial = udpFrame(101, "pseudo");
  assert.equal(l4ChecksumValid(partial), false);
  p.drvA.transmit(partial, { csumStart: 34, csumOffset: 6 });
  const full = udpFrame(101, "full");
  const broken = udpFrame(101, "full");
  broken[50] ^= 1;
  p.drvA.transmit(broken);
  sendAll(p, []);
  assert.deepEqual(p.received[0], full);
  assert.deepEqual(valid, [true, false]);
});

Deno.test("virtio-net: link change raises a config interrupt and the driver reports it", () => {
  check.linkChange(pair());
});

Deno.test("virtio-net: 10,000 frames of 60..1514 bytes arrive byte-identical and in order", () => {
  check.tenThousandFrames(pair());
});
