/**
 * System-call dispatch: one `switch` over the validated {@link Syscall} union. Local sockets are
 * served here; INET socket calls are forwarded to the host's netstack with the fd replaced by
 * the netstack's socket id. Socket failures set SO_ERROR (the seed's SOCKET_TRY pattern).
 */
import * as abi from "./abi.ts";
import type { LinkCtl, NetCtl, NetRequest, SockAddr, SocketCall, Syscall } from "./bus/messages.ts";
import type { RequestContext } from "./bus/rpc.ts";
import { ErrnoError } from "./errno.ts";
import { type Handle, InetHandle } from "./handles.ts";
import { type Caller, createLocalSocket, LocalSocket } from "./local/local_socket.ts";
import type { Process } from "./process.ts";
import type { Kernel } from "./kernel.ts";
import { pollFds } from "./poll.ts";

/** Run one validated syscall for `proc`. */
export async function dispatch(
  k: Kernel,
  proc: Process,
  call: Syscall,
  ctx: RequestContext,
): Promise<unknown> {
  switch (call.op) {
    case "socket": {
      const fd = await socket(k, proc, call.domain, call.type, call.protocol);
      if (!call.direct) return fd;
      const h = proc.fds.get(fd);
      return h.kind === "inet" ? { fd, sid: h.sid } : { fd };
    }
    case "socketpair": {
      if (call.domain !== abi.AF_LOCAL) throw new ErrnoError("EOPNOTSUPP", "Cannot create pair");
      const flags = call.type & (abi.SOCK_NONBLOCK | abi.SOCK_CLOEXEC);
      const [a, b] = LocalSocket.pair(k.localHost(proc.host), call.type & ~flags, k.creds(proc));
      a.nonblock = b.nonblock = (flags & abi.SOCK_NONBLOCK) !== 0;
      let fa: number;
      try {
        fa = proc.fds.install(a);
      } catch (err) {
        a.release();
        b.release();
        throw err;
      }
      try {
        return [fa, proc.fds.install(b)];
      } catch (err) {
        if (proc.fds.peek(fa) === a) proc.fds.close(fa);
        b.release();
        throw err;
      }
    }
    case "bind":
    case "listen":
    case "accept":
    case "connect":
    case "sendmsg":
    case "recvmsg":
    case "setsockopt":
    case "getsockopt":
    case "getsockname":
    case "getpeername":
    case "shutdown":
      return socketCall(k, proc, call, ctx);
    case "close": {
      const local = proc.fds.get(call.fd).kind === "local";
      proc.fds.close(call.fd);
      // Closing may leave sockets reachable only through their own queued handles.
      if (local) k.localHost(proc.host).collect();
      return null;
    }
    case "dup":
      return proc.fds.install(proc.fds.get(call.fd));
    case "dup2":
      return proc.fds.dup2(call.fd, call.newfd);
    case "fcntl":
      return fcntl(proc, call.fd, call.cmd, call.arg);
    case "poll":
      return pollFds(k, proc, call.fds, call.timeout, ctx.signal);
    case "write": {
      const h = proc.fds.get(call.fd);
      if (h.kind === "stdio") return h.write(call.data);
      return socketCall(k, proc, { op: "sendmsg", fd: call.fd, data: call.data, flags: 0 }, ctx);
    }
    case "read": {
      const h = proc.fds.get(call.fd);
      if (h.kind === "stdio") return new Uint8Array(0);
      const r = await socketCall(
        k,
        proc,
        { op: "recvmsg", fd: call.fd, len: call.len, flags: 0 },
        ctx,
      );
      return (r as { data: Uint8Array }).data;
    }
    case "unlink":
      k.localHost(proc.host).ns.unlink(call.path, proc);
      return null;
    case "getinfo":
      return { ...proc.info(), fds: undefined };
    case "ps":
      return k.ps();
    case "kill":
      k.killFrom(proc, call.pid, call.signal);
      return null;
    case "spawn":
      return await k.spawn({
        module: call.module,
        args: call.args,
        host: proc.host,
        uid: proc.uid,
        // Like Linux's ambient capabilities: what the parent was given passes on, its own
        // module's file capabilities do not. Its memory budget passes on like an rlimit.
        caps: [...proc.ambientCaps],
        memory: proc.memoryLimit,
        ppid: proc.pid,
        stdio: proc,
      });
    case "waitpid":
      return await k.waitChild(proc, call.pid, ctx.signal);
    case "netctl": {
      const net = k.net(proc.host);
      const op = (call.req as { op?: unknown }).op;
      const reads = [
        "ifaces",
        "routes",
        "neigh",
        "sockets",
        "tcpinfo",
        "stats",
        "resolver",
        "links",
      ];
      if (typeof op !== "string") throw new ErrnoError("EINVAL", "netctl: missing op");
      if (!reads.includes(op) && !proc.caps.has("net_admin")) {
        throw new ErrnoError("EPERM", `Cannot change network configuration (${op})`);
      }
      // Links belong to the hardware worker, not to a host's netstack. Their frames, like a
      // capture, need net_admin here (Linux would ask for net_raw): every host's traffic is in them.
      if (op === "links" || op === "linkset" || op === "linkframes") {
        return await k.link(call.req as LinkCtl, ctx.signal);
      }
      return await net.call({ op: "netctl", req: call.req as NetCtl } satisfies NetRequest, {
        signal: ctx.signal,
      });
    }
    case "exit":
      k.exit(proc, call.status);
      return null;
    default: {
      const never: never = call;
      throw new ErrnoError("ENOSYS", `Unknown system call ${(never as { op: string }).op}`);
    }
  }
}

