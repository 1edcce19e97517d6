/**
 * libc: what client programs are written against. POSIX-named async functions over the
 * process's only way out, its kernel port; errors are {@link ErrnoError}s.
 *
 * @example
 * import { AF_INET, SOCK_DGRAM, socket, sendto, inet } from "../libc/mod.ts";
 * export default async function main() {
 *   const fd = await socket(AF_INET, SOCK_DGRAM);
 *   await sendto(fd, new TextEncoder().encode("hi"), inet("10.0.0.2", 7));
 *   return 0;
 * }
 */
import type { RpcPeer } from "../kernel/bus/rpc.ts";
import type {
  Creds,
  NetCtl,
  OptValue,
  PollFd,
  ProcessInfo,
  RecvResult,
  SockAddr,
  SocketCall,
  Syscall,
} from "../kernel/bus/messages.ts";
import { ErrnoError } from "../kernel/errno.ts";
import {
  F_DUPFD,
  F_SETFL,
  O_NONBLOCK,
  POLLIN,
  SO_ERROR,
  SO_PEERCRED,
  SO_SNDTIMEO,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOL_SOCKET,
} from "../kernel/abi.ts";
import { DirectNet, type DirectSocket } from "./direct.ts";
import { formatSockAddr } from "./inet.ts";
import { type ResolverIo, socketIo } from "./dns/socket_io.ts";
import {
  type AddrInfo,
  type AddrInfoHints,
  resolveAddrInfo,
  resolveNameInfo,
} from "./dns/getaddrinfo.ts";

export * from "../kernel/abi.ts";
export { Errno, type ErrnoCode, ErrnoError, strerror } from "../kernel/errno.ts";
export type {
  Creds,
  HostEntry,
  IfaceAddr,
  IfaceInfo,
  IfaceStats,
  LeaseInfo,
  NeighInfo,
  NetCtl,
  OptValue,
  PollFd,
  ProcessInfo,
  RecvResult,
  ResolverConf,
  RouteInfo,
  SockAddr,
  SocketInfo,
} from "../kernel/bus/messages.ts";
export { formatSockAddr, inet, inet6, inet_ntop, inet_pton, local } from "./inet.ts";
export {
  type AddrInfo,
  type AddrInfoHints,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
} from "./dns/getaddrinfo.ts";
export { EAI, type GaiCode, GaiError, gaiStrerror } from "./dns/gai_error.ts";

let kernel: RpcPeer | undefined;
let rawPort: MessagePort | undefined;
let direct: DirectNet | undefined;

/** @internal Connect libc to the kernel (done by the process entry point). */
export function _attachKernel(rpc: RpcPeer, port?: MessagePort): void {
  kernel = rpc;
  rawPort = port;
}

/** @internal Give libc its own port to the host's netstack (done by the process entry point). */
export function _attachNet(rpc: RpcPeer, port?: MessagePort): void {
  direct = new DirectNet(rpc, port && ((msg) => port.postMessage(msg)));
}

/**
 * A call on one socket: straight to the netstack when libc knows the socket (see direct.ts),
 * through the kernel otherwise. Blocking stream sends may be pipelined.
 */
async function sockcall(body: SocketCall, context: string): Promise<unknown> {
  if (body.op === "sendmsg" && body.rights?.length && direct) {
    // A socket handed to another process goes with its sends landed and its bytes read ahead.
    for (const fd of body.rights) {
      const r = direct.get(fd);
      if (!r) continue;
      r.passed = true;
      await r.drain();
      await r.unshare();
      await r.unread();
    }
  }
  const s = direct?.get(body.fd);
  if (!direct || !s) return await syscall(body, context);
  return await inContext(directCall(direct, s, body), context);
}

async function directCall(net: DirectNet, s: DirectSocket, body: SocketCall): Promise<unknown> {
  if (body.op === "sendmsg" && !body.addr && !body.rights && body.data.length > 0) {
    const sent = await s.sendShared(body.data, body.flags);
    if (sent !== undefined) return sent;
    if (s.pipelines(body.flags)) return await s.pipeline(body.data);
  }
  if (body.op === "recvmsg") return await s.recv(body.len, body.flags);
  await s.drain();
  if (body.op === "sendmsg") s.throwError();
  return await net.rpc.call({ ...body, fd: s.sid });
}

