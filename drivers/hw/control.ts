/**
 * The wires between a driver and its device model besides registers and memory: the doorbell
 * (driver → device: "I wrote a register"), the serviced counter (device → driver: "I have
 * handled every doorbell up to N", used like a PCI read that flushes posted writes) and the
 * interrupt line (device → driver). All live in one small SharedArrayBuffer of Int32 words.
 */

/** Word indices inside the control buffer. */
export const CONTROL = {
  doorbell: 0,
  serviced: 1,
  irqPending: 2,
  irqCount: 3,
} as const;

/** Bytes of a control buffer. */
export const CONTROL_BYTES = 16;

/** Driver-side spin hook: called while the driver waits for the device to catch up. */
export type Spin = () => void;

/** Doorbell and serviced counters over a control buffer; both sides build one. */
export class Doorbell {
  readonly #words: Int32Array;

  /** View `control` (a {@link CONTROL_BYTES}-byte SharedArrayBuffer). */
  constructor(control: SharedArrayBuffer) {
    this.#words = new Int32Array(control, 0, CONTROL_BYTES >>> 2);
  }

  /** Driver: tell the device registers changed; returns the new doorbell sequence number. */
  ring(): number {
    const seq = (Atomics.add(this.#words, CONTROL.doorbell, 1) + 1) | 0;
    Atomics.notify(this.#words, CONTROL.doorbell);
    return seq;
  }

  /** The current doorbell sequence number (wraps at 2^32; compare with `!==` only). */
  get sequence(): number {
    return Atomics.load(this.#words, CONTROL.doorbell);
  }

  /** Device: record that everything up to doorbell `seq` has been handled. */
  serviced(seq: number): void {
    Atomics.store(this.#words, CONTROL.serviced, seq);
    Atomics.notify(this.#words, CONTROL.serviced);
  }

  /** True once the device has serviced doorbell `seq` (wrap-safe 32-bit compare). */
  hasServiced(seq: number): boolean {
    return ((Atomics.load(this.#words, CONTROL.serviced) - seq) | 0) >= 0;
  }

  /**
   * Driver: ring and wait until the device has serviced that doorbell, calling `spin` between
   * checks at most `maxSpins` times. Returns false if the device never caught up.
   */
  flush(spin: Spin, maxSpins = 2_000): boolean {
    const seq = this.ring();
    for (let i = 0; i < maxSpins; i++) {
      if (this.hasServiced(seq)) return true;
      spin();
    }
    return this.hasServiced(seq);
  }

  /** Device thread: resolve when the doorbell moves past `seen` (immediately if it has). */
  async waitAsync(seen: number): Promise<void> {
    const r = Atomics.waitAsync(this.#words, CONTROL.doorbell, seen);
    if (r.async) await r.value;
  }

  /** Default driver spin for a device running on another thread: wait up to 1 ms for it. */
  readonly threadSpin: Spin = () => {
    const s = Atomics.load(this.#words, CONTROL.serviced);
    Atomics.wait(this.#words, CONTROL.serviced, s, 1);
  };
}

/** An edge-latched interrupt line over a control buffer; both sides build one. */
export class InterruptLine {
  readonly #words: Int32Array;

  /** View `control` (a {@link CONTROL_BYTES}-byte SharedArrayBuffer). */
  constructor(control: SharedArrayBuffer) {
    this.#words = new Int32Array(control, 0, CONTROL_BYTES >>> 2);
  }

  /** Device: assert the line and wake a waiting driver. */
  raise(): void {
    Atomics.add(this.#words, CONTROL.irqCount, 1);
    if (Atomics.exchange(this.#words, CONTROL.irqPending, 1) === 0) {
      Atomics.notify(this.#words, CONTROL.irqPending);
    }
  }

  /** Driver: take (and clear) a pending interrupt; true if one was pending. */
  take(): boolean {
    return Atomics.exchange(this.#words, CONTROL.irqPending, 0) === 1;
  }

  /** True while an interrupt is pending (polling drivers and tests). */
  get pending(): boolean {
    return Atomics.load(this.#words, CONTROL.irqPending) === 1;
  }

  /** Times the device raised the line (raises while pending included). */
  get count(): number {
    return Atomics.load(this.#words, CONTROL.irqCount);
  }

  /** Driver thread: resolve once an interrupt is pending. */
  async waitAsync(): Promise<void> {
    const r = Atomics.waitAsync(this.#words, CONTROL.irqPending, 0);
    if (r.async) await r.value;
  }

  /** Wake a waiting driver without raising (used to stop its loop). */
  wake(): void {
    Atomics.notify(this.#words, CONTROL.irqPending);
  }
}
