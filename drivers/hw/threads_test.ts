import assert from "node:assert/strict";
import type { DeviceResources, NicKind } from "./resources.ts";
import type { NicDriver } from "./nic.ts";
import { runDriverLoop } from "./loops.ts";
import { numberedFrame } from "./frame_pump.ts";
import { E1000Driver } from "../e1000/driver.ts";
import { Rtl8139Driver } from "../rtl8139/driver.ts";
import { VirtioNetDriver } from "../virtio_net/driver.ts";
import type { EchoRequest } from "./_echo_worker.ts";

const MAC = new Uint8Array([0x52, 0x54, 0x00, 0x77, 0x88, 0x99]);
const FRAMES = 400;
const BATCH = 4;

function driverFor(r: DeviceResources): NicDriver {
  switch (r.kind) {
    case "e1000":
      return new E1000Driver(r);
    case "rtl8139":
      return new Rtl8139Driver(r);
    case "virtio-net":
      return new VirtioNetDriver(r);
  }
}

async function echoThroughWorker(kind: NicKind): Promise<void> {
  const worker = new Worker(new URL("./_echo_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const messages: unknown[] = [];
  let wake = () => {};
  worker.onmessage = (e) => {
    messages.push(e.data);
    wake();
  };
  const next = () =>
    new Promise<unknown>((resolve) => {
      if (messages.length) return resolve(messages.shift());
      wake = () => resolve(messages.shift());
    });
  const stopLoop = new AbortController();
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    worker.postMessage({ op: "start", kind, mac: MAC } satisfies EchoRequest);
    const resources = (await next()) as DeviceResources;
    const driver = driverFor(resources);
    driver.init(); // device runs in the worker: the default spin waits on the serviced word
    assert.deepEqual(driver.mac, MAC);
    const got: Uint8Array[] = [];
    let batchDone = () => {};
    driver.onReceive((fs) => {
      got.push(...fs);
      batchDone();
    });
    const loop = runDriverLoop(driver, resources.control, stopLoop.signal);
    const failed = new Promise<never>((_, reject) => {
      guard = setTimeout(() => reject(new Error(`Cannot finish ${kind} echo in time`)), 8000);
    });
    for (let i = 0; i < FRAMES; i += BATCH) {
      const want = i + BATCH;
      const done = new Promise<void>((resolve) => {
        batchDone = () => got.length >= want && resolve();
      });
      for (let j = i; j < want; j++) {
        assert.equal(driver.transmit(numberedFrame(j, MAC, MAC)), true);
      }
      await Promise.race([done, failed]);
    }
    stopLoop.abort();
    await loop;
    got.forEach((f, i) => assert.deepEqual(f, numberedFrame(i, MAC, MAC)));
    worker.postMessage({ op: "stop" } satisfies EchoRequest);
    assert.equal(await next(), "stopped");
  } finally {
    clearTimeout(guard);
    stopLoop.abort();
    worker.terminate();
  }
}

for (const kind of ["e1000", "rtl8139", "virtio-net"] as const) {
  Deno.test(`threads: ${kind} driver on this thread, device model in a worker`, async () => {
    await echoThroughWorker(kind);
  });
}
