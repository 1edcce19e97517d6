/**
 * Test fixtures shared by the NIC tests: two device models of one kind cabled back to back with
 * their drivers ({@link nicPair}), a driver with no device answering ({@link lonelyDriver}), the
 * two station addresses and {@link seqOf}. The checks every NIC must pass are in
 * `_nic_checks.ts`.
 */

import type { LinkPort } from "../link/port.ts";
import { memoryLinkPair, type NicPair } from "./frame_pump.ts";
import type { DriverOptions, NicDevice, NicDriver } from "./nic.ts";
import type { DeviceResources } from "./resources.ts";

/** Station address of NIC A (the sender in the end-to-end checks). */
export const MAC_A = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
/** Station address of NIC B (the receiver in the end-to-end checks). */
export const MAC_B = new Uint8Array([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

/** How to build one NIC model's device and driver. */
export interface NicUnderTest<
  Dev extends NicDevice,
  Drv extends NicDriver,
  Opts extends DriverOptions,
> {
  /** A device with station address `mac` on `link`. */
  device(link: LinkPort, mac: Uint8Array): Dev;
  /** A driver bound to `resources` (not yet initialised). */
  driver(resources: DeviceResources, opts: Opts): Drv;
}

/** A {@link NicPair} with its concrete types and the frames B's driver has delivered. */
export interface TestPair<Dev extends NicDevice, Drv extends NicDriver> extends NicPair {
  devA: Dev;
  drvA: Drv;
  devB: Dev;
  drvB: Drv;
  received: Uint8Array[];
}

/** Two initialised NICs of `model` on one cable; each driver spins by servicing its device. */
export function nicPair<Dev extends NicDevice, Drv extends NicDriver, Opts extends DriverOptions>(
  model: NicUnderTest<Dev, Drv, Opts>,
  opts: Opts,
): TestPair<Dev, Drv> {
  const [la, lb] = memoryLinkPair();
  const devA = model.device(la, MAC_A);
  const devB = model.device(lb, MAC_B);
  const drvA = model.driver(devA.resources, { ...opts, spin: () => devA.service() });
  const drvB = model.driver(devB.resources, { ...opts, spin: () => devB.service() });
  drvA.init();
  drvB.init();
  const received: Uint8Array[] = [];
  drvB.onReceive((fs) => received.push(...fs));
  return { devA, drvA, devB, drvB, received };
}

/**
 * A `pair(opts?)` fixture for `model` (see {@link nicPair}); every driver's options are all
 * optional, so no options means `{}`.
 */
export function pairOf<Dev extends NicDevice, Drv extends NicDriver, Opts extends DriverOptions>(
  model: NicUnderTest<Dev, Drv, Opts>,
): (opts?: Opts) => TestPair<Dev, Drv> {
  return (opts = {} as Opts) => nicPair(model, opts);
}

/** An initialised driver whose device never answers (its spin does nothing). */
export function lonelyDriver<
  Dev extends NicDevice,
  Drv extends NicDriver,
  Opts extends DriverOptions,
>(model: NicUnderTest<Dev, Drv, Opts>, opts: Opts): Drv {
  const [la] = memoryLinkPair();
  const dev = model.device(la, MAC_A);
  const drv = model.driver(dev.resources, { ...opts, spin: () => {} });
  drv.init();
  return drv;
}

/** The frame number `numberedFrame` (frame_pump.ts) put in bytes 14..17. */
export function seqOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}
