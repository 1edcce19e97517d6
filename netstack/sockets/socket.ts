/**
 * The base of every INET socket (SerenityOS's Socket): identity, owners, SOL_SOCKET and IP
 * options, SO_ERROR, blocking with timeouts. Protocols fill narrow hooks.
 */
import * as abi from "../../kernel/abi.ts";
import type { OptValue, RecvResult, SockAddr } from "../../kernel/bus/messages.ts";
import { Errno, type ErrnoCode, ErrnoError } from "../../kernel/errno.ts";
import { remaining, waitAny, WaitQueue } from "../../kernel/wait_queue.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../wire/addr.ts";
import type { Stack } from "../stack.ts";
import type { MemoryAccount } from "./memory_ledger.ts";

/** What a socket is charged to its holder besides its buffers: the objects it is made of. */
export const SOCKET_BYTES = 2048;

/** SOL_SOCKET and IPPROTO_IP options every INET socket has. */
export interface CommonOptions {
  reuseAddr: boolean;
  /** SO_REUSEPORT: shares a port with sockets of the same uid that set it too. */
  reusePort: boolean;
  broadcast: boolean;
  keepalive: boolean;
  /** SO_OOBINLINE: TCP's urgent byte stays in the stream (see tcp_urgent.ts). */
  oobInline?: boolean;
  rcvtimeo?: number;
  sndtimeo?: number;
  rcvbuf: number;
  sndbuf: number;
  timestamp: boolean;
  bindToDevice?: string;
  ttl: number;
  tos: number;
  multicastTtl: number;
  multicastLoop: boolean;
  linger?: { onoff: boolean; linger: number };
  /** AF_INET6 only: IPV6_V6ONLY (default false: dual-stack). */
  v6only: boolean;
  /** AF_INET6 only: IPV6_UNICAST_HOPS (-1 = the route's default). */
  unicastHops: number;
  /** AF_INET6 only: IPV6_RECVHOPLIMIT (report each datagram's hop limit). */
  recvHopLimit: boolean;
  /** AF_INET6 only: IPV6_MULTICAST_HOPS. */
  multicastHops: number;
}

/** Default receive buffer (Linux rmem_default). */
export const DEFAULT_RCVBUF = 212992;
/** Default send buffer (Linux wmem_default). */
export const DEFAULT_SNDBUF = 212992;
/** Largest SO_SNDBUF a process may ask for (Linux net.core.wmem_max default); stored doubled. */
export const WMEM_MAX = 212992;
/** Largest SO_RCVBUF a process may ask for (Linux net.core.rmem_max default); stored doubled. */
export const RMEM_MAX = 212992;
/** Smallest send buffer (Linux SOCK_MIN_SNDBUF). */
export const SOCK_MIN_SNDBUF = 4608;
/** Smallest receive buffer (Linux SOCK_MIN_RCVBUF). */
export const SOCK_MIN_RCVBUF = 2304;
/** Default unicast TTL (Linux ip_default_ttl). */
export const DEFAULT_TTL = 64;

/** Parse an AF_INET socket address to (addr, port), EAFNOSUPPORT/EINVAL otherwise. */
export function inAddr(a: SockAddr, what: string): { addr: number; port: number } {
  if (a.family !== abi.AF_INET) throw new ErrnoError("EAFNOSUPPORT", what);
  const addr = parseIPv4(a.addr);
  if (addr === undefined) throw new ErrnoError("EINVAL", `${what}: bad address ${a.addr}`);
  return { addr, port: a.port };
}

/** Make an AF_INET socket address. */
export function sockAddr4(addr: number, port: number): SockAddr {
  return { family: abi.AF_INET, addr: formatIPv4(addr), port };
}

/** An AF_INET6 socket address taken apart. */
export interface In6Addr {
  addr: Uint8Array;
  port: number;
  /** Interface index for link-local addresses (0 = none). */
  scopeId: number;
}

/** Parse an AF_INET6 socket address, EAFNOSUPPORT/EINVAL otherwise. */
export function in6Addr(a: SockAddr, what: string): In6Addr {
  if (a.family !== abi.AF_INET6) throw new ErrnoError("EAFNOSUPPORT", what);
  const addr = parseIPv6(a.addr);
  if (addr === undefined) throw new ErrnoError("EINVAL", `${what}: bad address ${a.addr}`);
  return { addr, port: a.port, scopeId: a.scopeId ?? 0 };
}

