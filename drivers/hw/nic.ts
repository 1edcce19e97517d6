/**
 * The two halves of every virtual NIC: the driver the network stack uses ({@link NicDriver}) and
 * the device model that sits on a link ({@link NicDevice}). They share only a
 * {@link DeviceResources}.
 */

import type { DeviceResources } from "./resources.ts";
import type { Spin } from "./control.ts";

/** Packet and byte counters plus drops by reason (e.g. "rx-no-descriptor", "tx-oversize"). */
export interface NicStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: Record<string, number>;
}

/** Fresh zeroed counters. */
export function newNicStats(): NicStats {
  return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: {} };
}

/** Count `n` drops (default one) for `reason`. */
export function countDrop(stats: NicStats, reason: string, n = 1): void {
  stats.drops[reason] = (stats.drops[reason] ?? 0) + n;
}

/** Count one frame of `bytes` bytes received. */
export function countRx(stats: NicStats, bytes: number): void {
  stats.rxPackets++;
  stats.rxBytes += bytes;
}

/** Count one frame of `bytes` bytes sent. */
export function countTx(stats: NicStats, bytes: number): void {
  stats.txPackets++;
  stats.txBytes += bytes;
}

/** Largest Ethernet frame without FCS that the NICs carry (1500-byte MTU + 14-byte header). */
export const MAX_FRAME = 1514;
/** Smallest frame a driver sends; shorter ones are padded with zeros. */
export const MIN_FRAME = 60;

/** Options every driver constructor accepts. */
export interface DriverOptions {
  /**
   * Called while the driver busy-waits for the device (reset, EEPROM read, feature check).
   * Default: wait up to 1 ms for the device thread. One-thread tests pass `() => device.service()`.
   */
  spin?: Spin;
}

/** A NIC driver as the network stack uses it. */
export interface NicDriver {
  /** Reset the device, read the MAC, set up rings, enable RX/TX and interrupts. */
  init(): void;
  /** The station address read from the device (valid after init). */
  readonly mac: Uint8Array;
  /** Largest IP packet the NIC carries (1500). */
  readonly mtu: number;
  /** Last link state seen. */
  readonly linkUp: boolean;
  /** Queue one frame; false when the TX ring is full (back-pressure: retry later). */
  transmit(frame: Uint8Array): boolean;
  /**
   * Optional batching: queue one frame without telling the device (false when full); the
   * caller calls {@link kick} once after the burst.
   */
  stage?(frame: Uint8Array): boolean;
  /** Tell the device about everything {@link stage}d (one notify per burst). */
  kick?(): void;
  /** Register the receiver of batches of received frames. */
  onReceive(cb: (frames: Uint8Array[]) => void): void;
  /** Register the receiver of link-state changes. */
  onLinkChange(cb: (up: boolean) => void): void;
  /** Service every pending cause: RX done, TX done, link change. */
  handleInterrupt(): void;
  /** Live counters. */
  readonly stats: NicStats;
}

/** A device model: the NIC's side of the shared buffers, attached to a link. */
export interface NicDevice {
  /** The buffers to hand to the driver (post them to its worker). */
  readonly resources: DeviceResources;
  /** Process doorbells and pending work (device thread loop, or tests directly). */
  service(): void;
  /** Take one frame from the link into the RX path. */
  receive(frame: Uint8Array): void;
  /** Change the carrier state and raise a link-change interrupt. */
  setLink(up: boolean): void;
  /** Live counters (device view). */
  readonly stats: NicStats;
}