/** Await `p`, rethrowing an ErrnoError with `context` as its message prefix. */
async function inContext<T>(p: Promise<T>, context?: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (context && err instanceof ErrnoError) throw new ErrnoError(err.code, context);
    throw err;
  }
}

/**
 * Issue a raw call on this process's own port to its host's netstack (socket ids, not fds).
 * For tests and tools that speak the ABI directly; ENOSYS when the process has no such port.
 */
export async function netcall(body: Record<string, unknown>): Promise<unknown> {
  if (!direct) throw new ErrnoError("ENOSYS", "No direct port to a network stack");
  return await direct.rpc.call(body);
}

/**
 * Post a structured-clone message on this process's port to its netstack (a SharedArrayBuffer
 * offered for shared rings). For tests and fuzzers; libc does this itself when it shares.
 */
export function netpost(msg: unknown): void {
  if (!direct?.raw) throw new ErrnoError("ENOSYS", "No direct port to a network stack");
  direct.raw(msg);
}

/** Let pipelined sends on `fd` land before the kernel acts on it. */
async function settle(fd: number): Promise<void> {
  await direct?.get(fd)?.drain();
}

/**
 * Put arbitrary bytes on the kernel port, bypassing the CBOR encoder: the kernel must treat
 * them as hostile input. For robustness tests and fuzzers.
 */
export function syscallRaw(bytes: Uint8Array): void {
  const copy = bytes.slice();
  rawPort?.postMessage(copy.buffer, [copy.buffer]);
}

/**
 * Issue a raw system call. Programs normally use the named wrappers; this exists for tools and
 * tests that speak the ABI directly. Errors are rethrown with `context` as the message prefix.
 */
export async function syscall(body: Syscall | Record<string, unknown>, context?: string) {
  if (!kernel) throw new ErrnoError("ENOSYS", "Not running as a Serin process");
  return await inContext(kernel.call(body), context);
}

const enc = new TextEncoder();

/** @internal Format console arguments and write them to fd 1 or 2 without waiting. */
export function _writeConsole(fd: 1 | 2, args: unknown[]): void {
  const text = args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ") + "\n";
  syscall({ op: "write", fd, data: enc.encode(text) }).catch(() => {});
}

/** Create a socket; returns its fd. */
export async function socket(domain: number, type: number, protocol = 0): Promise<number> {
  const what = "Cannot create socket";
  if (!direct) return await syscall({ op: "socket", domain, type, protocol }, what) as number;
  const r = await syscall({ op: "socket", domain, type, protocol, direct: true }, what) as {
    fd: number;
    sid?: number;
  };
  if (r.sid !== undefined) {
    direct.add(r.fd, r.sid, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), (type & SOCK_NONBLOCK) !== 0);
  }
  return r.fd;
}

/** Create a pair of connected local sockets. */
export async function socketpair(domain: number, type: number, protocol = 0) {
  return await syscall(
    { op: "socketpair", domain, type, protocol },
    "Cannot create socket pair",
  ) as [
    number,
    number,
  ];
}

/** Bind a socket to a local address. */
export async function bind(fd: number, addr: SockAddr): Promise<void> {
  await sockcall({ op: "bind", fd, addr }, `Cannot bind to ${formatSockAddr(addr)}`);
}

/** Listen for connections with a backlog (default 128). */
export async function listen(fd: number, backlog = 128): Promise<void> {
  await sockcall({ op: "listen", fd, backlog }, "Cannot listen");
}

/** Accept a connection: the new fd and the peer's address. */
export async function accept(fd: number, flags = 0): Promise<{ fd: number; addr: SockAddr }> {
  const r = await syscall({ op: "accept", fd, flags }, "Cannot accept") as {
    fd: number;
    addr: SockAddr;
    sid?: number;
  };
  const parent = direct?.get(fd);
  if (parent && r.sid !== undefined) {
    direct!.add(r.fd, r.sid, parent.type, (flags & SOCK_NONBLOCK) !== 0);
    direct!.get(r.fd)!.sndtimeo = parent.sndtimeo; // accepted sockets inherit the options
  }
  return { fd: r.fd, addr: r.addr };
}

