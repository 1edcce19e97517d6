/**
 * NIC device models: frames/s and MB/s through each of E1000, RTL8139 and virtio-net.
 * (1) Two hosts booted on a virtual switch with that NIC model (driver worker ⇄ device model in
 *     the hardware worker ⇄ switch): a UDP blast of 1514-byte frames counted at the receiver,
 *     and a TCP bulk transfer; the plain "wire" (no device model) in the same run is the
 *     reference. (2) The device models alone on one thread: driver A transmit → device A →
 *     in-memory cable → device B → driver B receive, 1514-byte frames.
 */
import { createDevice, type NicModel } from "../../drivers/nic_models.ts";
import type { NicDriver } from "../../drivers/hw/nic.ts";
import type { DeviceResources } from "../../drivers/hw/resources.ts";
import { E1000Driver } from "../../drivers/e1000/driver.ts";
import { Rtl8139Driver } from "../../drivers/rtl8139/driver.ts";
import { VirtioNetDriver } from "../../drivers/virtio_net/driver.ts";
import {
  measureFramesPerSecond,
  memoryLinkPair,
  type NicPair,
} from "../../drivers/hw/frame_pump.ts";
import { bootBench, type Driver, twoHosts } from "./_serin.ts";
import { serinBulk } from "./tcp.ts";
import { attempt, report, type Row } from "./_stats.ts";
import type { IfaceStats } from "../../libc/mod.ts";

/** What to measure. */
export interface DriversBenchOptions {
  /** Length of each UDP blast in milliseconds (default 3000). */
  blastMs?: number;
  /** Mebibytes per TCP bulk transfer (default 8). */
  mb?: number;
  /** UDP sends in flight at once (default 64). */
  window?: number;
  /** Frames per one-thread run (default 100000). */
  frames?: number;
}

const MODELS: NicModel[] = ["e1000", "rtl8139", "virtio"];
const FRAME = 1514;
/** UDP payload that makes a 1514-byte Ethernet frame (14 + 20 + 8 + 1472). */
const UDP_PAYLOAD = FRAME - 14 - 20 - 8;
const PROG = "tests/bench/udp_prog.ts";

/** UDP blast from host a to host b, counted by b's interface (frames that reached its stack). */
async function blast(driver: Driver, ms: number, window: number) {
  await using bs = await bootBench(twoHosts(driver));
  const stats = async (host: string) =>
    await bs.result<IfaceStats>(await bs.start(host, PROG, ["ifstats", "eth0"]));
  // A bound socket on b, so the blast is not answered with ICMP port unreachables; it reads
  // what it can and the rest overflows its queue (counted by the stack, not by this bench).
  const counter = await bs.start("b", PROG, ["count", "6001", "1000"]);
  await bs.waitFor(counter, "listening");
  // One datagram first so ARP is resolved before the clock starts.
  await bs.result(await bs.start("a", PROG, ["blast", "10.0.0.2", "6001", "50", "64", "1"]));
  const [a0, b0] = [await stats("a"), await stats("b")];
  const sender = await bs.start("a", PROG, [
    "blast",
    "10.0.0.2",
    "6001",
    String(ms),
    String(UDP_PAYLOAD),
    String(window),
  ]);
  const s = await bs.result<{ sent: number; failed: number; ms: number }>(sender);
  await new Promise((r) => setTimeout(r, 200)); // frames still in flight
  const [a1, b1] = [await stats("a"), await stats("b")];
  await bs.result(counter);
  const tx = a1.txPackets - a0.txPackets;
  const rx = b1.rxPackets - b0.rxPackets;
  return {
    fps: (rx * 1000) / s.ms,
    mbps: (rx * FRAME) / (s.ms * 1000),
    loss: tx > 0 ? Math.max(0, 1 - rx / tx) : 0,
  };
}

/** The driver of `model` on `resources`, busy-waiting by servicing `device` on this thread. */
function inlineDriver(model: NicModel, resources: DeviceResources, spin: () => void): NicDriver {
  switch (model) {
    case "e1000":
      return new E1000Driver(resources, { spin });
    case "rtl8139":
      return new Rtl8139Driver(resources, { spin });
    case "virtio":
      return new VirtioNetDriver(resources, { spin });
  }
}

/** Two device models of `model` cabled back to back, with their drivers, on this thread. */
function onePair(model: NicModel): NicPair {
  const [la, lb] = memoryLinkPair();
  const devA = createDevice(model, la, Uint8Array.of(2, 0, 0, 0, 1, 0));
  const devB = createDevice(model, lb, Uint8Array.of(2, 0, 0, 0, 2, 0));
  const drvA = inlineDriver(model, devA.resources, () => devA.service());
  const drvB = inlineDriver(model, devB.resources, () => devB.service());
  drvA.init();
  drvB.init();
  return { devA, drvA, devB, drvB };
}

/** Run the benchmark and print its table and JSON line. */
export async function benchDrivers(opts: DriversBenchOptions = {}): Promise<void> {
  const ms = opts.blastMs ?? 3000;
  const mb = opts.mb ?? 8;
  const frames = opts.frames ?? 100000;
  const window = opts.window ?? 64;
  const rows: Row[] = [];
  const ref = '"wire" (no device model), same run';
  for (const driver of ["wire", ...MODELS] as Driver[]) {
    const reference = driver === "wire" ? ref : undefined;
    const b = await attempt(`${driver} UDP blast`, () => blast(driver, ms, window));
    if (b) {
      rows.push({
        name: `${driver}: UDP 1514 B frames, a → b`,
        value: b.fps,
        unit: "frames/s",
        reference,
      });
      rows.push({
        name: `${driver}: UDP 1514 B frames, a → b`,
        value: b.mbps,
        unit: "MB/s",
        reference,
      });
      rows.push({
        name: `${driver}: UDP frames lost between a's and b's NIC`,
        value: b.loss * 100,
        unit: "%",
        reference,
      });
    }
    const two = { net: twoHosts(driver), from: "a", to: "b", addr: "10.0.0.2" };
    const g = await attempt(`${driver} TCP bulk`, () => serinBulk(two, mb, 65536));
    if (g !== undefined) {
      rows.push({
        name: `${driver}: TCP bulk ${mb} MB, a → b`,
        value: (g * 1e3) / 8,
        unit: "MB/s",
        reference,
      });
    }
  }
  for (const model of MODELS) {
    const fps = await attempt(`${model} one thread`, () => {
      measureFramesPerSecond(onePair(model), 2000, FRAME, () => performance.now()); // warm-up
      return Promise.resolve(
        measureFramesPerSecond(onePair(model), frames, FRAME, () => performance.now()),
      );
    });
    if (fps === undefined) continue;
    rows.push({
      name: `${model}: one thread, driver→device→device→driver`,
      value: fps,
      unit: "frames/s",
    });
    rows.push({
      name: `${model}: one thread, driver→device→device→driver`,
      value: (fps * FRAME) / 1e6,
      unit: "MB/s",
    });
  }
  console.log(
    `note: two-host rows go through the real threads (netstack ⇄ driver worker ⇄ device model` +
      ` in the hardware worker ⇄ switch); UDP blasts last ${ms / 1000} s with ${window} sends` +
      ` in flight, frames/s is b's interface RX count (frames that reached b's stack) over the` +
      ` send time; one-thread rows pump both NICs inline`,
  );
  report("drivers", rows);
}

if (import.meta.main) await benchDrivers();
