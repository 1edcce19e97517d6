/**
 * A LinkPort whose cable can be swapped while in use: a netstack interface keeps one of these, and
 * when its driver worker is restarted the new driver's port is plugged in behind it.
 */
import type { LinkPort } from "./port.ts";

/** A LinkPort forwarding to a replaceable inner port. */
export class SwitchablePort implements LinkPort {
  #inner: LinkPort;
  #handler?: (frame: Uint8Array) => void;
  #burstEnd?: () => void;
  /** Frames sent while no cable was plugged in. */
  dropped = 0;

  constructor(inner: LinkPort) {
    this.#inner = inner;
  }

  /** Plug in a new cable; the old one is closed. */
  replace(inner: LinkPort): void {
    this.#inner.close();
    this.#inner = inner;
    if (this.#handler) inner.onFrame(this.#handler);
    if (this.#burstEnd) inner.onBurstEnd?.(this.#burstEnd);
  }

  send(frame: Uint8Array): void {
    this.#inner.send(frame);
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.#handler = handler;
    this.#inner.onFrame(handler);
  }

  linkDrops(): Record<string, number> {
    const drops = { ...this.#inner.linkDrops?.() };
    if (this.dropped > 0) drops["link: tx-unplugged"] = this.dropped;
    return drops;
  }

  onBurstEnd(callback: () => void): void {
    this.#burstEnd = callback;
    this.#inner.onBurstEnd?.(callback);
  }

  close(): void {
    this.#inner.close();
  }
}
