/**
 * virtio-mmio (virtio 1.2 §4.2.2, version 2) register offsets, device status and feature bits
 * for a network device (§5.1). The device-specific configuration (`virtio_net_config`) starts
 * at {@link REG.CONFIG}.
 */

import type { RegisterTable, WriteEffect } from "../hw/mmio.ts";

/** Register byte offsets (all 32-bit unless noted). */
export const REG = {
  MAGIC: 0x000,
  VERSION: 0x004,
  DEVICE_ID: 0x008,
  VENDOR_ID: 0x00c,
  DEVICE_FEATURES: 0x010,
  DEVICE_FEATURES_SEL: 0x014,
  DRIVER_FEATURES: 0x020,
  DRIVER_FEATURES_SEL: 0x024,
  QUEUE_SEL: 0x030,
  QUEUE_NUM_MAX: 0x034,
  QUEUE_NUM: 0x038,
  QUEUE_READY: 0x044,
  QUEUE_NOTIFY: 0x050,
  INTERRUPT_STATUS: 0x060,
  INTERRUPT_ACK: 0x064,
  STATUS: 0x070,
  QUEUE_DESC_LOW: 0x080,
  QUEUE_DESC_HIGH: 0x084,
  QUEUE_DRIVER_LOW: 0x090,
  QUEUE_DRIVER_HIGH: 0x094,
  QUEUE_DEVICE_LOW: 0x0a0,
  QUEUE_DEVICE_HIGH: 0x0a4,
  CONFIG_GENERATION: 0x0fc,
  CONFIG: 0x100,
} as const;

/** Offsets inside `virtio_net_config`: mac[6], status u16, max_virtqueue_pairs u16, mtu u16. */
export const NET_CONFIG = { MAC: 0, STATUS: 6, MAX_PAIRS: 8, MTU: 10 } as const;
/** `virtio_net_config.status`: link is up. */
export const NET_S_LINK_UP = 1;

/** Size of the register window. */
export const MMIO_SIZE = 0x200;
/** "virt" in little-endian. */
export const MAGIC = 0x74726976;
/** Device ID of a network card. */
export const DEVICE_ID_NET = 1;

/** Device status bits (§2.1). */
export const STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** Feature bit numbers (§5.1.3, §6). */
export const FEATURE = {
  NET_CSUM: 0,
  NET_GUEST_CSUM: 1,
  NET_MTU: 3,
  NET_MAC: 5,
  NET_GUEST_TSO4: 7,
  NET_GUEST_TSO6: 8,
  NET_HOST_TSO4: 11,
  NET_HOST_TSO6: 12,
  NET_MRG_RXBUF: 15,
  NET_STATUS: 16,
  RING_EVENT_IDX: 29,
  VERSION_1: 32,
} as const;

/** InterruptStatus bits. */
export const ISR = { USED_BUFFER: 1, CONFIG_CHANGE: 2 } as const;

/** Virtqueue numbers of a single-pair network device. */
export const QUEUE = { RX: 0, TX: 1 } as const;

/**
 * Feature dependencies (virtio 1.2 §5.1.3.1): a feature on the left needs every one on the
 * right. A driver asking for a feature without its dependency is refused (FEATURES_OK clear).
 */
export const FEATURE_DEPENDS: ReadonlyArray<readonly [number, readonly number[]]> = [
  [FEATURE.NET_GUEST_TSO4, [FEATURE.NET_GUEST_CSUM]],
  [FEATURE.NET_GUEST_TSO6, [FEATURE.NET_GUEST_CSUM]],
  [FEATURE.NET_HOST_TSO4, [FEATURE.NET_CSUM]],
  [FEATURE.NET_HOST_TSO6, [FEATURE.NET_CSUM]],
];

/** The first feature in `set` whose dependency is missing, or undefined. */
export function missingDependency(set: bigint): number | undefined {
  for (const [f, needs] of FEATURE_DEPENDS) {
    if (set & featureBit(f) && needs.some((n) => !(set & featureBit(n)))) return f;
  }
  return undefined;
}

/** A 64-bit feature set as a bigint, one bit per feature number. */
export function featureBit(n: number): bigint {
  return 1n << BigInt(n);
}

/** Write semantics: InterruptACK clears the written bits of InterruptStatus. */
export const WRITE_TABLE: RegisterTable = new Map<number, WriteEffect>([
  [REG.INTERRUPT_ACK, { kind: "clear", target: REG.INTERRUPT_STATUS }],
]);