/** Make an AF_INET6 socket address. */
export function sockAddr6(addr: Uint8Array, port: number, scopeId = 0): SockAddr {
  const s: SockAddr = { family: abi.AF_INET6, addr: formatIPv6(addr), port };
  if (scopeId) s.scopeId = scopeId;
  return s;
}

/** How a blocking call may wait. */
export interface WaitCtx {
  signal: AbortSignal;
  /** The process calling, when it called on its own port (see TcpSocket.unread). */
  pid?: number;
}

/** The common part of TCP, UDP and raw sockets. */
export abstract class InetSocket {
  readonly wq = new WaitQueue();
  readonly owners = new Set<number>();
  nonblock = false;
  soError = 0;
  closed = false;
  /** The uid of the process that created the socket (Linux's sk_uid): SO_REUSEPORT groups. */
  uid = 0;
  readonly opts: CommonOptions = {
    reuseAddr: false,
    reusePort: false,
    broadcast: false,
    keepalive: false,
    rcvbuf: DEFAULT_RCVBUF,
    sndbuf: DEFAULT_SNDBUF,
    timestamp: false,
    ttl: DEFAULT_TTL,
    tos: 0,
    multicastTtl: 1,
    multicastLoop: true,
    v6only: false,
    unicastHops: -1,
    recvHopLimit: false,
    multicastHops: 1,
  };
  /** AF_INET or AF_INET6. */
  family: number = abi.AF_INET;

  constructor(
    readonly sid: number,
    readonly stack: Stack,
    readonly type: number,
    readonly protocol: number,
  ) {
    this.wq.watch(() => this.onWake());
  }

  /** The process this socket's memory is charged to (memory_ledger.ts); none once released. */
  account?: MemoryAccount;
  /** Bytes charged to {@link account} for this socket now. */
  charged = 0;

  /** Bytes this socket holds now: {@link SOCKET_BYTES} plus what its queues hold. */
  memoryHeld(): number {
    const q = this.queues();
    return SOCKET_BYTES + q.recvQ + q.sendQ;
  }

  /** Charge this socket to `account` (undefined: to nobody), moving its charge from the last. */
  chargeTo(account: MemoryAccount | undefined): void {
    this.account?.adjust(-this.charged);
    this.charged = 0;
    this.account = account;
    this.recharge();
  }

  /** Bring the charge in step with {@link memoryHeld}: a counter update. */
  recharge(): void {
    const a = this.account;
    if (!a) return;
    const held = this.memoryHeld();
    if (held !== this.charged) {
      a.adjust(held - this.charged);
      this.charged = held;
    }
  }

  /** Runs at every wake of {@link wq}, before its sleepers: buffers changed, charge them. */
  protected onWake(): void {
    this.recharge();
  }

  /** SO_REUSEADDR (for the port table). */
  get reuseAddr(): boolean {
    return this.opts.reuseAddr;
  }

  /** SO_REUSEPORT (for the port table). */
  get reusePort(): boolean {
    return this.opts.reusePort;
  }

  /** IPV6_V6ONLY (for the port table). */
  get v6only(): boolean {
    return this.opts.v6only;
  }

  /** SO_BINDTODEVICE (for the port table). */
  get device(): string | undefined {
    return this.opts.bindToDevice;
  }

  /** "tcp", "udp", "raw" — for netstat. */
  abstract get proto(): string;

  abstract bind(addr: SockAddr): void;
  abstract connect(addr: SockAddr, ctx: WaitCtx): Promise<void>;
  abstract sendmsg(
    data: Uint8Array,
    flags: number,
    addr: SockAddr | undefined,
    ctx: WaitCtx,
  ): Promise<number>;
  abstract recvmsg(len: number, flags: number, ctx: WaitCtx): Promise<RecvResult>;
  abstract getsockname(): SockAddr;
  abstract getpeername(): SockAddr;
  abstract shutdown(how: number): void;
  /** poll() readiness. */
  abstract readiness(): number;
  /** Last handle closed. */
  abstract release(): void;

  listen(_backlog: number): void {
    throw new ErrnoError("EOPNOTSUPP", "Cannot listen on this socket type");
  }

  accept(_ctx: WaitCtx): Promise<{ socket: InetSocket; addr: SockAddr }> {
    return Promise.reject(new ErrnoError("EOPNOTSUPP", "Cannot accept on this socket type"));
  }

  /** Protocol-specific options; return undefined if not handled. */
  protected setProtocolOption(_level: number, _name: number, _value: OptValue): boolean {
    return false;
  }

  /** Protocol-specific option values; undefined if not handled. */
  protected getProtocolOption(_level: number, _name: number): OptValue | undefined {
    return undefined;
  }