/** Connect a socket. */
export async function connect(fd: number, addr: SockAddr): Promise<void> {
  await sockcall({ op: "connect", fd, addr }, `Cannot connect to ${formatSockAddr(addr)}`);
}

/** Options of {@link sendmsg}: destination, handles (SCM_RIGHTS), credentials (SCM_CREDENTIALS). */
export interface SendOptions {
  addr?: SockAddr;
  rights?: number[];
  creds?: boolean;
}

/** Send bytes with ancillary data; returns bytes sent. */
export async function sendmsg(
  fd: number,
  data: Uint8Array,
  opts: SendOptions = {},
  flags = 0,
): Promise<number> {
  const ctx = opts.addr ? `Cannot send to ${formatSockAddr(opts.addr)}` : "Cannot send";
  return await sockcall({ op: "sendmsg", fd, data, flags, ...opts }, ctx) as number;
}

/** Send bytes on a connected socket. */
export function send(fd: number, data: Uint8Array | string, flags = 0): Promise<number> {
  return sendmsg(fd, typeof data === "string" ? enc.encode(data) : data, {}, flags);
}

/** Send a datagram to `addr`. */
export function sendto(fd: number, data: Uint8Array, addr: SockAddr, flags = 0): Promise<number> {
  return sendmsg(fd, data, { addr }, flags);
}

/** Receive up to `len` bytes with ancillary data. */
export async function recvmsg(fd: number, len = 65536, flags = 0): Promise<RecvResult> {
  return await sockcall({ op: "recvmsg", fd, len, flags }, "Cannot receive") as RecvResult;
}

/** Receive up to `len` bytes; an empty result means end of stream. */
export async function recv(fd: number, len = 65536, flags = 0): Promise<Uint8Array> {
  return (await recvmsg(fd, len, flags)).data;
}

/** Receive a datagram and its source address. */
export async function recvfrom(fd: number, len = 65536, flags = 0) {
  const r = await recvmsg(fd, len, flags);
  return { data: r.data, addr: r.addr };
}

/** Set a socket option. Numbers for flags/sizes; SO_RCVTIMEO/SO_SNDTIMEO take milliseconds. */
export async function setsockopt(fd: number, level: number, name: number, value: OptValue) {
  await sockcall({ op: "setsockopt", fd, level, name, value }, `Cannot set option ${name}`);
  const s = direct?.get(fd);
  if (s && level === SOL_SOCKET && name === SO_SNDTIMEO) s.sndtimeo = Number(value) > 0;
}

/** Get a socket option (SO_PEERCRED returns {pid, uid, gid}). */
export async function getsockopt(fd: number, level: number, name: number): Promise<OptValue> {
  const body = { op: "getsockopt", fd, level, name } as const;
  const what = `Cannot get option ${name}`;
  if (level === SOL_SOCKET && name === SO_ERROR) {
    // The kernel merges errors it saw itself with the socket's own.
    await settle(fd);
    return await syscall(body, what) as OptValue;
  }
  return await sockcall(body, what) as OptValue;
}

/** The peer's credentials (SO_PEERCRED). */
export async function getpeercred(fd: number): Promise<Creds> {
  return await getsockopt(fd, SOL_SOCKET, SO_PEERCRED) as unknown as Creds;
}

/** The socket's local address. */
export async function getsockname(fd: number): Promise<SockAddr> {
  return await sockcall({ op: "getsockname", fd }, "Cannot get socket name") as SockAddr;
}

/** The socket's peer address. */
export async function getpeername(fd: number): Promise<SockAddr> {
  return await sockcall({ op: "getpeername", fd }, "Cannot get peer name") as SockAddr;
}

/** Shut down one or both directions (SHUT_RD, SHUT_WR, SHUT_RDWR). */
export async function shutdown(fd: number, how: number): Promise<void> {
  await sockcall({ op: "shutdown", fd, how }, "Cannot shut down");
}

