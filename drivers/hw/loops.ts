/**
 * Thread wiring. The device model's thread runs {@link runDeviceLoop}: it calls `service()`,
 * then sleeps on the doorbell until the driver writes a register (frames from the link arrive
 * on the same thread's event loop and go straight to `receive()`). The driver's thread runs
 * {@link runDriverLoop}: it sleeps on the interrupt line and calls `handleInterrupt()` when the
 * device raises it. Both sleep with `Atomics.waitAsync`, so their event loops keep running.
 */

import { Doorbell, InterruptLine } from "./control.ts";
import type { NicDevice, NicDriver } from "./nic.ts";

/** Run a device model until `signal` aborts. */
export async function runDeviceLoop(device: NicDevice, signal: AbortSignal): Promise<void> {
  const bell = new Doorbell(device.resources.control);
  const stop = () => bell.ring();
  signal.addEventListener("abort", stop, { once: true });
  try {
    while (!signal.aborted) {
      const seen = bell.sequence;
      device.service();
      await bell.waitAsync(seen);
    }
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** Run a driver's interrupt handler until `signal` aborts; `control` is its resources' buffer. */
export async function runDriverLoop(
  driver: NicDriver,
  control: SharedArrayBuffer,
  signal: AbortSignal,
): Promise<void> {
  const line = new InterruptLine(control);
  const stop = () => line.wake();
  signal.addEventListener("abort", stop, { once: true });
  try {
    while (!signal.aborted) {
      await line.waitAsync();
      if (signal.aborted) break;
      driver.handleInterrupt();
    }
  } finally {
    signal.removeEventListener("abort", stop);
  }
}
