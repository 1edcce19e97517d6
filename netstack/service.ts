/**
 * The netstack's side of the bus: serves {@link NetRequest}s from the kernel against the
 * socket table. Socket ids are the netstack's own; the kernel maps fds to them.
 */
import * as abi from "../kernel/abi.ts";
import type {
  DirectCall,
  DirectEvent,
  DirectShare,
  NetCtl,
  NetRequest,
  PollFd,
} from "../kernel/bus/messages.ts";
import { SharedStream } from "../kernel/bus/shared_stream.ts";
import { PROCESS_MAX_HELD_BYTES, type RequestContext } from "../kernel/bus/rpc.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { type Schema, validateRequest, validateSyscall } from "../kernel/validate.ts";
import { TcpSocket } from "./sockets/tcp_socket.ts";
import { waitAny } from "../kernel/wait_queue.ts";
import type { InetSocket } from "./sockets/socket.ts";
import type { Clock } from "../kernel/clock.ts";

/** What the service needs from the NetworkTask. */
export interface SocketHost {
  readonly clock: Clock;
  /** Create a socket; throws ErrnoError for unsupported combinations. */
  createSocket(domain: number, type: number, protocol: number): InetSocket;
  /** Register an accepted child socket and give it an id. */
  adopt(s: InetSocket): void;
  socket(sid: number): InetSocket | undefined;
  /** Forget a socket after its last handle closed. */
  forget(sid: number): void;
  netctl(req: NetCtl): unknown;
}

const ALWAYS = abi.POLLERR | abi.POLLHUP | abi.POLLNVAL;

/** Serve one request from the kernel. */
export async function serveNet(
  host: SocketHost,
  body: unknown,
  ctx: RequestContext,
): Promise<unknown> {
  const req = body as NetRequest;
  const sock = (sid: number) => {
    const s = host.socket(sid);
    if (!s) throw new ErrnoError("EBADF", `No socket ${sid}`);
    return s;
  };
  switch (req?.op) {
    case "exited":
      return null; // The netstack's main module closes the process's direct port.
    case "socket": {
      const s = host.createSocket(req.domain, req.type, req.protocol);
      s.owners.add(req.pid);
      if (Number.isSafeInteger(req.uid)) s.uid = req.uid!;
      if (req.nonblock) s.nonblock = true;
      return s.sid;
    }
    case "release": {
      const s = host.socket(req.fd);
      if (s) {
        host.forget(req.fd);
        s.release();
      }
      return null;
    }
    case "owner": {
      const s = sock(req.fd);
      if (req.add) s.owners.add(req.pid);
      else s.owners.delete(req.pid);
      // Shared rings have one writer: a second holder sends and receives by message.
      if (s instanceof TcpSocket && s.owners.size > 1) s.unshare();
      return null;
    }
    case "setnonblock":
      sock(req.fd).nonblock = req.on;
      return null;
    case "poll":
      return await poll(host, req.fds, req.timeout, ctx.signal);
    case "netctl":
      return await host.netctl(req.req);
    case "bind":
      return sock(req.fd).bind(req.addr), null;
    case "listen":
      return sock(req.fd).listen(req.backlog), null;
    case "accept": {
      const r = await sock(req.fd).accept(ctx);
      host.adopt(r.socket);
      if (req.flags & abi.SOCK_NONBLOCK) r.socket.nonblock = true;
      // Recorded before the reply so the caller's first direct call finds itself a holder.
      if (req.pid !== undefined) r.socket.owners.add(req.pid);
      return { fd: r.socket.sid, addr: r.addr };
    }
    case "connect":
      return await sock(req.fd).connect(req.addr, ctx), null;
    case "sendmsg":
      return await sock(req.fd).sendmsg(req.data, req.flags, req.addr, ctx);
    case "recvmsg":
      if (req.len < 0) throw new ErrnoError("EINVAL", "Negative length");
      return await sock(req.fd).recvmsg(req.len, req.flags, ctx);
    case "setsockopt":
      return sock(req.fd).setsockopt(req.level, req.name, req.value), null;
    case "getsockopt":
      return sock(req.fd).getsockopt(req.level, req.name);
    case "getsockname":
      return sock(req.fd).getsockname();
    case "getpeername":
      return sock(req.fd).getpeername();
    case "shutdown":
      return sock(req.fd).shutdown(req.how), null;
    default: {
      const never: never = req;
      throw new ErrnoError("ENOSYS", `Unknown request ${(never as { op?: string })?.op}`);
    }
  }
}

