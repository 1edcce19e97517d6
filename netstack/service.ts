/**
 * The netstack's side of the bus: serves {@link NetRequest}s from the kernel against the
 * socket table. Socket ids are the netstack's own; the kernel maps fds to them.
 */
import * as abi from "../kernel/abi.ts";
import type { NetCtl, NetRequest, PollFd } from "../kernel/bus/messages.ts";
import type { RequestContext } from "../kernel/bus/rpc.ts";
import { ErrnoError } from "../kernel/errno.ts";
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
    case "socket": {
      const s = host.createSocket(req.domain, req.type, req.protocol);
      s.owners.add(req.pid);
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
