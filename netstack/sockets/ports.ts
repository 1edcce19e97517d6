/**
 * Local port bookkeeping per protocol: binding with Linux's EADDRINUSE rules (SO_REUSEADDR,
 * SO_REUSEPORT, listeners, dual-stack AF_INET6) and ephemeral port allocation (Linux's default
 * range 32768–60999).
 *
 * Two sockets on one port conflict when their addresses overlap (a wildcard overlaps every
 * address of its family; an AF_INET6 `[::]` socket without IPV6_V6ONLY also every IPv4 one),
 * unless (Linux's inet_csk_bind_conflict and udp_lib_lport_inuse):
 * - both set SO_REUSEADDR and the one already there is not listening, or
 * - both set SO_REUSEPORT and were created by the same uid, or
 * - they are bound to different devices (SO_BINDTODEVICE).
 * listen() checks again, with the listener-to-be counted as listening: so two sockets bound
 * with SO_REUSEADDR may share an address and port, but only the first of them may listen, and
 * nobody binds an address a listener covers. Linux differs here from the BSDs, where
 * SO_REUSEADDR lets a specific address be bound beside a wildcard listener.
 *
 * Ephemeral ports are not handed out in order (a sequential port tells an off-path attacker the
 * next one, RFC 6056 §2.2). A connect picks its port with RFC 6056 §3.3.4's double-hash
 * algorithm, as Linux's __inet_hash_connect does: a keyed hash of the destination gives where
 * the search starts, and a table of counters indexed by a second hash moves it on for each new
 * connection to that destination. Ports for different destinations are unrelated; a bind to
 * port 0 with no destination yet starts at a random place (§3.3.1).
 */
import { ErrnoError } from "../../kernel/errno.ts";
import { equal6, isUnspecified6, isV4Mapped, v4FromMapped } from "../ip6/addr6.ts";
import { halfSipHash, type Secret, secretFrom } from "../ip/keyed_hash.ts";

/** Counters of RFC 6056 §3.3.4's table (Linux: INET_TABLE_PERTURB_SIZE is 2^16). */
const PERTURB_SIZE = 1 << 10;

/** Ephemeral range, as Linux's net.ipv4.ip_local_port_range default. */
export const EPHEMERAL_LOW = 32768;
/** Upper end of the ephemeral range. */
export const EPHEMERAL_HIGH = 60999;

/** Something holding a local port. */
export interface PortUser {
  /** IPv4 address bound (0 = any); for AF_INET6 sockets a key of `local6`. */
  localAddr: number;
  /** AF_INET (2, the default) or AF_INET6 (10). */
  family?: number;
  /** AF_INET6 sockets: the address bound (undefined or `::` = any). */
  local6?: Uint8Array;
  /** SO_REUSEADDR. */
  reuseAddr: boolean;
  /** SO_REUSEPORT. */
  reusePort?: boolean;
  /** The uid that created the socket (SO_REUSEPORT is shared within one uid only). */
  uid?: number;
  /** AF_INET6 sockets: IPV6_V6ONLY. */
  v6only?: boolean;
  /** SO_BINDTODEVICE. */
  device?: string;
  /** In state LISTEN. */
  listening?: boolean;
  /** TCP listeners and bound sockets conflict; established children share their port. */
  sharesPort?: boolean;
  /** A holder that outlives its socket (a TCP connection closing): holds while this is true. */
  alive?: () => boolean;
}

const EMPTY: ReadonlySet<PortUser> = new Set();

/** The IPv4 and IPv6 addresses a socket's binding covers (`null` = all, undefined = none). */
interface Covers {
  v4?: number | null;
  v6?: Uint8Array | null;
}

function covers(u: PortUser): Covers {
  if (u.family !== 10) return { v4: u.localAddr === 0 ? null : u.localAddr };
  const a = u.local6;
  if (!a || isUnspecified6(a)) return u.v6only ? { v6: null } : { v4: null, v6: null };
  if (isV4Mapped(a)) {
    const v4 = v4FromMapped(a);
    return { v4: v4 === 0 ? null : v4 };
  }
  return { v6: a };
}