  /** Bytes queued for reading / sending, for netstat. */
  queues(): { recvQ: number; sendQ: number } {
    return { recvQ: 0, sendQ: 0 };
  }

  /** The shared rings' fill, when the socket's bytes go through them (netstat -e). */
  rings(): { size: number; tx: number; rx: number } | undefined {
    return undefined;
  }

  /** netstat state column. */
  stateName(): string {
    return "";
  }

  setsockopt(level: number, name: number, value: OptValue): void {
    if (this.setProtocolOption(level, name, value)) return;
    const num = () => toNumber(value);
    if (level === abi.SOL_SOCKET) {
      switch (name) {
        case abi.SO_REUSEADDR:
          this.opts.reuseAddr = num() !== 0;
          return;
        case abi.SO_REUSEPORT:
          this.opts.reusePort = num() !== 0;
          return;
        case abi.SO_BROADCAST:
          this.opts.broadcast = num() !== 0;
          return;
        case abi.SO_KEEPALIVE:
          this.opts.keepalive = num() !== 0;
          this.onOptionsChanged();
          return;
        case abi.SO_OOBINLINE:
          this.opts.oobInline = num() !== 0;
          this.onOptionsChanged();
          return;
        // As Linux's sock_setsockopt: capped at rmem_max/wmem_max, doubled for bookkeeping
        // overhead (getsockopt reports the doubled value), never below SOCK_MIN_*.
        case abi.SO_RCVBUF:
          this.opts.rcvbuf = Math.max(Math.min(num(), RMEM_MAX) * 2, SOCK_MIN_RCVBUF);
          this.onOptionsChanged();
          return;
        case abi.SO_SNDBUF:
          this.opts.sndbuf = Math.max(Math.min(num(), WMEM_MAX) * 2, SOCK_MIN_SNDBUF);
          this.onOptionsChanged();
          return;
        case abi.SO_RCVTIMEO:
          this.opts.rcvtimeo = num() || undefined;
          return;
        case abi.SO_SNDTIMEO:
          this.opts.sndtimeo = num() || undefined;
          return;
        case abi.SO_TIMESTAMP:
          this.opts.timestamp = num() !== 0;
          return;
        case abi.SO_BINDTODEVICE: {
          if (typeof value !== "string") {
            throw new ErrnoError("EINVAL", "SO_BINDTODEVICE takes a name");
          }
          if (value !== "" && !this.stack.iface(value)) {
            throw new ErrnoError("ENODEV", `No device ${value}`);
          }
          this.opts.bindToDevice = value || undefined;
          return;
        }
        case abi.SO_LINGER: {
          if (typeof value !== "object" || value instanceof Uint8Array) {
            throw new ErrnoError("EINVAL", "SO_LINGER takes { onoff, linger }");
          }
          const v = value as { onoff?: unknown; linger?: unknown };
          this.opts.linger = {
            onoff: Boolean(v.onoff),
            linger: toNumber((v.linger ?? 0) as OptValue),
          };
          return;
        }
      }
    } else if (level === abi.IPPROTO_IPV6 && this.family === abi.AF_INET6) {
      switch (name) {
        case abi.IPV6_V6ONLY:
          this.opts.v6only = num() !== 0;
          return;
        case abi.IPV6_UNICAST_HOPS: {
          const v = value === -1 ? -1 : num();
          if (v > 255) throw new ErrnoError("EINVAL", "IPV6_UNICAST_HOPS must be -1..255");
          this.opts.unicastHops = v;
          return;
        }
        case abi.IPV6_MULTICAST_HOPS: {
          const v = value === -1 ? 1 : num();
          if (v > 255) throw new ErrnoError("EINVAL", "IPV6_MULTICAST_HOPS must be -1..255");
          this.opts.multicastHops = v;
          return;
        }
        case abi.IPV6_MULTICAST_LOOP:
          this.opts.multicastLoop = num() !== 0;
          return;
        case abi.IPV6_RECVHOPLIMIT:
          this.opts.recvHopLimit = num() !== 0;
          return;
      }
    } else if (level === abi.IPPROTO_IP) {
      switch (name) {
        case abi.IP_TTL: {
          const t = num();
          if (t < 1 || t > 255) throw new ErrnoError("EINVAL", "IP_TTL must be 1..255");
          this.opts.ttl = t;
          return;
        }
        case abi.IP_TOS:
          this.opts.tos = num() & 0xff;
          return;
        case abi.IP_MULTICAST_TTL:
          this.opts.multicastTtl = clamp(num(), 0, 255);
          return;
        case abi.IP_MULTICAST_LOOP:
          this.opts.multicastLoop = num() !== 0;
          return;
      }
    }
    throw new ErrnoError("ENOPROTOOPT", `Unknown option ${level}/${name}`);
  }

