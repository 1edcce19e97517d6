/**
 * Test worker: builds one device model whose cable reflects every frame back to it, posts the
 * device's resources to the parent, and runs the device loop until told to stop.
 */

import type { LinkPort } from "../link/port.ts";
import { runDeviceLoop } from "./loops.ts";
import type { NicDevice } from "./nic.ts";
import type { NicKind } from "./resources.ts";
import { E1000Device } from "../e1000/device.ts";
import { Rtl8139Device } from "../rtl8139/device.ts";
import { VirtioNetDevice } from "../virtio_net/device.ts";

/** Messages from the parent. */
export type EchoRequest = { op: "start"; kind: NicKind; mac: Uint8Array } | { op: "stop" };

function mirror(): LinkPort {
  let handler: (f: Uint8Array) => void = () => {};
  return {
    send: (f) => handler(f),
    onFrame: (h) => (handler = h),
    close: () => (handler = () => {}),
  };
}

function build(kind: NicKind, mac: Uint8Array): NicDevice {
  switch (kind) {
    case "e1000":
      return new E1000Device(mirror(), { mac });
    case "rtl8139":
      return new Rtl8139Device(mirror(), { mac });
    case "virtio-net":
      return new VirtioNetDevice(mirror(), { mac });
    default: {
      const never: never = kind;
      throw new Error(`Unknown NIC kind ${never}`);
    }
  }
}

const stop = new AbortController();
const scope = self as unknown as {
  onmessage: (e: MessageEvent<EchoRequest>) => void;
  postMessage: (m: unknown) => void;
  close: () => void;
};
scope.onmessage = (e) => {
  const req = e.data;
  switch (req.op) {
    case "start": {
      const device = build(req.kind, req.mac);
      scope.postMessage(device.resources);
      runDeviceLoop(device, stop.signal).then(() => scope.postMessage("stopped"));
      return;
    }
    case "stop":
      stop.abort();
      return;
    default: {
      const never: never = req;
      throw new Error(`Unknown request ${JSON.stringify(never)}`);
    }
  }
};
