/**
 * TCP over IPv4: demultiplexes segments to connections and listeners (RST for strays, RFC 9293
 * §3.10.7.1), turns connections' segments into checksummed IPv4 datagrams, and runs their
 * timers from the NetworkTask's single wake-up. Closed sockets' connections live on (FIN-WAIT,
 * TIME-WAIT) until the state machine reaches CLOSED.
 */
import type { ErrnoCode } from "../kernel/errno.ts";
import type { NetInterface } from "./link/interface.ts";
import type { NetworkTask } from "./network_task.ts";
import { TcpSocket } from "./sockets/tcp_socket.ts";
import {
  IsnGenerator,
  resetReplyFor,
  TcpConnection,
  type TcpConnectionOptions,
  TcpListener,
} from "./tcp/mod.ts";
import type { TcpLayer } from "./tcp_layer.ts";
import { pseudoHeaderSum4 } from "./wire/checksum.ts";
import { IpProtocol, type Ipv4Repr } from "./wire/ipv4.ts";
import { emitTcp, parseTcp, tcpLength, type TcpRepr } from "./wire/tcp.ts";

interface Entry {
  key: string;
  conn: TcpConnection;
  sock?: TcpSocket;
  local: number;
  remote: number;
  ttl: number;
}

/** Most connections (established and lingering) one host keeps; beyond, new ones are refused. */
export const MAX_TCP_CONNECTIONS = 65536;

/** The TCP layer of one host. */
export class TcpIpv4 implements TcpLayer {
  #conns = new Map<string, Entry>();
  #listeners = new Map<number, TcpSocket[]>();
  #isn: IsnGenerator;

  constructor(readonly task: NetworkTask, seed: number) {
    const secret = new Uint8Array(8);
    if (seed) new DataView(secret.buffer).setFloat64(0, seed * 2654435761.123);
    else crypto.getRandomValues(secret);
    this.#isn = new IsnGenerator(secret);
  }

  get stack(): NetworkTask {
    return this.task;
  }

  /** Connections held (including those of closed sockets still in FIN-WAIT/TIME-WAIT). */
  get connections(): number {
    return this.#conns.size;
  }

  createSocket(sid: number): TcpSocket {
    return new TcpSocket(sid, this);
  }