/** Close an fd. */
export async function close(fd: number): Promise<void> {
  const s = direct?.get(fd);
  direct?.forget(fd);
  // Bytes already "sent" reach the socket buffer before it closes, as they would in a kernel,
  // and bytes read ahead go back (closing with unread data resets the connection, as on Linux).
  await s?.drain();
  const last = s !== undefined && !direct!.holds(s);
  if (last) await s.unread().catch(() => {});
  // A socket this process alone ever held is released straight away (one hop, not two: the
  // peer sees the FIN sooner); the kernel's own release of it later finds nothing to do.
  if (last && !s.passed) direct!.rpc.call({ op: "release", fd: s.sid }).catch(() => {});
  const closing = syscall({ op: "close", fd }, `Cannot close ${fd}`);
  // libc made this fd itself, so the kernel cannot refuse to close it: later calls queue
  // behind the close on the kernel port, so there is nothing to wait for.
  if (s) return void closing.catch(() => {});
  await closing;
}

/** Duplicate an fd to the lowest free number. */
export async function dup(fd: number): Promise<number> {
  const to = await syscall({ op: "dup", fd }, `Cannot duplicate ${fd}`) as number;
  direct?.dup(fd, to);
  return to;
}

/** Duplicate an fd onto `newfd`. */
export async function dup2(fd: number, newfd: number): Promise<number> {
  if (fd !== newfd) await settle(newfd);
  const to = await syscall({ op: "dup2", fd, newfd }, `Cannot duplicate ${fd}`) as number;
  if (fd !== newfd) direct?.dup(fd, to);
  return to;
}

/** fcntl (F_GETFL/F_SETFL with O_NONBLOCK, F_DUPFD). */
export async function fcntl(fd: number, cmd: number, arg = 0): Promise<number> {
  await settle(fd);
  const r = await syscall({ op: "fcntl", fd, cmd, arg }, "Cannot change descriptor") as number;
  if (cmd === F_DUPFD) direct?.dup(fd, r);
  const s = direct?.get(fd);
  if (s && cmd === F_SETFL) s.nonblock = (arg & O_NONBLOCK) !== 0;
  return r;
}

/** Wait for readiness; `timeout` in ms, negative waits forever. */
export async function poll(fds: PollFd[], timeout = -1) {
  const socks = fds.map((p) => direct?.get(p.fd));
  await Promise.all([...new Set(socks)].map((s) => s?.drain())); // each socket once
  // Bytes libc already read ahead make a socket readable whatever the netstack says.
  const ahead = fds.map((p, i) => (socks[i]?.buffered ?? 0) > 0 ? p.events & POLLIN : 0);
  const readable = ahead.some((r) => r !== 0);
  const wait = readable ? 0 : timeout;
  let r: { count: number; revents: number[] };
  if (direct && fds.length > 0 && socks.every((s) => s !== undefined)) {
    const list = fds.map((p, i) => ({ fd: socks[i]!.sid, events: p.events }));
    const call = direct.rpc.call({ op: "poll", fds: list, timeout: wait });
    r = await inContext(call, "Cannot poll") as typeof r;
  } else r = await syscall({ op: "poll", fds, timeout: wait }, "Cannot poll") as typeof r;
  if (!readable) return r;
  const revents = r.revents.map((v, i) => v | ahead[i]);
  return { count: revents.filter((v) => v !== 0).length, revents };
}

/** Remove a local socket path. */
export async function unlink(path: string): Promise<void> {
  await syscall({ op: "unlink", path }, `Cannot unlink ${path}`);
}

/** Write bytes or text to an fd (1 = stdout). */
export async function write(fd: number, data: Uint8Array | string): Promise<number> {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  if (direct?.get(fd)) {
    return await sockcall(
      { op: "sendmsg", fd, data: bytes, flags: 0 },
      `Cannot write to ${fd}`,
    ) as number;
  }
  return await syscall({ op: "write", fd, data: bytes }, `Cannot write to ${fd}`) as number;
}

/** Read up to `len` bytes from an fd. */
export async function read(fd: number, len = 65536): Promise<Uint8Array> {
  if (direct?.get(fd)) {
    const what = `Cannot read from ${fd}`;
    return (await sockcall({ op: "recvmsg", fd, len, flags: 0 }, what) as RecvResult).data;
  }
  return await syscall({ op: "read", fd, len }, `Cannot read from ${fd}`) as Uint8Array;
}

