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

/** NIC model names as topology files spell them. */
export type NicModel = "e1000" | "rtl8139" | "virtio";

/** Whether `name` is a NIC model (rather than a plain "wire"). */
export function isNicModel(name: string): name is NicModel {
  return name === "e1000" || name === "rtl8139" || name === "virtio";
}

/** Create the device model of `model` on `port` with station address `mac`. */
export function createDevice(model: NicModel, port: LinkPort, mac: Uint8Array): NicDevice {
  switch (model) {
    case "e1000":
      return new E1000Device(port, { mac });
    case "rtl8139":
      return new Rtl8139Device(port, { mac });
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