  #options(sock: TcpSocket, mtu: number): Partial<TcpConnectionOptions> {
    const mss = Math.min(mtu - 40, sock.maxseg ?? Infinity);
    return {
      mss,
      sndBuf: sock.opts.sndbuf,
      rcvBuf: sock.opts.rcvbuf,
      nodelay: sock.nodelay,
      congestion: sock.congestion,
      keepalive: sock.opts.keepalive
        ? { idle: sock.keepIdle, interval: sock.keepIntvl, count: sock.keepCnt }
        : undefined,
    };
  }

  /** Start listening on `sock`'s port. */
  listen(sock: TcpSocket, backlog: number): TcpListener {
    const mtu = Math.max(
      ...this.task.interfaces.filter((i) => !i.loopback).map((i) => i.mtu),
      1500,
    );
    const listener = new TcpListener({
      localPort: sock.localPort,
      backlog,
      isn: (now, peer) => this.#isn.next(now, `${peer.key}|${peer.port}|${sock.localPort}`),
      emit: (seg, peer) => {
        const [remote, local] = peer.key.split(">").map(Number);
        this.#send(local, remote, seg, sock.opts.ttl);
      },
      options: this.#options(sock, mtu),
    });
    const list = this.#listeners.get(sock.localPort) ?? [];
    list.push(sock);
    this.#listeners.set(sock.localPort, list);
    return listener;
  }

  /** Active open for `sock` (addresses and ports already set). */
  connect(sock: TcpSocket, mtu: number): TcpConnection {
    const key = keyOf(sock.remoteAddr, sock.remotePort, sock.localAddr, sock.localPort);
    const old = this.#conns.get(key);
    if (old) {
      if (old.conn.state !== "TIME-WAIT") throw new Error("connection exists");
      this.#conns.delete(key);
    }
    const now = this.task.clock.now();
    const iss = this.#isn.next(now, key);
    const conn = new TcpConnection({
      localPort: sock.localPort,
      remotePort: sock.remotePort,
      iss,
      tsOffset: this.#isn.next(now, `ts|${key}`),
      emit: (seg) => this.#send(sock.localAddr, sock.remoteAddr, seg, sock.opts.ttl),
      options: this.#options(sock, mtu),
    });
    this.#conns.set(key, {
      key,
      conn,
      sock,
      local: sock.localAddr,
      remote: sock.remoteAddr,
      ttl: sock.opts.ttl,
    });
    conn.connect(now);
    this.#rearm();
    return conn;
  }

  /** Wrap a connection the listener completed into a new socket. */
  adoptAccepted(listener: TcpSocket, conn: TcpConnection, peerKey: string): TcpSocket {
    const [remote, local] = peerKey.split(">").map(Number);
    const child = new TcpSocket(this.task.allocateSid(), this);
    child.localAddr = local;
    child.localPort = listener.localPort;
    child.remoteAddr = remote;
    child.remotePort = conn.remotePort;
    child.sharesPort = true;
    child.conn = conn;
    child.phase = "connected";
    child.nodelay = listener.nodelay;
    Object.assign(child.opts, listener.opts);
    for (const o of listener.owners) child.owners.add(o);
    const key = keyOf(remote, conn.remotePort, local, listener.localPort);
    this.#conns.set(key, { key, conn, sock: child, local, remote, ttl: listener.opts.ttl });
    return child;
  }

  /** Let a connection send what its socket just queued (or the window update a read allows). */
  kick(sock: TcpSocket): void {
    const c = sock.conn;
    if (!c) return;
    c.poll(this.task.clock.now());
    this.#after(sock, c);
    this.#rearm();
  }

  /** The socket's last handle is gone; its connection may linger until CLOSED. */
  released(sock: TcpSocket): void {
    if (sock.listener) {
      const list = (this.#listeners.get(sock.localPort) ?? []).filter((s) => s !== sock);
      if (list.length) this.#listeners.set(sock.localPort, list);
      else this.#listeners.delete(sock.localPort);
    }
    for (const e of this.#conns.values()) {
      if (e.sock === sock) {
        e.sock = undefined;
        if (e.conn.state === "CLOSED") this.#conns.delete(e.key);
      }
    }
  }

  #after(sock: TcpSocket | undefined, c: TcpConnection) {
    sock?.wq.wake();
    if (c.state === "CLOSED" && !sock) {
      for (const [k, e] of this.#conns) if (e.conn === c) this.#conns.delete(k);
    }
  }

  input4(iface: NetInterface, ip: Ipv4Repr, _datagram: Uint8Array): void {
    const seg = parseTcp(ip.payload, {
      pseudoSum: pseudoHeaderSum4(ip.src, ip.dst, IpProtocol.TCP, ip.payload.length),
    });
    const now = this.task.clock.now();
    const key = keyOf(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    let e = this.#conns.get(key);
    if (e && e.conn.acceptsNewSyn(seg) && this.#listeners.has(seg.dstPort)) {
      // A new SYN for a connection in TIME-WAIT starts a fresh one (RFC 9293 §3.10.7.4 note).
      this.#conns.delete(key);
      e = undefined;
    }
    if (e) {
      e.conn.input(now, seg);
      e.sock?.wq.wake();
      if (e.conn.state === "CLOSED" && !e.sock) this.#conns.delete(key);
      this.#rearm();
      return;
    }
    const l = this.#listeners.get(seg.dstPort)?.find((s) =>
      s.localAddr === 0 || s.localAddr === ip.dst
    );
    if (l?.listener) {
      if (this.#conns.size >= MAX_TCP_CONNECTIONS) return iface.dropRx("tcp: table-full");
      l.listener.input(now, seg, { key: `${ip.src}>${ip.dst}`, port: seg.srcPort });
      l.wq.wake();
      this.#rearm();
      return;
    }
    this.task.count("tcp: no-socket");
    const rst = resetReplyFor(seg);
    if (rst) this.#send(ip.dst, ip.src, rst, 64);
  }

  #send(src: number, dst: number, seg: TcpRepr, ttl: number) {
    const route = this.task.route4(dst);
    if (!route) return this.task.count("tcp: no-route");
    const len = tcpLength(seg);
    const buf = new Uint8Array(len);
    emitTcp(seg, buf, { pseudoSum: pseudoHeaderSum4(src, dst, IpProtocol.TCP, len) });
    this.task.ipv4.output(route, {
      src,
      dst,
      protocol: IpProtocol.TCP,
      ttl,
      payload: buf,
      dontFragment: true,
    });
  }

  icmpError4(dst: number, sport: number, dport: number, code: ErrnoCode, _mtu: number): void {
    for (const e of this.#conns.values()) {
      if (e.remote !== dst || e.conn.localPort !== sport || e.conn.remotePort !== dport) continue;
      // Hard errors abort a connection still opening (RFC 1122 §4.2.3.9); later they are soft.
      if (
        e.conn.state === "SYN-SENT" &&
        (code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH")
      ) {
        if (e.sock) e.sock.setError(code);
        e.conn.abort();
        e.sock?.wq.wake();
      }
    }
  }

  poll(now: number): void {
    for (const e of [...this.#conns.values()]) {
      const d = e.conn.nextDeadline();
      if (d === undefined || d > now) continue;
      e.conn.poll(now);
      e.sock?.wq.wake();
      if (e.conn.state === "CLOSED" && !e.sock) this.#conns.delete(e.key);
    }
    for (const list of this.#listeners.values()) {
      for (const s of list) {
        const d = s.listener?.nextDeadline();
        if (d !== undefined && d <= now) {
          s.listener!.poll(now);
          s.wq.wake();
        }
      }
    }
  }

  flush(): void {}

  nextDeadline(): number | undefined {
    let best = Infinity;
    for (const e of this.#conns.values()) {
      const d = e.conn.nextDeadline();
      if (d !== undefined && d < best) best = d;
    }
    for (const list of this.#listeners.values()) {
      for (const s of list) {
        const d = s.listener?.nextDeadline();
        if (d !== undefined && d < best) best = d;
      }
    }
    return best === Infinity ? undefined : best;
  }

  #rearm() {
    this.task.rearm();
  }
}

function keyOf(remote: number, rport: number, local: number, lport: number): string {
  return `${remote}:${rport}:${local}:${lport}`;
}