/** Who this process is: pid, ppid, uid, gid, host, name, caps. */
export async function getinfo(): Promise<ProcessInfo> {
  return await syscall({ op: "getinfo" }) as ProcessInfo;
}

/** This process's pid. */
export async function getpid(): Promise<number> {
  return (await getinfo()).pid;
}

/** The process table. */
export async function ps(): Promise<ProcessInfo[]> {
  return await syscall({ op: "ps" }) as ProcessInfo[];
}

/** Send a signal (the process ends with status 128 + signal). */
export async function kill(pid: number, signal = 15): Promise<void> {
  await syscall({ op: "kill", pid, signal }, `Cannot kill ${pid}`);
}

/** Start a program (a tool name like "ping" or a module path) on this host; returns its pid. */
export async function spawn(program: string, args: string[] = []): Promise<number> {
  return await syscall({ op: "spawn", module: program, args }, `Cannot run ${program}`) as number;
}

/** Wait for a child to exit; returns its status. */
export async function waitpid(pid: number): Promise<number> {
  return await syscall({ op: "waitpid", pid }, `Cannot wait for ${pid}`) as number;
}

/** Ask the host's network stack (interfaces, routes, neighbours, sockets). */
export async function netctl(req: NetCtl): Promise<unknown> {
  return await syscall({ op: "netctl", req }, `Cannot ${req.op}`);
}

/** End the process now with `status`. */
export async function exit(status: number): Promise<never> {
  await direct?.drainAll();
  return await _exitNow(status);
}

/**
 * @internal End the process without waiting for pipelined sends (a signal's default action, and
 * what a program's `Deno.exit` does): the exit request is posted before this returns.
 */
export async function _exitNow(status: number): Promise<never> {
  await syscall({ op: "exit", status }).catch(() => {});
  return await new Promise<never>(() => {});
}

const handlers = new Map<number, () => void>();

/**
 * Handle a signal (SIGINT from Ctrl-C in the shell, SIGTERM from kill) instead of exiting with
 * 128 + signal; pass undefined to restore the default. SIGKILL cannot be handled, and a process
 * still running two seconds after a signal is killed.
 *
 * @example
 * let stop = false;
 * signal(SIGINT, () => (stop = true)); // finish the loop, print a summary, return
 */
export function signal(sig: number, handler: (() => void) | undefined): void {
  if (handler) handlers.set(sig, handler);
  else handlers.delete(sig);
}

/** @internal Run the handler for `sig`, or exit with 128 + sig when there is none. */
export function _deliverSignal(sig: number): void {
  const h = handlers.get(sig);
  if (h) h();
  else _exitNow(128 + sig);
}

/** Print a line to stdout (console.log in a process does the same). */
export function print(...args: unknown[]): void {
  _writeConsole(1, args);
}

let resolverIo: ResolverIo | undefined;

/** The resolver's sockets: libc's own calls (libc/dns/socket_io.ts). */
function resolver(): ResolverIo {
  return resolverIo ??= socketIo({
    socket,
    bind,
    connect,
    send: (fd, data) => send(fd, data),
    recvfrom: (fd, len) => recvfrom(fd, len),
    poll,
    close,
    getsockname,
    netctl,
  });
}

/**
 * Resolve a host name (or address literal) and a service (name or port number) into socket
 * addresses, sorted as glibc sorts them (RFC 6724): the hosts table first, then DNS with the
 * host's resolver configuration. Fails with a {@link GaiError} (EAI_NONAME, EAI_AGAIN, …).
 *
 * @example
 * const [ai] = await getaddrinfo("beta", "7", { socktype: SOCK_STREAM });
 * const fd = await socket(ai.family, ai.socktype);
 * await connect(fd, ai.addr);
 */
export function getaddrinfo(
  node: string | undefined,
  service?: string,
  hints?: AddrInfoHints,
): Promise<AddrInfo[]> {
  return resolveAddrInfo(resolver(), node, service, hints);
}

/** The host and service names of a socket address (hosts table, then a PTR query). */
export function getnameinfo(addr: SockAddr, flags = 0): Promise<{ host: string; service: string }> {
  return resolveNameInfo(resolver(), addr, flags);
}
