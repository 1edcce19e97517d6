/**
 * A driver's view of the carrier: the last link state it saw and the one listener it tells when
 * that changes. Shared by every NIC driver so "report only real changes" lives in one place.
 */

/** Last link state seen by a driver, reporting changes to one listener. */
export class LinkWatch {
  /** Last state seen; starts down. Set directly at init, where no change is reported. */
  up = false;
  #listener: (up: boolean) => void = () => {};

  /** Register the receiver of link changes (replacing any earlier one). */
  listen(cb: (up: boolean) => void): void {
    this.#listener = cb;
  }

  /** Record the state just read from the device; tell the listener if it differs. */
  update(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    this.#listener(up);
  }
}