/** Whether two bindings on one port share an address (Linux's inet_rcv_saddr_equal). */
export function overlaps(a: PortUser, b: PortUser): boolean {
  const x = covers(a), y = covers(b);
  if (x.v4 !== undefined && y.v4 !== undefined) {
    if (x.v4 === null || y.v4 === null || x.v4 === y.v4) return true;
  }
  if (x.v6 !== undefined && y.v6 !== undefined) {
    if (x.v6 === null || y.v6 === null || equal6(x.v6, y.v6)) return true;
  }
  return false;
}

/** Whether `u` may not take a port `other` holds (Linux's bind conflict rules, see above). */
export function conflicts(u: PortUser, other: PortUser): boolean {
  if (other === u || other.sharesPort) return false;
  if (u.device && other.device && u.device !== other.device) return false;
  if (!overlaps(u, other)) return false;
  if (u.reuseAddr && other.reuseAddr && !other.listening) return false;
  if (u.reusePort && other.reusePort && (u.uid ?? 0) === (other.uid ?? 0)) return false;
  return true;
}

/** Port tables for one protocol. */
export class ProtocolPorts {
  #users = new Map<number, Set<PortUser>>();
  #perturb = new Uint16Array(PERTURB_SIZE);
  #enc = new TextEncoder();

  constructor(readonly secret: Secret = secretFrom()) {}

  /**
   * Claim `port` for `u` (0 = pick an ephemeral one); returns the port. `dest` names where a
   * connect is going (any stable encoding of the remote address and port): the ephemeral port
   * is then chosen as RFC 6056 §3.3.4 says.
   */
  bind(u: PortUser, port: number, dest?: string): number {
    if (port === 0) return this.#ephemeral(u, dest);
    this.check(u, port, `Cannot bind to port ${port}: address already in use`);
    this.#add(port, u);
    return port;
  }

  /**
   * EADDRINUSE if `u` may not hold `port` beside its other users. listen() calls it once more
   * with `u` about to listen: a socket bound beside others with SO_REUSEADDR may not listen
   * where another one already does.
   */
  check(u: PortUser, port: number, what: string): void {
    for (const other of this.users(port)) {
      if (conflicts(u, other)) throw new ErrnoError("EADDRINUSE", what);
    }
  }

  #ephemeral(u: PortUser, dest?: string): number {
    const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
    let offset: number, index = -1;
    if (dest === undefined) offset = this.secret.random();
    else {
      const key = this.#enc.encode(`${u.localAddr}|${dest}`);
      offset = halfSipHash(this.secret.k0, this.secret.k1, key);
      index = halfSipHash(this.secret.k1, this.secret.k0, key) % PERTURB_SIZE;
    }
    const start = index < 0 ? 0 : this.#perturb[index];
    for (let i = 0; i < span; i++) {
      const p = EPHEMERAL_LOW + (offset + start + i) % span;
      // A port only closing connections hold is free for a new one: its 4-tuple differs, or
      // the connection layer takes the TIME-WAIT one over (Linux's __inet_check_established).
      if ([...this.users(p)].every((o) => o.alive)) {
        // The next connection to this destination starts past this one (and a little
        // further at random, as Linux does, so the counter does not tell how many went).
        if (index >= 0) this.#perturb[index] = start + i + 1 + (this.secret.random() & 1);
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

  /**
   * Keep `port` held for `u.alive` (as Linux keeps a closing or TIME-WAIT socket in the bind
   * hash, inet_csk_bind_conflict): the holder conflicts as a bound socket would until its
   * connection is gone. No conflict check: the port was already the socket's.
   */
  linger(u: PortUser, port: number): void {
    this.#add(port, u);
  }

  /** Who holds `port` (empty when nobody); lingering holders whose time is over are dropped. */
  users(port: number): ReadonlySet<PortUser> {
    const set = this.#users.get(port);
    if (!set) return EMPTY;
    for (const u of set) if (u.alive && !u.alive()) set.delete(u);
    if (set.size === 0) this.#users.delete(port);
    return set;
  }

  /** Number of ports in use. */
  get size(): number {
    return this.#users.size;
  }
}

/** Port tables for every transport protocol of a stack. */
export class PortTable {
  readonly udp: ProtocolPorts;
  readonly tcp: ProtocolPorts;

  /** `seed`: fixed secrets, for the simulator and tests; otherwise the CSPRNG's. */
  constructor(seed?: number) {
    this.udp = new ProtocolPorts(secretFrom(seed === undefined ? undefined : seed ^ 0x75647000));
    this.tcp = new ProtocolPorts(secretFrom(seed));
  }
}
