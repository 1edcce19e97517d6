/** The NIC models by name: a device model for the hardware side and its driver. */
import type { LinkPort } from "./link/port.ts";
import type { DeviceResources } from "./hw/resources.ts";
import type { NicDevice, NicDriver } from "./hw/nic.ts";
import { E1000Device } from "./e1000/device.ts";
import { E1000Driver } from "./e1000/driver.ts";
import { Rtl8139Device } from "./rtl8139/device.ts";
import { Rtl8139Driver } from "./rtl8139/driver.ts";
import { VirtioNetDevice } from "./virtio_net/device.ts";
import { VirtioNetDriver } from "./virtio_net/driver.ts";
import { framesForMtu } from "./link/gso_segment.ts";

/** NIC model names as topology files spell them. */
export type NicModel = "e1000" | "rtl8139" | "virtio";

/** Whether `name` is a NIC model (rather than a plain "wire"). */
export function isNicModel(name: string): name is NicModel {
  return name === "e1000" || name === "rtl8139" || name === "virtio";
}

/** Whether the model's device takes TCP super-segments from its cable (virtio's GUEST_TSO). */
export function takesSuperSegments(model: NicModel): boolean {
  return model === "virtio";
}

/**
 * Create the device model of `model` on `port` with station address `mac`. A device that takes
 * no super-segments gets them segmented in software on their way in (as a Linux bridge port's
 * GSO does in front of a NIC without TSO).
 */
export function createDevice(model: NicModel, port: LinkPort, mac: Uint8Array): NicDevice {
  switch (model) {
    case "e1000":
      return new E1000Device(_segmentingIn(port), { mac });
    case "rtl8139":
      return new Rtl8139Device(_segmentingIn(port), { mac });
    case "virtio":
      return new VirtioNetDevice(port, { mac });
  }
}

/** Create the driver for `resources` (the kind recorded in them picks the model). */
export function createDriver(resources: DeviceResources): NicDriver {
  switch (resources.kind) {
    case "e1000":
      return new E1000Driver(resources);
    case "rtl8139":
      return new Rtl8139Driver(resources);
    case "virtio-net":
      return new VirtioNetDriver(resources);
  }
}

/** `port` with frames arriving longer than a 1500-byte MTU segmented first. */
function _segmentingIn(port: LinkPort): LinkPort {
  return {
    send: (f) => port.send(f),
    onFrame(handler) {
      port.onFrame((f) => {
        if (f.length <= 1514) return handler(f);
        for (const s of framesForMtu(f, 1500)) handler(s);
      });
    },
    onBurstEnd: port.onBurstEnd ? (cb) => port.onBurstEnd!(cb) : undefined,
    linkDrops: port.linkDrops ? () => port.linkDrops!() : undefined,
    close: () => port.close(),
  };
}