/** A process calling on its own port: who it is, and its sends queued per socket. */
export interface DirectCaller {
  pid: number;
  caps: ReadonlySet<string>;
  /** The tail of each socket's sends, so pipelined sends run in the order they were posted. */
  sends: Map<InetSocket, Promise<unknown>>;
  /** Bytes held by its send calls in progress (bounded by PROCESS_MAX_HELD_BYTES). */
  heldBytes: number;
  /** SharedArrayBuffers it sent for its next `share` calls, by socket id. */
  offered: Map<number, SharedArrayBuffer>;
}

/** Most SharedArrayBuffers a process may have offered and not yet used. */
const MAX_OFFERED = 16;

/** A process sent a SharedArrayBuffer for a coming `share` call (anything else is ignored). */
export function offerShare(caller: DirectCaller, data: unknown): boolean {
  const share = (data as Partial<DirectShare> | null)?.share;
  if (!share || !Number.isSafeInteger(share.fd) || !(share.sab instanceof SharedArrayBuffer)) {
    return false;
  }
  caller.offered.delete(share.fd);
  caller.offered.set(share.fd, share.sab);
  while (caller.offered.size > MAX_OFFERED) {
    caller.offered.delete(caller.offered.keys().next().value!);
  }
  return true;
}

/** A process rang a socket's bell: move what its shared rings hold (bad events are ignored). */
export function ringBell(host: SocketHost, caller: DirectCaller, body: unknown): void {
  const e = body as Partial<DirectEvent> | null;
  if (e?.op !== "bell" || !Number.isSafeInteger(e.fd)) return;
  const s = host.socket(e.fd!);
  if (s instanceof TcpSocket && s.owners.has(caller.pid)) s.pump();
}

const DIRECT_OPS: ReadonlySet<string> = new Set<DirectCall["op"]>([
  "bind",
  "listen",
  "connect",
  "sendmsg",
  "recvmsg",
  "setsockopt",
  "getsockopt",
  "getsockname",
  "getpeername",
  "shutdown",
  "poll",
  "unread",
  "release",
  "share",
  "unshare",
  "txwait",
  "rxwait",
]);

/** Direct calls that are not syscalls: their fields, checked like a syscall's. */
const DIRECT_ONLY: Record<string, Schema> = {
  unread: { fd: "fd", data: "bytes" },
  release: { fd: "fd" },
  share: { fd: "fd" },
  unshare: { fd: "fd" },
  txwait: { fd: "fd" },
  rxwait: { fd: "fd", len: "int", flags: "int" },
};

/**
 * Serve one call a process made on its direct port. The request is as untrusted as a syscall:
 * it is validated the same way, may only name sockets the process holds (EBADF otherwise), and
 * binding a port below 1024 needs net_bind_service as through the kernel. Failures set SO_ERROR.
 */
