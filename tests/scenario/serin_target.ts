/**
 * Serin as the endpoint under test, in virtual time: one NetworkTask on a VirtualSwitch of the
 * simulator (tests/sim.ts) at 10.0.0.1 (fd00::1), the runner on another port of the switch as
 * the peer 10.0.0.2 (fd00::2). Socket calls go straight to the socket objects; time moves only
 * when the runner waits, in 1 ms steps, so a run is fast and the same every time.
 */
import * as abi from "../../kernel/abi.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { OptValue } from "../../kernel/bus/messages.ts";
import { runNetctl } from "../../netstack/netctl.ts";
import type { InetSocket } from "../../netstack/sockets/socket.ts";
import type { TcpSocket } from "../../netstack/sockets/tcp_socket.ts";
import { Sim } from "../sim.ts";
import type { Call, CallResult } from "./calls.ts";
import type { ScriptOptions } from "./script.ts";
import { ENDPOINT_PORT, FdTable, PEER_PORT, type Target } from "./target.ts";

const V4 = { endpoint: "10.0.0.1", peer: "10.0.0.2" };
const V6 = { endpoint: "fd00::1", peer: "fd00::2" };
const PEER_MAC = Uint8Array.of(2, 0, 0, 0, 0xee, 2);

/** A fresh Serin endpoint for one script. */
export async function serinTarget(opts: ScriptOptions): Promise<Target> {
  const sim = new Sim();
  // The one Linux sysctl with a Serin equivalent a script may set: when SYN cookies are sent.
  const cookies = opts.sysctls.tcp_syncookies;
  const task = sim.host("endpoint", { eth0: ["lan", "10.0.0.1/24"] }, {
    mtu: opts.mtu,
    syncookies: cookies === "0" || cookies === "2" ? Number(cookies) as 0 | 2 : 1,
  });
  const port = sim.switches.get("lan")!.connect();
  const six = opts.ip === "ipv6";
  const a = six ? V6 : V4;
  if (six) {
    runNetctl(task, { op: "ifaddr", iface: "eth0", action: "add", cidr: "fd00::1/64" });
  }
  // Duplicate address detection and the first router solicitations happen before time 0.
  await sim.run(six ? 3000 : 10, 10);
  const start = sim.clock.now();
  const fds = new FdTable<InetSocket>();
  const ctx = { signal: sim.signal };
  const sock = (fd: number) => {
    const s = fds.get(fd);
    if (!s) throw new ErrnoError("EBADF", `No fd ${fd}`);
    return s;
  };
  const tcp = (fd: number) => sock(fd) as TcpSocket;
  const peerAddr = () =>
    six
      ? { family: abi.AF_INET6, addr: a.peer, port: PEER_PORT }
      : { family: abi.AF_INET, addr: a.peer, port: PEER_PORT };
  const run = async (c: Call): Promise<CallResult> => {
    switch (c.op) {
      case "socket": {
        const s = task.createSocket(c.domain, c.type & ~abi.SOCK_NONBLOCK, c.protocol);
        if (c.type & abi.SOCK_NONBLOCK) s.nonblock = true;
        return { ret: fds.add(s) };
      }
      case "bind": {
        const s = sock(c.fd);
        const any = s.family === abi.AF_INET6 ? "::" : "0.0.0.0";
        s.bind({ family: s.family as 2 | 10, addr: any, port: ENDPOINT_PORT } as never);
        return { ret: 0 };
      }
      case "listen":
        sock(c.fd).listen(c.backlog);
        return { ret: 0 };
      case "accept": {
        const r = await sock(c.fd).accept(ctx);
        task.adopt(r.socket);
        return { ret: fds.add(r.socket) };
      }
      case "connect":
        await tcp(c.fd).connect(peerAddr() as never, ctx);
        return { ret: 0 };
      case "setsockopt": {
        const v: OptValue = Array.isArray(c.value)
          ? { onoff: c.value[0], linger: c.value[1] }
          : c.value;
        sock(c.fd).setsockopt(c.level, c.name, v);
        return { ret: 0 };
      }
      case "getsockopt": {
        const v = sock(c.fd).getsockopt(c.level, c.name);
        if (typeof v === "number" || typeof v === "boolean") return { ret: 0, value: Number(v) };
        if (v && typeof v === "object" && "onoff" in v) {
          const l = v as { onoff: unknown; linger: unknown };
          return { ret: 0, value: [Number(l.onoff), Number(l.linger)] };
        }
        return { ret: 0 };
      }
      case "fcntl": {
        const s = sock(c.fd);
        if (c.cmd === abi.F_GETFL) return { ret: 2 | (s.nonblock ? abi.O_NONBLOCK : 0) };
        if (c.cmd === abi.F_SETFL) {
          s.nonblock = (c.arg & abi.O_NONBLOCK) !== 0;
          return { ret: 0 };
        }
        throw new ErrnoError("EINVAL", `fcntl cmd ${c.cmd}`);
      }
      case "send": {
        const data = new Uint8Array(c.len).map((_, i) => 0x41 + (i % 26));
        return { ret: await tcp(c.fd).sendmsg(data, c.flags, undefined, ctx) };
      }
      case "recv": {
        const r = await tcp(c.fd).recvmsg(c.len, c.flags, ctx);
        return { ret: r.data.length };
      }
      case "shutdown":
        tcp(c.fd).shutdown(c.how);
        return { ret: 0 };
      case "close": {
        const s = fds.remove(c.fd);
        if (!s) throw new ErrnoError("EBADF", `No fd ${c.fd}`);
        task.forget(s.sid);
        s.release();
        return { ret: 0 };
      }
      case "poll": {
        const deadline = sim.clock.now() + (c.timeout < 0 ? Infinity : c.timeout);
        for (;;) {
          const revents = c.fds.map(({ fd, events }) => {
            const s = fds.get(fd);
            if (!s) return abi.POLLNVAL;
            return s.readiness() & (events | abi.POLLERR | abi.POLLHUP | abi.POLLNVAL);
          });
          const n = revents.filter((r) => r !== 0).length;
          if (n > 0 || sim.clock.now() >= deadline) return { ret: n, revents };
          await new Promise<void>((r) => sim.clock.schedule(1, r));
        }
      }
    }
  };
  const eth0 = task.iface("eth0")!;
  return {
    name: "serin",
    addrs: { family: opts.ip, endpoint: a.endpoint, peer: a.peer, peerMac: PEER_MAC },
    endpointMac: eth0.mac,
    slackMs: 0,
    callGraceMs: 0,
    now: () => sim.clock.now() - start,
    async waitUntil(t, stop) {
      for (;;) {
        // What is due now (a frame just injected, a timer) runs before the next step.
        for (let i = 0; i < 3; i++) sim.clock.runDue(), await sim.run(0);
        if (stop() || sim.clock.now() - start >= t) return;
        sim.clock.advance(1);
      }
    },
    inject: (frame) => port.send(frame),
    onFrame: (h) => port.onFrame((f) => h(f, sim.clock.now() - start)),
    async call(c) {
      try {
        return await run(c);
      } catch (e) {
        if (e instanceof ErrnoError) return { ret: -1, errno: e.code };
        throw e;
      }
    },
    async [Symbol.asyncDispose]() {
      for (const s of fds.values()) s.release();
      port.close();
      await sim.run(0);
    },
  };
}
