/**
 * The TCP layer of a host, for IPv4 and IPv6: demultiplexes segments to connections and
 * listeners (RST for strays, RFC 9293 §3.10.7.1), hands their segments to the IP layers
 * (`segment_output.ts`), applies ICMP errors and path MTU changes to them, and runs their timers
 * from the host's single wake-up. Closed sockets' connections live on (FIN-WAIT, TIME-WAIT) until
 * the state machine reaches CLOSED. Addresses are numbers (IPv4) or 16-byte arrays (IPv6); an
 * AF_INET6 socket talking to an IPv4 peer uses the IPv4 path (v4-mapped). It knows its host as a
 * {@link TcpHost} and its sockets as {@link TcpEndpoint}s: the NetworkTask wires it in.
 */
import { type ErrnoCode, ErrnoError } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import { TcpConnection } from "./connection.ts";
import { TcpListener } from "./listener.ts";
import { IsnGenerator } from "./isn.ts";
import { COOKIE_MSS_TABLE, COOKIE_MSS_TABLE6, SynCookies } from "./syn_cookie.ts";
import type { TcpConnectionOptions } from "./options.ts";
import { resetReplyFor } from "./reset.ts";
import type { Tcp4Port } from "../ip/transport4.ts";
import type { Tcp6Port } from "../ip6/transport6.ts";
import type { TcpEndpoint, TcpSockets } from "./endpoint.ts";
import type { TcpHost, TcpSendOwner } from "./host.ts";
import { flowKey, parsePeerKey, peerKey4, peerKey6, type TcpAddr } from "./flow_key.ts";
import { pickListener } from "./listener_select.ts";
import { sendSegment } from "./segment_output.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../wire/checksum.ts";
import { equal6, isUnspecified6, isV4Mapped, key6 } from "../ip6/addr6.ts";
import type { Route6, Stack6 } from "../stack6.ts";
import type { Route4 } from "../stack.ts";
import { applyIcmpError, ICMP_OOW } from "./icmp_errors.ts";
import { mssForPathMtu } from "./path_mtu.ts";
import { IpProtocol, type Ipv4Repr } from "../wire/ipv4.ts";
import { parseTcp, type TcpRepr } from "../wire/tcp.ts";
import { DEFAULT_MAX_TIME_WAIT, TimeWaitBuckets } from "./time_wait.ts";

export type { TcpAddr } from "./flow_key.ts";

/** AF_INET6, as the socket layer numbers it. */
const AF_INET6 = 10;

interface Entry {
  key: string;
  conn: TcpConnection;
  sock?: TcpEndpoint;
  local: TcpAddr;
  remote: TcpAddr;
  ttl: number;
  /** Interface index for a link-local IPv6 peer. */
  scope: number;
}

/** Most connections (established and lingering) one host keeps; beyond, new ones are refused. */
export const MAX_TCP_CONNECTIONS = 65536;

/** Whether `a` is the IPv6 address `b`. */
function isSame6(a: TcpAddr, b: Uint8Array): boolean {
  return typeof a !== "number" && equal6(a, b);
}