export async function serveDirect(
  host: SocketHost,
  caller: DirectCaller,
  body: unknown,
  ctx: RequestContext,
): Promise<unknown> {
  const op = (body as { op?: unknown } | null)?.op;
  const req =
    (typeof op === "string" && Object.hasOwn(DIRECT_ONLY, op)
      ? validateRequest(body, DIRECT_ONLY)
      : validateSyscall(body)) as DirectCall;
  if (!DIRECT_OPS.has(req.op)) throw new ErrnoError("ENOSYS", `No direct call ${req.op}`);
  // A receive remembers who took its bytes: only that process may give them back (unread).
  ctx = { signal: ctx.signal, pid: caller.pid } as RequestContext;
  if (req.op === "poll") {
    const fds = req.fds.map((p) => ({
      fd: host.socket(p.fd)?.owners.has(caller.pid) ? p.fd : -1,
      events: p.events,
    }));
    const revents = await poll(host, fds, req.timeout, ctx.signal);
    return { count: revents.filter((r) => r !== 0).length, revents };
  }
  const s = host.socket(req.fd);
  if (!s || !s.owners.has(caller.pid)) throw new ErrnoError("EBADF", `Bad socket ${req.fd}`);
  if (req.op === "bind" && req.addr.family !== 0 && req.addr.family !== 1) {
    const port = req.addr.port;
    if (port > 0 && port < 1024 && !caller.caps.has("net_bind_service")) {
      throw new ErrnoError("EACCES", `Cannot bind to port ${port}: needs net_bind_service`);
    }
  }
  if (req.op === "sendmsg" && req.rights?.length) {
    throw new ErrnoError("EOPNOTSUPP", "Handles can only be passed over local sockets");
  }
  if (req.op === "release") {
    if (s.owners.size !== 1) return null; // shared: the kernel releases it with the last fd
    host.forget(req.fd);
    s.release();
    return null;
  }
  if (req.op === "unread" || req.op === "share" || req.op === "unshare" || req.op === "txwait") {
    if (!(s instanceof TcpSocket)) throw new ErrnoError("EOPNOTSUPP", "Not a stream socket");
    if (req.op === "unread") return s.unread(req.data, caller.pid), null;
    if (req.op === "unshare") return s.unshare(), null;
    if (req.op === "txwait") return await s.txwait(ctx), null;
    const sab = caller.offered.get(req.fd);
    caller.offered.delete(req.fd);
    let stream: SharedStream;
    try {
      stream = new SharedStream(sab!, true);
    } catch {
      throw new ErrnoError("EINVAL", "Cannot share: no shared buffer of the right size was sent");
    }
    return s.share(caller.pid, stream), null;
  }
  if (req.op === "rxwait") {
    if (!(s instanceof TcpSocket)) throw new ErrnoError("EOPNOTSUPP", "Not a stream socket");
    if (req.len < 0) throw new ErrnoError("EINVAL", "Negative length");
    return await s.recvmsg(req.len, req.flags, ctx, true);
  }
  const held = req.op === "sendmsg" ? req.data.length : 0;
  if (held > 0 && caller.heldBytes + held > PROCESS_MAX_HELD_BYTES) {
    throw new ErrnoError("ENOBUFS", "Too many bytes in blocked sends");
  }
  caller.heldBytes += held;
  try {
    if (req.op !== "sendmsg") return await serveNet(host, req, ctx);
    const prev = caller.sends.get(s);
    const run = prev ? prev.then(() => serveNet(host, req, ctx)) : serveNet(host, req, ctx);
    const tail = run.catch(() => {});
    caller.sends.set(s, tail);
    tail.then(() => caller.sends.get(s) === tail && caller.sends.delete(s));
    return await run;
  } catch (err) {
    if (err instanceof ErrnoError && err.code !== "EAGAIN" && err.code !== "EINTR") {
      s.soError = err.errno;
    }
    throw err;
  } finally {
    caller.heldBytes -= held;
  }
}

async function poll(host: SocketHost, fds: PollFd[], timeout: number, signal: AbortSignal) {
  const deadline = timeout < 0 ? undefined : host.clock.now() + timeout;
  for (;;) {
    const revents = fds.map((p) => {
      const s = host.socket(p.fd);
      return s ? s.readiness() & (p.events | ALWAYS) : abi.POLLNVAL;
    });
    if (revents.some((r) => r !== 0)) return revents;
    const left = deadline === undefined ? undefined : Math.max(0, deadline - host.clock.now());
    if (left === 0 || signal.aborted) return revents;
    const queues = fds.map((p) => host.socket(p.fd)?.wq).filter((q) => q !== undefined);
    await waitAny(queues, host.clock, left, signal);
  }
}
