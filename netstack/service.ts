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
} from "../kernel/bus/messages.ts";
import { SharedStream } from "../kernel/bus/shared_stream.ts";
import { PROCESS_MAX_HELD_BYTES, type RequestContext } from "../kernel/bus/rpc.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { type Schema, validateRequest, validateSyscall } from "../kernel/validate.ts";
import { TcpSocket } from "./sockets/tcp_socket.ts";
import { type InetSocket, SOCKET_BYTES } from "./sockets/socket.ts";
import type { Clock } from "../kernel/clock.ts";
import { PollList } from "../kernel/poll_list.ts";
import { overMemoryCap } from "../kernel/memory_cap.ts";
import type { MemoryAccount, MemoryLedger } from "./sockets/memory_ledger.ts";
import { pollSockets } from "./sockets/poll.ts";

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
  /** What each process is charged for what this netstack holds for it. */
  readonly memory: MemoryLedger;
}

/** What one call in progress on a process's port is charged, besides the bytes it carries. */
export const CALL_BYTES = 256;

/** ENOMEM while the whole system is over its memory cap (kernel/memory_cap.ts). */
function checkMemoryCap(what: string): void {
  if (overMemoryCap()) throw new ErrnoError("ENOMEM", `${what}: the system is over its memory cap`);
}

/** Release a socket's last handle: it stops being charged to anyone. */
function releaseSocket(host: SocketHost, s: InetSocket): void {
  host.forget(s.sid);
  s.release();
  s.chargeTo(undefined);
}

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
      // Linux fails socket() with ENOMEM when it cannot allocate the sock.
      const account = host.memory.account(req.pid);
      checkMemoryCap("Cannot create socket");
      if (!account.fits(SOCKET_BYTES)) {
        throw new ErrnoError(
          "ENOMEM",
          `Cannot create socket: process ${req.pid} is over its memory budget`,
        );
      }
      const s = host.createSocket(req.domain, req.type, req.protocol);
      s.chargeTo(account); // its creator pays for it, whoever else comes to hold it
      s.owners.add(req.pid);
      if (Number.isSafeInteger(req.uid)) s.uid = req.uid!;
      if (req.nonblock) s.nonblock = true;
      return s.sid;
    }
    case "release": {
      const s = host.socket(req.fd);
      if (s) releaseSocket(host, s);
      return null;
    }
    case "owner": {
      const s = sock(req.fd);
      if (req.add) s.owners.add(req.pid);
      else {
        s.owners.delete(req.pid);
        // The holder it was charged to let go: another holder pays from now on.
        const next: number | undefined = s.owners.values().next().value;
        if (s.account?.pid === req.pid && next !== undefined) {
          s.chargeTo(host.memory.account(next));
        }
      }
      // Shared rings have one writer: a second holder sends and receives by message.
      if (s instanceof TcpSocket && s.owners.size > 1) s.unshare();
      return null;
    }
    case "setnonblock":
      sock(req.fd).nonblock = req.on;
      return null;
    case "poll": {
      const list = new PollList(req.fds);
      // (find: a poll still in flight when its process exited must not reopen its account)
      const account = req.pid === undefined ? undefined : host.memory.find(req.pid);
      return await chargedPoll(host, account, list, (sid) => host.socket(sid), req.timeout, ctx);
    }
    case "netctl":
      return await host.netctl(req.req);
    case "bind":
      return sock(req.fd).bind(req.addr), null;
    case "listen":
      return sock(req.fd).listen(req.backlog), null;
    case "accept": {
      const r = await sock(req.fd).accept(ctx);
      host.adopt(r.socket);
      // The process that accepted it pays for it (the listener's holder when not told).
      const pid = req.pid ?? sock(req.fd).account?.pid;
      r.socket.chargeTo(pid === undefined ? undefined : host.memory.account(pid));
      if (req.flags & abi.SOCK_NONBLOCK) r.socket.nonblock = true;
      // Recorded before the reply so the caller's first direct call finds itself a holder.
      if (req.pid !== undefined) r.socket.owners.add(req.pid);
      return { fd: r.socket.sid, addr: r.addr };
    }
    case "connect":
      return await sock(req.fd).connect(req.addr, ctx), null;
    case "sendmsg": {
      const s = sock(req.fd);
      // Linux's sendmsg fails ENOBUFS when it cannot allocate buffers (and ENOMEM past the
      // system cap, as the issue asks).
      checkMemoryCap("Cannot send");
      if (s.account?.over && req.data.length > 0) {
        throw new ErrnoError(
          "ENOBUFS",
          `Cannot send: process ${s.account.pid} is over its memory budget`,
        );
      }
      return await s.sendmsg(req.data, req.flags, req.addr, ctx);
    }
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
  /** Its memory account here: sockets, rings, offered buffers, calls in progress, polls. */
  account: MemoryAccount;
}