  /** Called after buffer or keepalive options change. */
  protected onOptionsChanged(): void {}

  getsockopt(level: number, name: number): OptValue {
    const p = this.getProtocolOption(level, name);
    if (p !== undefined) return p;
    if (level === abi.SOL_SOCKET) {
      switch (name) {
        case abi.SO_TYPE:
          return this.type;
        case abi.SO_DOMAIN:
          return this.family;
        case abi.SO_PROTOCOL:
          return this.protocol;
        case abi.SO_ERROR: {
          const e = this.soError;
          this.soError = 0;
          return e;
        }
        case abi.SO_REUSEADDR:
          return Number(this.opts.reuseAddr);
        case abi.SO_REUSEPORT:
          return Number(this.opts.reusePort);
        case abi.SO_BROADCAST:
          return Number(this.opts.broadcast);
        case abi.SO_KEEPALIVE:
          return Number(this.opts.keepalive);
        case abi.SO_OOBINLINE:
          return Number(this.opts.oobInline ?? false);
        case abi.SO_RCVBUF:
          return this.opts.rcvbuf;
        case abi.SO_SNDBUF:
          return this.opts.sndbuf;
        case abi.SO_RCVTIMEO:
          return this.opts.rcvtimeo ?? 0;
        case abi.SO_SNDTIMEO:
          return this.opts.sndtimeo ?? 0;
        case abi.SO_TIMESTAMP:
          return Number(this.opts.timestamp);
        case abi.SO_BINDTODEVICE:
          return this.opts.bindToDevice ?? "";
        case abi.SO_LINGER:
          return this.opts.linger ?? { onoff: false, linger: 0 };
        case abi.SO_ACCEPTCONN:
          return 0;
      }
    } else if (level === abi.IPPROTO_IPV6 && this.family === abi.AF_INET6) {
      switch (name) {
        case abi.IPV6_V6ONLY:
          return Number(this.opts.v6only);
        case abi.IPV6_UNICAST_HOPS:
          return this.opts.unicastHops;
        case abi.IPV6_MULTICAST_HOPS:
          return this.opts.multicastHops;
        case abi.IPV6_MULTICAST_LOOP:
          return Number(this.opts.multicastLoop);
        case abi.IPV6_RECVHOPLIMIT:
          return Number(this.opts.recvHopLimit);
      }
    } else if (level === abi.IPPROTO_IP) {
      switch (name) {
        case abi.IP_TTL:
          return this.opts.ttl;
        case abi.IP_TOS:
          return this.opts.tos;
        case abi.IP_MULTICAST_TTL:
          return this.opts.multicastTtl;
        case abi.IP_MULTICAST_LOOP:
          return Number(this.opts.multicastLoop);
      }
    }
    throw new ErrnoError("ENOPROTOOPT", `Unknown option ${level}/${name}`);
  }

  /** Record an asynchronous error (ICMP, ARP failure, reset) for SO_ERROR and wake waiters. */
  setError(code: ErrnoCode): void {
    this.soError = Errno[code];
    this.wq.wake();
  }

  /** Sleep until woken, the timeout (ms) passes (EAGAIN), or the call is aborted (EINTR). */
  protected async sleep(deadline: number | undefined, ctx: WaitCtx, what: string): Promise<void> {
    const clock = this.stack.clock;
    const r = await waitAny([this.wq], clock, remaining(clock, deadline), ctx.signal);
    if (r === "timeout" || (deadline !== undefined && clock.now() >= deadline)) {
      throw new ErrnoError("EAGAIN", `${what}: timed out`);
    }
    if (r === "aborted") throw new ErrnoError("EINTR", what);
  }

  /** Deadline for a receive (SO_RCVTIMEO) starting now. */
  protected recvDeadline(): number | undefined {
    return this.opts.rcvtimeo ? this.stack.clock.now() + this.opts.rcvtimeo : undefined;
  }

  /** Deadline for a send (SO_SNDTIMEO) starting now. */
  protected sendDeadline(): number | undefined {
    return this.opts.sndtimeo ? this.stack.clock.now() + this.opts.sndtimeo : undefined;
  }
}

function toNumber(v: OptValue): number {
  const n = typeof v === "boolean" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
    throw new ErrnoError("EINVAL", "Option value must be a non-negative number");
  }
  return Math.trunc(n);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
