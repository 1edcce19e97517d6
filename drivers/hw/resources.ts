/**
 * Everything a driver needs to reach its device, as plain data that can be posted to a worker:
 * the register window, DMA memory and control (doorbell + interrupt line) buffers.
 */

import { CONTROL_BYTES } from "./control.ts";

/** Which device model (and so which driver) the resources belong to. */
export type NicKind = "e1000" | "rtl8139" | "virtio-net";

/** The shared buffers of one device, structured-cloneable. */
export interface DeviceResources {
  kind: NicKind;
  /** Register window (byte offsets as in the datasheet). */
  mmio: SharedArrayBuffer;
  mmioSize: number;
  /** Guest physical memory; physical address = byte offset. */
  dma: SharedArrayBuffer;
  dmaSize: number;
  /** Doorbell, serviced counter and interrupt line words. */
  control: SharedArrayBuffer;
}

/** Allocate fresh zeroed buffers for a device. */
export function createResources(kind: NicKind, mmioSize: number, dmaSize: number): DeviceResources {
  return {
    kind,
    mmio: new SharedArrayBuffer(mmioSize),
    mmioSize,
    dma: new SharedArrayBuffer(dmaSize),
    dmaSize,
    control: new SharedArrayBuffer(CONTROL_BYTES),
  };
}