/** The TCP layer of one host. */
export class TcpDemux implements Tcp4Port, Tcp6Port, TcpSockets {
  #conns = new Map<string, Entry>();
  /** The host's TIME-WAIT budget (tcp/time_wait.ts), shared by all its connections (netstat -s). */
  #timeWait = new TimeWaitBuckets(DEFAULT_MAX_TIME_WAIT, (tw) => {
    this.host.counters.set("tcp: time-wait now", tw.count);
    if (tw.overflows) this.host.counters.set("tcp: TCPTimeWaitOverflow", tw.overflows);
  });
  /** The connection the last IPv4 segment went to: a bulk flow skips building its key. */
  #last?: { src: number; sport: number; dst: number; dport: number; entry: Entry };
  #listeners = new Map<number, TcpEndpoint[]>();
  #isn: IsnGenerator;
  /** SYN cookie and listener timestamp-offset secret (its own 8 bytes, not the ISN's). */
  #cookies: SynCookies;

  constructor(readonly host: TcpHost, seed: number) {
    const secret = new Uint8Array(16);
    if (seed) {
      new DataView(secret.buffer).setFloat64(0, seed * 2654435761.123);
      new DataView(secret.buffer).setFloat64(8, seed * 40503.987654321);
    } else crypto.getRandomValues(secret);
    this.#isn = new IsnGenerator(secret.subarray(0, 8));
    this.#cookies = new SynCookies(secret.subarray(8));
  }

  /** The host's services sockets use (routes, ports, addresses). */
  get stack(): Stack6 {
    return this.host;
  }

  /** Connections held (including those of closed sockets still in FIN-WAIT/TIME-WAIT). */
  get connections(): number {
    return this.#conns.size;
  }

  /** A fresh socket id for an accepted connection's socket. */
  allocateSid(): number {
    return this.host.allocateSid();
  }

  #options(sock: TcpEndpoint, mtu: number, v6 = false, gsoMax = 0): Partial<TcpConnectionOptions> {
    // An IPv4 datagram tops out at 65535 bytes: 65495 is the largest MSS (as on Linux lo).
    const mss = Math.min(mssForPathMtu(mtu, v6), 65495, sock.maxseg ?? Infinity);
    return {
      mss,
      // Room for the IPv4 and TCP headers (with options) inside the 65535-byte datagram.
      gsoMax: gsoMax > 0 && sock.maxseg === undefined ? gsoMax - (v6 ? 40 : 20) - 60 : 0,
      sndBuf: sock.opts.sndbuf,
      rcvBuf: sock.opts.rcvbuf,
      nodelay: sock.nodelay,
      oobInline: sock.opts.oobInline ?? false,
      timeWaitBuckets: this.#timeWait,
      congestion: sock.congestion,
      keepalive: sock.opts.keepalive
        ? { idle: sock.keepIdle, interval: sock.keepIntvl, count: sock.keepCnt }
        : undefined,
    };
  }

  #peerCache?: { key: string; peer: ReturnType<typeof parsePeerKey> };

  /** {@link parsePeerKey}, remembering the last answer (every segment of a flow asks again). */
  #peer(key: string): ReturnType<typeof parsePeerKey> {
    const c = this.#peerCache;
    if (c?.key === key) return c.peer;
    const peer = parsePeerKey(key);
    this.#peerCache = { key, peer };
    return peer;
  }

  /** Start listening on `sock`'s port. */
  listen(sock: TcpEndpoint, backlog: number): TcpListener {
    // Our MSS follows the route back to the peer: its MTU, a learned path MTU included
    // (65495 over loopback), as Linux's tcp_sync_mss(newsk, dst_mtu(dst)) for a child.
    const routeTo = (remote: TcpAddr, scope: number) =>
      typeof remote === "number"
        ? this.host.route4(remote)
        : this.host.route6(remote, { scopeId: scope });
    const listener = new TcpListener({
      localPort: sock.localPort,
      backlog,
      isn: (now, peer) => this.#isn.next(now, `${peer.key}|${peer.port}|${sock.localPort}`),
      cookies: this.#cookies,
      cookieMssTable: (peer) => peer.key.startsWith("6|") ? COOKIE_MSS_TABLE6 : COOKIE_MSS_TABLE,
      count: (what) => this.host.count(`tcp: ${what}`),
      emit: (seg, peer) => {
        const p = this.#peer(peer.key);
        this.#send(p.local, p.remote, seg, this.#hops(sock), p.scope);
      },
      options: (peer) => {
        const p = parsePeerKey(peer.key);
        const v6 = typeof p.remote !== "number";
        const route = routeTo(p.remote, p.scope);
        const mtu = route ? this.#routeMtu(route) : 1500;
        return this.#options(sock, mtu, v6, route?.iface.gsoMax ?? 0);
      },
    });
    const list = this.#listeners.get(sock.localPort) ?? [];
    list.push(sock);
    this.#listeners.set(sock.localPort, list);
    return listener;
  }

  /** Active open for `sock` (addresses and ports already set; IPv6 when `sock.remote6` is). */
  connect(sock: TcpEndpoint, route: Route4 | Route6): TcpConnection {
    const v6 = sock.remote6 !== undefined && !isV4Mapped(sock.remote6);
    const local: TcpAddr = v6 ? sock.local6! : sock.localAddr;
    const remote: TcpAddr = v6 ? sock.remote6! : sock.remoteAddr;
    const key = flowKey(remote, sock.remotePort, local, sock.localPort);
    const old = this.#conns.get(key);
    if (old) {
      // A finished attempt (TIME-WAIT, or CLOSED after a refused connect being retried) yields.
      if (old.conn.state !== "TIME-WAIT" && old.conn.state !== "CLOSED") {
        throw new ErrnoError("EADDRINUSE", "Cannot connect: connection exists");
      }
      old.conn.forget();
      this.#conns.delete(key);
    }
    const mtu = this.#routeMtu(route);
    const now = this.host.clock.now();
    const iss = this.#isn.next(now, key);
    const conn = new TcpConnection({
      localPort: sock.localPort,
      remotePort: sock.remotePort,
      iss,
      tsOffset: this.#isn.next(now, `ts|${key}`),
      emit: (seg) => this.#send(local, remote, seg, this.#hops(sock), sock.remoteScope),
      options: this.#options(sock, mtu, v6, route.iface.gsoMax),
    });
    this.#conns.set(key, {
      key,
      conn,
      sock,
      local,
      remote,
      ttl: this.#hops(sock),
      scope: sock.remoteScope,
    });
    conn.connect(now);
    this.#rearm();
    return conn;
  }

  /** `child`, a socket made for `conn` (a listener completed it), takes over its segments. */
  attachAccepted(child: TcpEndpoint, conn: TcpConnection, peerKey: string): void {
    const { remote, local, scope } = parsePeerKey(peerKey);
    const key = flowKey(remote, conn.remotePort, local, conn.localPort);
    this.#conns.set(key, { key, conn, sock: child, local, remote, ttl: this.#hops(child), scope });
  }

  /** Let a connection send what its socket just queued (or the window update a read allows). */
  kick(sock: TcpEndpoint): void {
    const c = sock.conn;
    if (!c) return;
    this.host.batch(() => {
      c.poll(this.host.clock.now());
      this.#after(sock, c);
    });
  }

  /** The socket's last handle is gone; its connection may linger until CLOSED. */
  released(sock: TcpEndpoint): void {
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

  #after(sock: TcpEndpoint | undefined, c: TcpConnection) {
    this.#settle();
    sock?.wq.wake();
    if (c.state === "CLOSED" && !sock) {
      for (const [k, e] of this.#conns) if (e.conn === c) this.#conns.delete(k);
    }
  }

  /** A TCP segment arrived over IPv4. */
  input4(iface: NetInterface, ip: Ipv4Repr, _datagram: Uint8Array): void {
    // Over loopback nothing can corrupt a segment: no checksum is computed or checked (as
    // Linux's lo does with CHECKSUM_UNNECESSARY).
    const seg = parseTcp(ip.payload, {
      pseudoSum: iface.loopback
        ? undefined
        : pseudoHeaderSum4(ip.src, ip.dst, IpProtocol.TCP, ip.payload.length),
    });
    const now = this.host.clock.now();
    let e = this.#lookup4(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    const key = e?.key ?? flowKey(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    e ??= this.#conns.get(key);
    if (e && e.conn.acceptsNewSyn(seg) && this.#listeners.has(seg.dstPort)) {
      // A new SYN for a connection in TIME-WAIT starts a fresh one (RFC 9293 §3.10.7.4 note).
      e.conn.forget();
      this.#conns.delete(key);
      e = undefined;
    }
    if (e) {
      if (this.#last?.entry !== e) {
        this.#last = { src: ip.src, sport: seg.srcPort, dst: ip.dst, dport: seg.dstPort, entry: e };
      }
      if (seg.payload.length > 0 && e.sock?.account?.over) return this.#overBudget(iface, e.sock);
      e.conn.input(now, seg);
      this.host.frameConsumed(); // a connection copies what it keeps of a segment
      e.sock?.wq.wake();
      if (e.conn.state === "CLOSED" && !e.sock) this.#conns.delete(key);
      this.#rearm();
      return;
    }
    const l = pickListener(this.#listeners.get(seg.dstPort), `${ip.src}:${seg.srcPort}`, (s) => {
      if (s.family === AF_INET6 && s.opts.v6only) return -1;
      if (s.localAddr !== 0 && s.localAddr !== ip.dst) return -1;
      // Linux's compute_score: a specific address beats a wildcard, AF_INET beats AF_INET6.
      return (s.localAddr !== 0 ? 4 : 0) + (s.family === AF_INET6 ? 1 : 2);
    });
    if (l?.listener) {
      if (this.#conns.size >= MAX_TCP_CONNECTIONS) return iface.dropRx("tcp: table-full");
      if (seg.payload.length > 0 && l.account?.over) return this.#overBudget(iface, l);
      l.listener.input(now, seg, { key: peerKey4(ip.src, ip.dst), port: seg.srcPort });
      l.wq.wake();
      this.#rearm();
      return;
    }
    this.host.count("tcp: no-socket");
    const rst = resetReplyFor(seg);
    if (rst) this.#send(ip.dst, ip.src, rst, 64);
  }

  /**
   * Data for a socket whose holder is over its memory budget is dropped unacknowledged, as
   * Linux drops it under tcp_mem pressure: the peer retransmits once memory was freed.
   */
  #overBudget(iface: NetInterface, sock: TcpEndpoint): void {
    sock.account!.drops++;
    this.host.frameConsumed(); // nothing of it is kept
    iface.dropRx("tcp: over memory budget");
  }

  /** The entry for an IPv4 4-tuple if it is the one the previous segment found (and still held). */
  #lookup4(src: number, sport: number, dst: number, dport: number): Entry | undefined {
    const l = this.#last;
    if (!l || l.src !== src || l.sport !== sport || l.dst !== dst || l.dport !== dport) {
      return undefined;
    }
    return this.#conns.get(l.entry.key) === l.entry ? l.entry : undefined;
  }

  /** A TCP segment arrived over IPv6. */
  input6(iface: NetInterface, src: Uint8Array, dst: Uint8Array, payload: Uint8Array): void {
    const seg = parseTcp(payload, {
      pseudoSum: pseudoHeaderSum6(src, dst, IpProtocol.TCP, payload.length),
    });
    const now = this.host.clock.now();
    const key = flowKey(src, seg.srcPort, dst, seg.dstPort);
    let e = this.#conns.get(key);
    if (e && e.conn.acceptsNewSyn(seg) && this.#listeners.has(seg.dstPort)) {
      e.conn.forget();
      this.#conns.delete(key);
      e = undefined;
    }
    if (e) {
      if (seg.payload.length > 0 && e.sock?.account?.over) return this.#overBudget(iface, e.sock);
      e.conn.input(now, seg);
      e.sock?.wq.wake();
      if (e.conn.state === "CLOSED" && !e.sock) this.#conns.delete(key);
      this.#rearm();
      return;
    }
    const l = pickListener(this.#listeners.get(seg.dstPort), `${key6(src)}:${seg.srcPort}`, (s) => {
      if (s.family !== AF_INET6) return -1;
      if (s.local6 === undefined || isUnspecified6(s.local6)) return 1;
      return equal6(s.local6, dst) ? 5 : -1;
    });
    const scope = (src[0] === 0xfe && (src[1] & 0xc0) === 0x80) ? iface.index : 0;
    if (l?.listener) {
      if (this.#conns.size >= MAX_TCP_CONNECTIONS) return iface.dropRx("tcp: table-full");
      if (seg.payload.length > 0 && l.account?.over) return this.#overBudget(iface, l);
      l.listener.input(now, seg, { key: peerKey6(src, dst, scope), port: seg.srcPort });
      l.wq.wake();
      this.#rearm();
      return;
    }
    this.host.count("tcp: no-socket");
    const rst = resetReplyFor(seg);
    if (rst) this.#send(dst, src, rst, 64, scope);
  }

  #send(src: TcpAddr, dst: TcpAddr, seg: TcpRepr, ttl: number, scope = 0) {
    this.#toldMtu = undefined;
    const err = sendSegment(this.host, src, dst, seg, ttl, scope, this.#owner);
    if (!err) return;
    this.host.count(err === "no-route" ? "tcp: no-route" : `tcp: output ${err}`);
    // Over the path MTU under DF: settled (MSS lowered, segment resent) once the call returns.
    if (err === "EMSGSIZE" && seg.payload.length > 0) {
      this.#tooBig.push({ dst, scope, mtu: this.#toldMtu, sport: seg.srcPort, dport: seg.dstPort });
    }
  }

  /** The TTL / hop limit a socket's segments carry. */
  #hops(sock: TcpEndpoint): number {
    if (sock.family === AF_INET6 && sock.remote6 !== undefined && !isV4Mapped(sock.remote6)) {
      return sock.opts.unicastHops >= 0 ? sock.opts.unicastHops : this.host.hopLimit6;
    }
    return sock.opts.ttl;
  }

  /**
   * Whether an ICMP error quoting our TCP segment (sport to dst:dport, sequence number `seq`) is
   * believable: it names a connection and `seq` lies in [SND.UNA, SND.NXT] (RFC 5927 §4.1). The
   * IP layers ask before they act (path MTU included), as Linux's tcp_v4_err/tcp_v6_err do.
   */
  icmpBelievable(dst: TcpAddr, sport: number, dport: number, seq: number): boolean {
    let found = false;
    for (const e of this.#conns.values()) {
      if (typeof dst === "number" ? e.remote !== dst : !isSame6(e.remote, dst)) continue;
      if (e.conn.localPort !== sport || e.conn.remotePort !== dport) continue;
      if (e.conn.icmpSeqAcceptable(seq)) return true;
      found = true;
    }
    this.host.count(found ? ICMP_OOW : "tcp: icmp no-connection");
    return false;
  }

  /** An ICMPv6 error about a segment we sent to ([dst], dport) from sport, quoting `seq`. */
  icmpError6(dst: Uint8Array, sport: number, dport: number, code: ErrnoCode, seq: number): void {
    for (const e of this.#conns.values()) {
      if (typeof e.remote === "number" || !equal6(e.remote, dst)) continue;
      if (e.conn.localPort !== sport || e.conn.remotePort !== dport) continue;
      applyIcmpError(e.conn, e.sock, code, seq, (what) => this.host.count(what));
    }
  }

  /** A Packet Too Big TCP believed: the path MTU towards `dst` fell to `mtu`. */
  pathMtu6(dst: Uint8Array, mtu: number): void {
    this.pathMtuChanged(dst, mtu);
  }

  /** An ICMP error about a segment we sent to (dst, dport) from sport, quoting `seq`. */
  icmpError4(
    dst: number,
    sport: number,
    dport: number,
    code: ErrnoCode,
    mtu: number,
    seq: number,
  ): void {
    for (const e of this.#conns.values()) {
      if (e.remote !== dst || e.conn.localPort !== sport || e.conn.remotePort !== dport) continue;
      if (code !== "EMSGSIZE" || mtu <= 0) {
        applyIcmpError(e.conn, e.sock, code, seq, (what) => this.host.count(what));
        continue;
      }
      // Fragmentation needed (RFC 1191), believed only for a sequence number in flight.
      if (!e.conn.icmpSeqAcceptable(seq)) {
        this.host.count(ICMP_OOW);
        continue;
      }
      this.pathMtuChanged(dst, mtu, { sport, dport });
    }
  }

  /**
   * The path MTU towards `dst` is now `mtu` (an ICMP report the IP layer believed and cached,
   * or the MTU the IP layer gave with EMSGSIZE): the one MSS-lowering path for IPv4 and IPv6.
   * Every connection to `dst` lowers its MSS to fit and stops TSO (Linux's tcp_sync_mss); the
   * one whose segment was lost, `lost` (every one when the report names none), resends its
   * flight at the new size at once (tcp_simple_retransmit). The IP layers floor what they
   * report (IPv4 552, then without DF; IPv6 1280); TCP floors the MSS at 48.
   */
  pathMtuChanged(dst: TcpAddr, mtu: number, lost?: { sport: number; dport: number }): void {
    const v6 = typeof dst !== "number";
    const mss = mssForPathMtu(mtu, v6);
    const now = this.host.clock.now();
    for (const e of [...this.#conns.values()]) {
      if (typeof dst === "number" ? e.remote !== dst : !isSame6(e.remote, dst)) continue;
      const resend = !lost ||
        (e.conn.localPort === lost.sport && e.conn.remotePort === lost.dport);
      if (!e.conn.pathMtuReduced(now, mss, resend)) continue;
      this.host.count("tcp: mss-lowered");
      e.sock?.wq.wake();
    }
    this.#settle();
    this.#rearm();
  }

  /** The MTU of `route`: the link's, or a smaller one the IP layer learned (RA, path MTU). */
  #routeMtu(route: Route4 | Route6): number {
    return route.mtu ?? route.iface.mtu;
  }

  /** Destinations whose segments came back EMSGSIZE from the IP layer, to settle. */
  #tooBig: Array<{ dst: TcpAddr; scope: number; mtu?: number; sport: number; dport: number }> = [];
  /** The MTU the IP layer gave with the last segment it refused as too big (if it tells). */
  #toldMtu?: number;
  /** What the IP layers tell about TCP's datagrams (one object for every segment). */
  readonly #owner: TcpSendOwner = {
    onSendError: () => {}, // TCP retransmits (a failed ARP is no error to the socket on Linux)
    onSendError6: () => {},
    onTooBig: (_d, mtu) => this.#toldMtu = mtu,
    onTooBig6: (_d, mtu) => this.#toldMtu = mtu,
  };
  #settling = false;

  /**
   * React to EMSGSIZE from the IP layer (a segment over the path MTU under DF): the MSS drops to
   * the route's MTU and the segment is resent, rather than black-holed. Runs after the
   * connection call that emitted it returned (never from inside its emit).
   */
  #settle(): void {
    if (this.#settling) return;
    this.#settling = true;
    try {
      for (let t = this.#tooBig.shift(); t; t = this.#tooBig.shift()) {
        const route = typeof t.dst === "number"
          ? this.host.route4(t.dst)
          : this.host.route6(t.dst, { scopeId: t.scope });
        if (route) this.pathMtuChanged(t.dst, t.mtu ?? this.#routeMtu(route), t);
      }
    } finally {
      this.#settling = false;
    }
  }

  /** Run the timers of connections and listeners that are due. */
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
    this.#settle();
  }

  /** Nothing is batched: segments leave as connections emit them. */
  flush(): void {}

  /** The earliest timer any connection or listener needs. */
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
    this.#settle();
    this.host.rearm();
  }
}