async function socket(k: Kernel, proc: Process, domain: number, type: number, protocol: number) {
  const flags = type & (abi.SOCK_NONBLOCK | abi.SOCK_CLOEXEC);
  const base = type & ~flags;
  let h: Handle;
  if (domain === abi.AF_LOCAL) {
    if (protocol !== 0) throw new ErrnoError("EPROTONOSUPPORT", "Cannot create local socket");
    h = createLocalSocket(k.localHost(proc.host), base, k.creds(proc));
  } else if (domain === abi.AF_INET || domain === abi.AF_INET6) {
    if (base === abi.SOCK_RAW && !proc.caps.has("net_raw")) {
      throw new ErrnoError("EPERM", "Cannot create raw socket: needs net_raw");
    }
    if (base !== abi.SOCK_STREAM && base !== abi.SOCK_DGRAM && base !== abi.SOCK_RAW) {
      throw new ErrnoError("ESOCKTNOSUPPORT", "Cannot create socket");
    }
    const net = k.net(proc.host);
    const nonblock = (flags & abi.SOCK_NONBLOCK) !== 0; // set at creation: no second round trip
    const sid = await net.call(
      {
        op: "socket",
        pid: proc.pid,
        uid: proc.uid,
        domain,
        type: base,
        protocol,
        nonblock,
      } satisfies NetRequest,
    ) as number;
    h = new InetHandle(proc.host, sid, net, base, proc.pid);
    h.nonblock = nonblock;
  } else {
    throw new ErrnoError("EAFNOSUPPORT", "Cannot create socket");
  }
  try {
    if (flags & abi.SOCK_NONBLOCK && h.kind !== "inet") await setNonblock(h, true);
    return proc.fds.install(h);
  } catch (err) {
    if (h.refs === 0) h.release();
    throw err;
  }
}

async function setNonblock(h: Handle, on: boolean): Promise<void> {
  h.nonblock = on;
  if (h.kind === "inet") {
    await h.net.call({ op: "setnonblock", fd: h.sid, on } satisfies NetRequest);
  }
}

async function fcntl(proc: Process, fd: number, cmd: number, arg: number): Promise<number> {
  const h = proc.fds.get(fd);
  switch (cmd) {
    case abi.F_DUPFD:
      return proc.fds.install(h, arg);
    case abi.F_GETFD:
    case abi.F_SETFD:
      return 0;
    case abi.F_GETFL:
      return h.nonblock ? abi.O_NONBLOCK : 0;
    case abi.F_SETFL:
      await setNonblock(h, (arg & abi.O_NONBLOCK) !== 0);
      return 0;
    default:
      throw new ErrnoError("EINVAL", `Unknown fcntl command ${cmd}`);
  }
}

