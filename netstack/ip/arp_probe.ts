/**
 * Address conflict detection for addresses not yet in use (RFC 5227 §2.1.1): while a DHCP
 * client probes an address, any ARP packet whose sender is that address, or another host's
 * probe for it, means a host claims it. Watched before the martian filter, as a packet socket
 * would see it: the owner's reply to a probe goes to 0.0.0.0, which IP would refuse.
 */
import type { ArpRepr } from "../wire/arp.ts";

/** The addresses probed on one interface, and whether a host claimed each. */
export class ArpProbes {
  readonly #claimed = new Map<number, boolean>();

  /** Start watching `addr` (no-op when already watched). */
  watch(addr: number): void {
    if (!this.#claimed.has(addr)) this.#claimed.set(addr, false);
  }

  /** Stop watching `addr`. */
  end(addr: number): void {
    this.#claimed.delete(addr);
  }

  /** Whether a host claimed `addr` since watching began. */
  claimed(addr: number): boolean {
    return this.#claimed.get(addr) ?? false;
  }

  /** Look at an ARP packet received on an interface whose MAC is `ownMac`. */
  input(a: ArpRepr, ownMac: Uint8Array): void {
    if (this.#claimed.size === 0) return;
    const own = a.senderMac.every((b, i) => b === ownMac[i]);
    if (own) return;
    if (this.#claimed.has(a.senderIp)) this.#claimed.set(a.senderIp, true);
    else if (a.senderIp === 0 && this.#claimed.has(a.targetIp)) this.#claimed.set(a.targetIp, true);
  }
}