/** Most SharedArrayBuffers a process may have offered and not yet used. */
const MAX_OFFERED = 16;

/**
 * A process sent a SharedArrayBuffer for a coming `share` call (anything else is ignored). It is
 * charged to the process until used or dropped; one that does not fit its budget is dropped (the
 * `share` call then fails and libc goes on by message).
 */
export function offerShare(caller: DirectCaller, data: unknown): boolean {
  const share = (data as Partial<DirectShare> | null)?.share;
  if (!share || !Number.isSafeInteger(share.fd) || !(share.sab instanceof SharedArrayBuffer)) {
    return false;
  }
  takeOffer(caller, share.fd);
  if (!caller.account.fits(share.sab.byteLength)) return true;
  caller.account.adjust(share.sab.byteLength);
  caller.offered.set(share.fd, share.sab);
  while (caller.offered.size > MAX_OFFERED) takeOffer(caller, caller.offered.keys().next().value!);
  return true;
}

/** Take the buffer offered for socket `fd` back out of the caller's offers (and its charge). */
function takeOffer(caller: DirectCaller, fd: number): SharedArrayBuffer | undefined {
  const sab = caller.offered.get(fd);
  if (!sab) return undefined;
  caller.offered.delete(fd);
  caller.account.adjust(-sab.byteLength);
  return sab;
}

/** Give back what a caller's offered buffers were charged (its port closed). */
export function dropOffers(caller: DirectCaller): void {
  for (const fd of [...caller.offered.keys()]) takeOffer(caller, fd);
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
    const list = new PollList(req.fds);
    const find = (sid: number) => {
      const s = host.socket(sid);
      return s?.owners.has(caller.pid) ? s : undefined;
    };
    const revents = await chargedPoll(host, caller.account, list, find, req.timeout, ctx);
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
    releaseSocket(host, s);
    return null;
  }
  if (req.op === "unread" || req.op === "share" || req.op === "unshare" || req.op === "txwait") {
    if (!(s instanceof TcpSocket)) throw new ErrnoError("EOPNOTSUPP", "Not a stream socket");
    if (req.op === "unread") return s.unread(req.data, caller.pid), null;
    if (req.op === "unshare") return s.unshare(), null;
    if (req.op === "txwait") return await s.txwait(ctx), null;
    const sab = takeOffer(caller, req.fd);
    // The rings are charged as the socket's from now on (TcpSocket.memoryHeld).
    if (sab && !caller.account.fits(sab.byteLength)) {
      throw new ErrnoError(
        "ENOBUFS",
        `Cannot share: process ${caller.pid} is over its memory budget`,
      );
    }
    let stream: SharedStream;
    try {
      stream = new SharedStream(sab!, true);
    } catch {
      throw new ErrnoError("EINVAL", "Cannot share: no shared buffer of the right size was sent");
    }
    s.share(caller.pid, stream);
    s.recharge();
    return null;
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
  // A call in progress holds its request (and a send its bytes) until it returns. Only sends
  // are refused past the budget: reads and closes are how a process gets back under it.
  const charged = CALL_BYTES + held;
  if (held > 0) caller.account.charge(charged, "ENOBUFS", "Cannot send");
  else caller.account.adjust(charged);
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
    caller.account.adjust(-charged);
  }
}

/** poll() charged to `account` (ENOMEM when it does not fit, as Linux's poll) while it runs. */
async function chargedPoll(
  host: SocketHost,
  account: MemoryAccount | undefined,
  list: PollList,
  find: (sid: number) => InetSocket | undefined,
  timeout: number,
  ctx: RequestContext,
): Promise<number[]> {
  const bytes = list.bytes;
  account?.charge(bytes, "ENOMEM", "Cannot poll");
  try {
    return await pollSockets(find, host.clock, list, timeout, ctx.signal);
  } finally {
    account?.adjust(-bytes);
  }
}
