/**
 * Guest physical memory for device DMA: one SharedArrayBuffer where a physical address is a byte
 * offset. The driver owns a bump allocator over it; the device model only reads and writes at
 * the addresses the driver programmed into its registers and descriptors.
 *
 * Plain (non-atomic) accesses are ordered by the Atomics operations on MMIO registers and ring
 * indices that publish them, as with a real write barrier before a doorbell.
 */
import { copyBytes } from "../../kernel/bus/shared_copy.ts";

/** A DMA-able memory region with little-endian accessors and an aligned bump allocator. */
export class DmaMemory {
  /** The region as bytes (address = index). */
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  readonly #u16: Uint16Array;
  #next = 0;

  /** Wrap `buffer` (shared with the device) as DMA memory; allocation starts at address 0. */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
    this.#u16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
  }

  /** Size of the region in bytes. */
  get size(): number {
    return this.bytes.length;
  }

  /** Bytes not yet handed out by {@link alloc}. */
  get free(): number {
    return this.size - this.#next;
  }

  /**
   * Reserve `size` bytes aligned to `align` (a power of two) and return their physical address.
   * Throws RangeError when the region is exhausted: a configuration error found at `init()`.
   */
  alloc(size: number, align = 16): number {
    const addr = (this.#next + align - 1) & ~(align - 1);
    if (size < 0 || addr + size > this.size) {
      throw new RangeError(`Cannot allocate ${size} bytes of DMA memory: ${this.free} left`);
    }
    this.#next = addr + size;
    return addr;
  }

  /** Forget every allocation (driver reset). */
  reset(): void {
    this.#next = 0;
  }

  /** True when `[addr, addr + len)` lies inside the region (device-side bounds check). */
  contains(addr: number, len: number): boolean {
    return Number.isInteger(addr) && addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  /** Read an unsigned little-endian 16-bit value. */
  read16(addr: number): number {
    return this.#view.getUint16(addr, true);
  }

  /** Write a little-endian 16-bit value. */
  write16(addr: number, value: number): void {
    this.#view.setUint16(addr, value, true);
  }

  /** Read an unsigned little-endian 32-bit value. */
  read32(addr: number): number {
    return this.#view.getUint32(addr, true);
  }

  /** Write a little-endian 32-bit value. */
  write32(addr: number, value: number): void {
    this.#view.setUint32(addr, value >>> 0, true);
  }

  /** Read a little-endian 64-bit address (kept below 2^53). */
  read64(addr: number): number {
    return this.read32(addr) + this.read32(addr + 4) * 0x1_0000_0000;
  }

  /** Write a little-endian 64-bit address. */
  write64(addr: number, value: number): void {
    this.write32(addr, value % 0x1_0000_0000);
    this.write32(addr + 4, Math.floor(value / 0x1_0000_0000));
  }

  /** Atomically read a status byte (descriptor DD bits). */
  load8(addr: number): number {
    return Atomics.load(this.bytes, addr);
  }

  /** Atomically publish a status byte: everything written before it is visible once it is. */
  store8(addr: number, value: number): void {
    Atomics.store(this.bytes, addr, value);
  }

  /** Atomically read a 16-bit ring index (address must be even). */
  load16(addr: number): number {
    return Atomics.load(this.#u16, addr >>> 1);
  }

  /** Atomically publish a 16-bit ring index (address must be even). */
  store16(addr: number, value: number): void {
    Atomics.store(this.#u16, addr >>> 1, value & 0xffff);
  }

  /** Copy `len` bytes out of the region into a fresh array. */
  copyOut(addr: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    copyBytes(out, this.bytes.subarray(addr, addr + len));
    return out;
  }

  /** Copy `data` into the region at `addr`. */
  copyIn(addr: number, data: Uint8Array): void {
    copyBytes(this.bytes.subarray(addr), data);
  }
}
