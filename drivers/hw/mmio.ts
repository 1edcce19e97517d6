/**
 * A device's register window: a SharedArrayBuffer addressed by byte offset, accessed with
 * Atomics at 8-, 16- or 32-bit width (offsets are the datasheet's). Writes go through
 * {@link MmioWindow.write}, which applies the register's write semantics (plain store,
 * write-1-to-clear, set-bits, clear-bits-of-another-register) the way the silicon would, then
 * rings the doorbell so the device model learns that something changed.
 */

import { Doorbell } from "./control.ts";

/** Access width in bytes. */
export type Width = 1 | 2 | 4;

/** What writing a register does. Registers not in the table take plain stores. */
export type WriteEffect =
  | { kind: "store" }
  | { kind: "w1c" }
  | { kind: "set"; target: number }
  | { kind: "clear"; target: number };

/** Write semantics of a device's registers, keyed by byte offset. */
export type RegisterTable = ReadonlyMap<number, WriteEffect>;

/** A register window shared by a driver (through `write`) and its device model (through `poke`). */
export class MmioWindow {
  readonly #u8: Uint8Array;
  readonly #u16: Uint16Array;
  readonly #u32: Uint32Array;
  readonly #doorbell: Doorbell;

  /** View `buffer` with the device's write `table`; `control` carries the doorbell. */
  constructor(
    buffer: SharedArrayBuffer,
    control: SharedArrayBuffer,
    readonly table: RegisterTable = new Map(),
  ) {
    this.#u8 = new Uint8Array(buffer);
    this.#u16 = new Uint16Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#doorbell = new Doorbell(control);
  }

  /** Size of the window in bytes. */
  get size(): number {
    return this.#u8.length;
  }

  /** Read a register (unsigned). */
  read(offset: number, width: Width = 4): number {
    switch (width) {
      case 1:
        return Atomics.load(this.#u8, offset);
      case 2:
        return Atomics.load(this.#u16, offset >>> 1);
      case 4:
        return Atomics.load(this.#u32, offset >>> 2);
    }
  }

  /** Read a read-to-clear register: returns its value and leaves 0 (e1000 ICR, statistics). */
  readClear(offset: number, width: Width = 4): number {
    switch (width) {
      case 1:
        return Atomics.exchange(this.#u8, offset, 0);
      case 2:
        return Atomics.exchange(this.#u16, offset >>> 1, 0);
      case 4:
        return Atomics.exchange(this.#u32, offset >>> 2, 0);
    }
  }

  /** Driver write: apply the register's write semantics, then ring the doorbell. */
  write(offset: number, value: number, width: Width = 4): void {
    const effect = this.table.get(offset) ?? { kind: "store" };
    switch (effect.kind) {
      case "store":
        this.poke(offset, value, width);
        break;
      case "w1c":
        this.clearBits(offset, value, width);
        break;
      case "set":
        this.setBits(effect.target, value, width);
        break;
      case "clear":
        this.clearBits(effect.target, value, width);
        break;
      default: {
        const never: never = effect;
        throw new Error(`Unknown write effect ${JSON.stringify(never)}`);
      }
    }
    this.#doorbell.ring();
  }

  /** Device-side store without semantics or doorbell. */
  poke(offset: number, value: number, width: Width = 4): void {
    switch (width) {
      case 1:
        Atomics.store(this.#u8, offset, value & 0xff);
        return;
      case 2:
        Atomics.store(this.#u16, offset >>> 1, value & 0xffff);
        return;
      case 4:
        Atomics.store(this.#u32, offset >>> 2, value >>> 0);
        return;
    }
  }

  /** Atomically OR `bits` into a register; returns the previous value. */
  setBits(offset: number, bits: number, width: Width = 4): number {
    switch (width) {
      case 1:
        return Atomics.or(this.#u8, offset, bits & 0xff);
      case 2:
        return Atomics.or(this.#u16, offset >>> 1, bits & 0xffff);
      case 4:
        return Atomics.or(this.#u32, offset >>> 2, bits >>> 0);
    }
  }

  /** Atomically clear `bits` in a register; returns the previous value. */
  clearBits(offset: number, bits: number, width: Width = 4): number {
    switch (width) {
      case 1:
        return Atomics.and(this.#u8, offset, ~bits & 0xff);
      case 2:
        return Atomics.and(this.#u16, offset >>> 1, ~bits & 0xffff);
      case 4:
        return Atomics.and(this.#u32, offset >>> 2, ~bits >>> 0);
    }
  }

  /** Device-side counter increment (32-bit, wraps); returns the previous value. */
  add(offset: number, n: number): number {
    return Atomics.add(this.#u32, offset >>> 2, n);
  }

  /** Zero every register (device reset). */
  clearAll(): void {
    for (let i = 0; i < this.#u32.length; i++) Atomics.store(this.#u32, i, 0);
  }
}
