/**
 * Socket helpers shared by the tools: addresses from a family, receiving with a timeout,
 * sending a whole buffer, closing without caring, and listening sockets.
 */
import type { IfaceInfo } from "../kernel/bus/messages.ts";
import {
  AF_INET,
  AF_INET6,
  bind,
  close,
  ErrnoError,
  inet,
  inet6,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  listen,
  netctl,
  poll,
  POLLERR,
  POLLHUP,
  POLLIN,
  recvmsg,
  type RecvResult,
  send,
  setsockopt,
  SO_REUSEADDR,
  SOCK_DGRAM,
  SOCK_STREAM,
  type SockAddr,
  socket,
  SOL_SOCKET,
} from "../libc/mod.ts";
import { type Host, hostText, UsageError } from "./_args.ts";

/** A socket address of `family` (AF_INET or AF_INET6, with an optional IPv6 scope id). */
export function sockaddr(family: number, addr: string, port: number, scopeId?: number): SockAddr {
  return family === AF_INET6 ? inet6(addr, port, scopeId || undefined) : inet(addr, port);
}

/** The interface index a host's IPv6 zone names ("eth0" or "2"); undefined without a zone. */
export async function scopeIdOf(h: Host): Promise<number | undefined> {
  if (h.scope === undefined) return undefined;
  if (/^\d+$/.test(h.scope)) return Number(h.scope);
  const ifaces = await netctl({ op: "ifaces" }) as IfaceInfo[];
  const i = ifaces.find((i) => i.name === h.scope);
  if (!i) throw new UsageError(`${hostText(h)}: no such interface ${h.scope}`);
  return i.index;
}

/** The wildcard address of `family` with `port`: 0.0.0.0:port or [::]:port. */
export function anyAddr(family: number, port: number): SockAddr {
  return family === AF_INET6 ? inet6("::", port) : inet("0.0.0.0", port);
}

/**
 * Host part of an INET socket address, "?" otherwise. A v4-mapped IPv6 address (a dual-stack
 * server's IPv4 peer, ::ffff:10.0.0.1) prints as the IPv4 address it maps.
 */
export function hostOf(a: SockAddr | undefined): string {
  if (!a || (a.family !== AF_INET && a.family !== AF_INET6)) return "?";
  return a.family === AF_INET6 ? unmapped(a.addr) : a.addr;
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; any other address unchanged. */
export function unmapped(addr: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  return m ? m[1] : addr;
}

/** Port of an INET socket address, 0 otherwise. */
export function portOf(a: SockAddr | undefined): number {
  return a && (a.family === AF_INET || a.family === AF_INET6) ? a.port : 0;
}

/** Wait up to `ms` for `fd` to become readable (negative waits forever); true when it did. */
export async function readable(fd: number, ms: number): Promise<boolean> {
  const r = await poll([{ fd, events: POLLIN }], ms < 0 ? -1 : Math.max(0, Math.ceil(ms)));
  return r.count > 0 && (r.revents[0] & (POLLIN | POLLHUP | POLLERR)) !== 0;
}

/** Receive with a timeout in ms (negative waits forever): the result, or null on timeout. */
export async function recvTimeout(fd: number, ms: number, len = 65536): Promise<RecvResult | null> {
  if (ms >= 0 && !(await readable(fd, ms))) return null;
  return await recvmsg(fd, len);
}

/** Send all of `data` on a stream socket, looping over partial sends. */
export async function sendAll(fd: number, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const n = await send(fd, off === 0 ? data : data.subarray(off));
    if (n <= 0) throw new ErrnoError("EIO", "Cannot send: nothing was accepted");
    off += n;
  }
}

/** Close `fd`, ignoring errors (it may already be gone). */
export async function closeQuietly(fd: number): Promise<void> {
  await close(fd).catch(() => {});
}

/**
 * A server socket of `type` on `port`, listening when `type` is a stream type. `family` is what
 * -4/-6 chose: undefined binds [::] dual-stack (IPV6_V6ONLY off, IPv4 peers arrive v4-mapped, as
 * modern Linux servers listen), AF_INET6 binds [::] with IPV6_V6ONLY on, AF_INET binds 0.0.0.0.
 * `opts.addr` binds that address instead of the wildcard (its family is `family`, or IPv6 when
 * undefined). TCP sockets get SO_REUSEADDR, as Linux servers set it so a restart does not wait
 * out TIME-WAIT; UDP sockets do not: on Linux it would let another socket (of any uid) bind a
 * more specific address on the same port and take its datagrams.
 */
export async function listenOn(
  family: number | undefined,
  type: number,
  port: number,
  opts: { addr?: string; backlog?: number; listen?: boolean } = {},
): Promise<number> {
  const af = family ?? AF_INET6;
  const fd = await socket(af, type);
  try {
    if (af === AF_INET6) await setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, family ? 1 : 0);
    if (type === SOCK_STREAM) await setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1).catch(() => {});
    await bind(fd, opts.addr ? sockaddr(af, opts.addr, port) : anyAddr(af, port));
    if (opts.listen ?? type !== SOCK_DGRAM) await listen(fd, opts.backlog ?? 128);
    return fd;
  } catch (err) {
    await closeQuietly(fd);
    throw err;
  }
}

/** How a server's wildcard address prints: "0.0.0.0:7", "[::]:7", "[::]:7 (IPv6 only)". */
export function listenText(family: number | undefined, port: number): string {
  if (family === AF_INET) return `0.0.0.0:${port}`;
  return family === AF_INET6 ? `[::]:${port} (IPv6 only)` : `[::]:${port}`;
}

/** Milliseconds since an arbitrary origin (programs may read the clock; state machines may not). */
export function now(): number {
  return performance.now();
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
