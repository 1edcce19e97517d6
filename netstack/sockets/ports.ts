/**
 * Local port bookkeeping per protocol: binding with EADDRINUSE/SO_REUSEADDR semantics and
 * ephemeral port allocation (Linux's default range 32768–60999).
 */
import { ErrnoError } from "../../kernel/errno.ts";

/** Ephemeral range, as Linux's net.ipv4.ip_local_port_range default. */
export const EPHEMERAL_LOW = 32768;
/** Upper end of the ephemeral range. */
export const EPHEMERAL_HIGH = 60999;

/** Something holding a local port. */
export interface PortUser {
  localAddr: number;
  reuseAddr: boolean;
  /** TCP listeners and bound sockets conflict; established children share their port. */
  sharesPort?: boolean;
}

const EMPTY: ReadonlySet<PortUser> = new Set();

/** Port tables for one protocol. */
export class ProtocolPorts {
  #users = new Map<number, Set<PortUser>>();
  #next = EPHEMERAL_LOW;

  /** Claim `port` for `u` (0 = pick an ephemeral one); returns the port. */
  bind(u: PortUser, port: number): number {
    if (port === 0) return this.#ephemeral(u);
    const set = this.#users.get(port);
    if (set) {
      for (const other of set) {
        if (other === u || other.sharesPort) continue;
        const overlap = other.localAddr === 0 || u.localAddr === 0 ||
          other.localAddr === u.localAddr;
        if (overlap && !(u.reuseAddr && other.reuseAddr)) {
          throw new ErrnoError("EADDRINUSE", `Cannot bind to port ${port}`);
        }
      }
    }
    this.#add(port, u);
    return port;
  }

  #ephemeral(u: PortUser): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    for (let i = 0; i < span; i++) {
      const p = this.#next;
      this.#next = p >= EPHEMERAL_HIGH ? EPHEMERAL_LOW : p + 1;
      if (!this.#users.has(p)) {
        this.#add(p, u);
        return p;
      }
    }
    throw new ErrnoError("EADDRINUSE", "No ephemeral port left");
  }

  #add(port: number, u: PortUser) {
    let set = this.#users.get(port);
    if (!set) this.#users.set(port, set = new Set());
    set.add(u);
  }

  /** Give `port` back. */
  release(u: PortUser, port: number): void {
    const set = this.#users.get(port);
    if (!set) return;
    set.delete(u);
    if (set.size === 0) this.#users.delete(port);
  }

  /** Who holds `port` (empty when nobody). */
  users(port: number): ReadonlySet<PortUser> {
    return this.#users.get(port) ?? EMPTY;
  }

  /** Number of ports in use. */
  get size(): number {
    return this.#users.size;
  }
}

/** Port tables for every transport protocol of a stack. */
export class PortTable {
  readonly udp = new ProtocolPorts();
  readonly tcp = new ProtocolPorts();
}