/** Run a socket call, recording failures in SO_ERROR (except EAGAIN/EINTR, as on Linux). */
async function socketCall(k: Kernel, proc: Process, call: SocketCall, ctx: RequestContext) {
  const h = proc.fds.get(call.fd);
  if (h.kind === "stdio") throw new ErrnoError("ENOTSOCK", "Not a socket");
  try {
    return h.kind === "local"
      ? await localCall(h, proc, call, k.caller(proc, ctx))
      : await inetCall(k, h, proc, call, ctx);
  } catch (err) {
    if (err instanceof ErrnoError && err.code !== "EAGAIN" && err.code !== "EINTR") {
      h.soError = err.errno;
    }
    throw err;
  }
}

async function localCall(s: LocalSocket, proc: Process, call: SocketCall, caller: Caller) {
  switch (call.op) {
    case "bind":
      return s.bind(call.addr, caller.creds), null;
    case "listen":
      return s.listen(call.backlog, caller), null;
    case "accept": {
      const c = await s.accept(caller);
      try {
        return { fd: proc.fds.install(c), addr: c.getpeername() };
      } catch (err) {
        c.release();
        throw err;
      }
    }
    case "connect":
      return await s.connect(call.addr, caller), null;
    case "sendmsg":
      return await s.sendmsg(call.data, call.flags, call.addr, call.rights, caller);
    case "recvmsg":
      if (call.len < 0) throw new ErrnoError("EINVAL", "Negative length");
      return await s.recvmsg(call.len, call.flags, caller);
    case "setsockopt":
      return s.setsockopt(call.level, call.name, call.value), null;
    case "getsockopt":
      return s.getsockopt(call.level, call.name);
    case "getsockname":
      return s.getsockname();
    case "getpeername":
      return s.getpeername();
    case "shutdown":
      return s.shutdown(call.how), null;
    default: {
      const never: never = call;
      throw new ErrnoError("ENOSYS", String((never as { op: string }).op));
    }
  }
}

async function inetCall(
  k: Kernel,
  h: InetHandle,
  proc: Process,
  call: SocketCall,
  ctx: RequestContext,
): Promise<unknown> {
  if (call.op === "bind" && call.addr.family !== abi.AF_LOCAL) {
    const port = (call.addr as { port: number }).port;
    if (port > 0 && port < 1024 && !proc.caps.has("net_bind_service")) {
      throw new ErrnoError("EACCES", `Cannot bind to port ${port}: needs net_bind_service`);
    }
  }
  if (call.op === "sendmsg" && call.rights?.length) {
    throw new ErrnoError("EOPNOTSUPP", "Handles can only be passed over local sockets");
  }
  if (call.op === "getsockopt" && call.level === abi.SOL_SOCKET && call.name === abi.SO_ERROR) {
    const local = h.soError;
    h.soError = 0;
    const remote = await h.net.call({ ...call, fd: h.sid } satisfies NetRequest) as number;
    return remote || local;
  }
  const req = (call.op === "accept" ? { ...call, fd: h.sid, pid: proc.pid } : {
    ...call,
    fd: h.sid,
  }) as NetRequest;
  const value = await h.net.call(req, {
    signal: ctx.signal,
    // The caller died while the netstack completed its accept: release the new socket.
    onLateReply: call.op === "accept"
      ? (v) => h.net.call({ op: "release", fd: (v as { fd: number }).fd }).catch(() => {})
      : undefined,
  });
  if (call.op === "accept") {
    const r = value as { fd: number; addr: SockAddr };
    // The netstack recorded this process as the new socket's holder before replying.
    const child = new InetHandle(h.host, r.fd, h.net, h.type, proc.pid);
    try {
      // The netstack made the accepted socket nonblocking itself when asked (SOCK_NONBLOCK).
      child.nonblock = (call.flags & abi.SOCK_NONBLOCK) !== 0;
      const fd = proc.fds.install(child);
      return { fd, addr: r.addr, sid: r.fd };
    } catch (err) {
      child.release();
      throw err;
    }
  }
  void k;
  return value;
}
