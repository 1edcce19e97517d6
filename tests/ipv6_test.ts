/**
 * IPv6 end to end under a manual clock: hosts come up and pass DAD, learn a global prefix from a
 * Serin router's RA (SLAAC), ping by link-local and global address, refuse a duplicate address,
 * carry UDP and TCP both ways, fragment and reassemble, honour Packet Too Big, drop bogus
 * extension-header chains, and serve IPv4 clients on dual-stack sockets.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import type { ErrnoError } from "../kernel/errno.ts";
import { Sim } from "./sim.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { runNetctl } from "../netstack/netctl.ts";
import type { Raw6Socket } from "../netstack/sockets/raw6_socket.ts";
import type { Udp6Socket } from "../netstack/udp/udp6_socket.ts";
import type { UdpSocket } from "../netstack/udp/udp_socket.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { eui64Address, linkLocalFromMac } from "../netstack/ip6/addr6.ts";
import { formatIPv6, parseIPv6 } from "../netstack/wire/addr.ts";
import { encodeIpv6 } from "../netstack/wire/ipv6.ts";
import { encodeIcmpv6 } from "../netstack/wire/icmpv6.ts";
import { ETHERTYPE_IPV6 } from "../netstack/wire/ethernet.ts";
import { encodeUdp } from "../netstack/wire/udp.ts";
import { pseudoHeaderSum6 } from "../netstack/wire/checksum.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const in6 = (addr: string, port: number, scopeId?: number) => ({
  family: 10 as const,
  addr,
  port,
  ...(scopeId ? { scopeId } : {}),
});
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });

function eth0(t: NetworkTask) {
  return t.iface("eth0")!;
}

function linkLocal(t: NetworkTask): string {
  return formatIPv6(linkLocalFromMac(eth0(t).mac));
}

function addrState(t: NetworkTask, addr: string, ifname = "eth0"): string | undefined {
  const a = parseIPv6(addr)!;
  return t.iface(ifname)!.addrs6.find((x) => formatIPv6(x.addr) === formatIPv6(a))?.state;
}

function addAddr(t: NetworkTask, cidr: string, iface = "eth0") {
  runNetctl(t, { op: "ifaddr", iface, action: "add", cidr });
}

/** ICMPv6 echo request as a ping6 tool sends it: checksum left 0 for the kernel. */
function echoRequest(id: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = 128;
  m[4] = id >> 8;
  m[5] = id & 255;
  m[6] = seq >> 8;
  m[7] = seq & 255;
  m.set(data, 8);
  return m;
}

async function ping(sim: Sim, from: NetworkTask, to: string, scopeId?: number) {
  const ctx = { signal: sim.signal };
  const raw = from.createSocket(abi.AF_INET6, abi.SOCK_RAW, abi.IPPROTO_ICMPV6) as Raw6Socket;
  try {
    await raw.sendmsg(echoRequest(0x1234, 1, te.encode("ping6!")), 0, in6(to, 0, scopeId), ctx);
    for (;;) {
      const p = raw.recvmsg(2000, 0, ctx);
      p.catch(() => {});
      const got = await sim.until(p, 10_000);
      if (got.data[0] !== 129) continue; // our own request may come back through loopback
      return got;
    }
  } finally {
    raw.release();
  }
}

Deno.test("hosts pass DAD, get SLAAC addresses from a Serin router, ping by link-local and global", async () => {
  const sim = new Sim();
  const r = sim.host("r", { eth0: ["lan"] }, { forwarding: true });
  addAddr(r, "2001:db8:1::1/64");
  const a = sim.host("a", { eth0: ["lan"] });
  const b = sim.host("b", { eth0: ["lan"] });
  assert.equal(addrState(a, linkLocal(a)), "tentative");
  assert.equal(addrState(a, "::1", "lo"), "preferred");
  await sim.run(3000, 5);
  assert.equal(addrState(a, linkLocal(a)), "preferred");
  assert.equal(addrState(b, linkLocal(b)), "preferred");
  const aGlobal = formatIPv6(eui64Address(parseIPv6("2001:db8:1::")!, eth0(a).mac));
  const bGlobal = formatIPv6(eui64Address(parseIPv6("2001:db8:1::")!, eth0(b).mac));
  assert.equal(addrState(a, aGlobal), "preferred");
  assert.equal(addrState(b, bGlobal), "preferred");
  const routes = runNetctl(a, { op: "routes" }) as Array<
    { family: number; dest: string; gateway?: string }
  >;
  assert.ok(routes.some((x) => x.family === 10 && x.dest === "::" && x.gateway === linkLocal(r)));
  const ifs = runNetctl(a, { op: "ifaces" }) as Array<
    { name: string; addrs: Array<{ family: number; scope: string; state: string }> }
  >;
  const e = ifs.find((i) => i.name === "eth0")!;
  assert.ok(e.addrs.some((x) => x.family === 10 && x.scope === "link" && x.state === "preferred"));
  assert.ok(e.addrs.some((x) => x.family === 10 && x.scope === "global"));
  assert.ok((a.counters.get("mld: report-sent") ?? 0) >= 1);

  const byLl = await ping(sim, a, linkLocal(b), eth0(a).index);
  assert.equal(byLl.addr?.family, 10);
  assert.deepEqual(byLl.addr, in6(linkLocal(b), 0, eth0(a).index));
  assert.equal(td.decode(byLl.data.subarray(8)), "ping6!");
  const byGlobal = await ping(sim, a, bGlobal);
  assert.deepEqual(byGlobal.addr, in6(bGlobal, 0));
  const neigh = runNetctl(a, { op: "neigh" }) as Array<
    { family: number; addr: string; state: string }
  >;
  assert.ok(neigh.some((n) => n.family === 10 && n.addr === bGlobal && n.state === "reachable"));
});

Deno.test("a duplicate address is detected and never used", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan"] });
  const b = sim.host("b", { eth0: ["lan"] });
  await sim.run(1500, 5);
  addAddr(a, "2001:db8::5/64");
  await sim.run(1500, 5);
  assert.equal(addrState(a, "2001:db8::5"), "preferred");
  addAddr(b, "2001:db8::5/64");
  assert.equal(addrState(b, "2001:db8::5"), "tentative");
  await sim.run(1500, 5);
  assert.equal(addrState(b, "2001:db8::5"), "duplicate");
  assert.equal(addrState(a, "2001:db8::5"), "preferred");
  assert.equal(b.counters.get("ndp: dad-duplicate"), 1);
  assert.equal(b.isLocal6(parseIPv6("2001:db8::5")!), false);
  const s = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  assert.throws(() => s.bind(in6("2001:db8::5", 9)), (e: ErrnoError) => e.code === "EADDRNOTAVAIL");
  // b still reaches a's address, since it is not b's own.
  addAddr(b, "2001:db8::6/64");
  await sim.run(1500, 5);
  const reply = await ping(sim, b, "2001:db8::5");
  assert.deepEqual(reply.addr, in6("2001:db8::5", 0));
});

function twoV6Hosts() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  addAddr(a, "2001:db8::1/64");
  addAddr(b, "2001:db8::2/64");
  return { sim, a, b, ctx: { signal: sim.signal } };
}

Deno.test("UDP over IPv6 both ways, a 10,000-byte datagram fragmented, port unreachable", async () => {
  const { sim, a, b, ctx } = twoV6Hosts();
  await sim.run(1500, 5);
  const server = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  server.bind(in6("::", 7));
  const client = a.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  await client.sendmsg(te.encode("hello6"), 0, in6("2001:db8::2", 7), ctx);
  const m1 = await sim.until(server.recvmsg(65536, 0, ctx));
  assert.equal(td.decode(m1.data), "hello6");
  assert.deepEqual(m1.addr, in6("2001:db8::1", client.localPort));
  await server.sendmsg(te.encode("back"), 0, m1.addr, ctx);
  const back = await sim.until(client.recvmsg(100, 0, ctx));
  assert.equal(td.decode(back.data), "back");
  assert.deepEqual(back.addr, in6("2001:db8::2", 7));

  const big = new Uint8Array(10_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
  await client.sendmsg(big, 0, in6("2001:db8::2", 7), ctx);
  const m2 = await sim.until(server.recvmsg(65536, 0, ctx));
  assert.deepEqual(m2.data, big);
  assert.equal(a.counters.get("ipv6: fragmented"), 1);
  assert.equal(b.ipv6.reassembly.bytesHeld, 0);

  const lonely = a.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  await lonely.connect(in6("2001:db8::2", 9999), ctx);
  await lonely.sendmsg(te.encode("anyone?"), 0, undefined, ctx);
  await assert.rejects(
    sim.until(lonely.recvmsg(100, 0, ctx)),
    (e: ErrnoError) => e.code === "ECONNREFUSED",
  );
  assert.equal(b.counters.get("icmpv6: sent dst-unreachable"), 1);
});

async function tcpPair(
  sim: Sim,
  client: NetworkTask,
  server: NetworkTask,
  serverAddr: { family: 2 | 10; addr: string; port: number },
  listenFamily: number,
) {
  const ctx = { signal: sim.signal };
  const l = server.createSocket(listenFamily, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(
    listenFamily === abi.AF_INET6 ? in6("::", serverAddr.port) : in4("0.0.0.0", serverAddr.port),
  );
  l.listen(8);
  const c = client.createSocket(serverAddr.family, abi.SOCK_STREAM, 0) as TcpSocket;
  const connecting = c.connect(serverAddr, ctx);
  const acc = await sim.until(l.accept(ctx));
  await sim.until(connecting);
  return { l, c, s: acc.socket as TcpSocket, peer: acc.addr };
}

async function transfer(sim: Sim, from: TcpSocket, to: TcpSocket, data: Uint8Array) {
  const ctx = { signal: sim.signal };
  const sending = (async () => {
    let off = 0;
    while (off < data.length) off += await from.sendmsg(data.subarray(off), 0, undefined, ctx);
  })();
  const got: Uint8Array[] = [];
  let n = 0;
  while (n < data.length) {
    const r = await sim.until(to.recvmsg(65536, 0, ctx), 120_000);
    got.push(r.data);
    n += r.data.length;
  }
  await sim.until(sending);
  const out = new Uint8Array(n);
  let o = 0;
  for (const g of got) {
    out.set(g, o);
    o += g.length;
  }
  return out;
}

Deno.test("TCP over IPv6 both ways", async () => {
  const { sim, a, b } = twoV6Hosts();
  await sim.run(1500, 5);
  const { c, s, peer } = await tcpPair(sim, a, b, in6("2001:db8::2", 80), abi.AF_INET6);
  assert.deepEqual(peer, in6("2001:db8::1", c.localPort));
  assert.deepEqual(c.getsockname(), in6("2001:db8::1", c.localPort));
  assert.equal(c.proto, "tcp6");
  const up = new Uint8Array(100_000).map((_, i) => i & 255);
  assert.deepEqual(await transfer(sim, c, s, up), up);
  const down = te.encode("and back again over IPv6");
  assert.deepEqual(await transfer(sim, s, c, down), down);
  const socks = runNetctl(b, { op: "sockets" }) as Array<{ proto: string; local: string }>;
  assert.ok(socks.some((x) => x.proto === "tcp6" && x.local === "[::]:80"));
});

Deno.test("ICMPv6 packet too big lowers the path MTU; the TCP transfer continues", async () => {
  const sim = new Sim();
  const r = sim.host("r", { eth0: ["lan1"], eth1: ["lan2"] }, { forwarding: true });
  addAddr(r, "2001:db8:1::1/64", "eth0");
  addAddr(r, "2001:db8:2::1/64", "eth1");
  const a = sim.host("a", { eth0: ["lan1"] });
  const b = sim.host("b", { eth0: ["lan2"] });
  await sim.run(3000, 5);
  const bGlobal = formatIPv6(eui64Address(parseIPv6("2001:db8:2::")!, eth0(b).mac));
  assert.equal(addrState(b, bGlobal), "preferred");
  const { c, s } = await tcpPair(sim, a, b, in6(bGlobal, 5001), abi.AF_INET6);
  // Narrowed once connected: b's RAs would otherwise teach it the MTU, and its SYN-ACK's MSS
  // would keep a's segments small from the start (as on Linux).
  r.iface("eth1")!.mtu = 1280;
  const mssBefore = c.conn!.mss;
  const data = new Uint8Array(200_000).map((_, i) => (i * 13) & 255);
  assert.deepEqual(await transfer(sim, c, s, data), data);
  assert.ok((r.counters.get("icmpv6: sent packet-too-big") ?? 0) >= 1);
  assert.equal(a.ipv6.pathMtu(parseIPv6(bGlobal)!)?.mtu, 1280);
  assert.ok((a.counters.get("tcp: mss-lowered") ?? 0) >= 1);
  assert.ok(c.conn!.mss < mssBefore && c.conn!.mss <= 1280 - 60);
  assert.ok((r.counters.get("ipv6: forwarded") ?? 0) > 100);
});

/** An IPv6 packet in an Ethernet frame from a made-up neighbour to `to`. */
function frameTo(to: NetworkTask, nextHeader: number, payload: Uint8Array): Uint8Array {
  const src = parseIPv6("2001:db8::99")!;
  const ip = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader,
    hopLimit: 64,
    src,
    dst: parseIPv6("2001:db8::2")!,
    payload,
  });
  const f = new Uint8Array(14 + ip.length);
  f.set(eth0(to).mac, 0);
  f.set([2, 0, 0, 0, 0x99, 0], 6);
  f[12] = ETHERTYPE_IPV6 >> 8;
  f[13] = ETHERTYPE_IPV6 & 255;
  f.set(ip, 14);
  return f;
}

function udpTo(port: number): Uint8Array {
  return encodeUdp({ srcPort: 1000, dstPort: port, payload: te.encode("x") }, {
    pseudoSum: pseudoHeaderSum6(parseIPv6("2001:db8::99")!, parseIPv6("2001:db8::2")!, 17, 9),
  });
}

Deno.test("bogus extension-header chains are dropped and counted", async () => {
  const { sim, b } = twoV6Hosts();
  await sim.run(1500, 5);
  const server = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  server.bind(in6("::", 7));
  const drops = () => eth0(b).stats.drops;
  const inject = (nh: number, p: Uint8Array) => b.input(eth0(b), frameTo(b, nh, p));
  const udp = udpTo(7);
  const withHeader = (h: Uint8Array) => {
    const p = new Uint8Array(h.length + udp.length);
    p.set(h);
    p.set(udp, h.length);
    return p;
  };
  // A truncated destination-options header.
  inject(60, Uint8Array.of(17, 3, 1, 2));
  assert.equal(drops()["ipv6: bad-ext-chain"], 1);
  // Hop-by-hop after another header: an unrecognized next header, as Linux (code 1 at byte 40).
  inject(60, withHeader(Uint8Array.of(0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0)));
  assert.equal(drops()["ipv6: bad-ext-chain"], 1);
  assert.equal(drops()["ipv6: unknown-next-header"], 1);
  // Routing header type 0: refused with a parameter problem.
  inject(43, withHeader(Uint8Array.of(17, 0, 0, 1, 0, 0, 0, 0)));
  assert.equal(drops()["ipv6: routing-type-0"], 1);
  // Unknown destination option 0x40 (discard) and 0x80 (discard + ICMPv6).
  inject(60, withHeader(Uint8Array.of(17, 0, 0x40, 4, 0, 0, 0, 0)));
  inject(60, withHeader(Uint8Array.of(17, 0, 0x80, 4, 0, 0, 0, 0)));
  assert.equal(drops()["ipv6: unknown-option"], 2);
  // An unknown upper layer.
  inject(253, Uint8Array.of(1, 2, 3, 4));
  assert.equal(drops()["ipv6: unknown-next-header"], 2);
  // Overlapping fragments drop the whole datagram (RFC 5722).
  const frag = (off: number, more: boolean, data: Uint8Array) => {
    const p = new Uint8Array(8 + data.length);
    p[0] = 17;
    p[2] = off >> 8;
    p[3] = (off & 0xf8) | (more ? 1 : 0);
    p[7] = 42;
    p.set(data, 8);
    return p;
  };
  inject(44, frag(0, true, new Uint8Array(16)));
  inject(44, frag(8, false, new Uint8Array(16)));
  assert.equal(drops()["ipv6: frag-overlap"], 1);
  await sim.run(10, 1);
  // Type 0, option 0x80, hop-by-hop not first, next header 253.
  assert.equal(b.counters.get("icmpv6: sent param-problem"), 4);
  // A valid datagram behind a PadN destination-options header still arrives.
  inject(60, withHeader(Uint8Array.of(17, 0, 1, 4, 0, 0, 0, 0)));
  const m = await sim.until(server.recvmsg(100, 0, { signal: sim.signal }));
  assert.equal(td.decode(m.data), "x");
});

Deno.test("dual-stack sockets serve IPv4 clients as ::ffff:a.b.c.d; IPV6_V6ONLY refuses them", async () => {
  const { sim, a, b, ctx } = twoV6Hosts();
  await sim.run(1500, 5);
  const { s, peer } = await tcpPair(sim, a, b, in4("10.0.0.2", 8080), abi.AF_INET6);
  assert.equal(peer.family, 10);
  assert.equal((peer as { addr: string }).addr, "::ffff:10.0.0.1");
  assert.deepEqual(s.getsockname(), in6("::ffff:10.0.0.2", 8080));
  const u6 = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  u6.bind(in6("::", 53));
  const u4 = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  await u4.sendmsg(te.encode("v4 query"), 0, in4("10.0.0.2", 53), ctx);
  const q = await sim.until(u6.recvmsg(100, 0, ctx));
  assert.deepEqual(q.addr, in6("::ffff:10.0.0.1", u4.localPort));
  await u6.sendmsg(te.encode("v4 answer"), 0, q.addr, ctx);
  const ans = await sim.until(u4.recvmsg(100, 0, ctx));
  assert.equal(td.decode(ans.data), "v4 answer");
  assert.deepEqual(ans.addr, in4("10.0.0.2", 53));

  const only = b.createSocket(abi.AF_INET6, abi.SOCK_STREAM, 0) as TcpSocket;
  only.setsockopt(abi.IPPROTO_IPV6, abi.IPV6_V6ONLY, 1);
  only.bind(in6("::", 8081));
  only.listen(4);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await assert.rejects(
    sim.until(c.connect(in4("10.0.0.2", 8081), ctx)),
    (e: ErrnoError) => e.code === "ECONNREFUSED",
  );
});

Deno.test("IPV6_JOIN_GROUP: members hear a group, others filter it at the MAC; loopback copy", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan"] });
  const b = sim.host("b", { eth0: ["lan"] });
  const c = sim.host("c", { eth0: ["lan"] });
  const ctx = { signal: sim.signal };
  await sim.run(1500, 5);
  const group = "ff02::1234";
  const members = [a, b].map((t) => {
    const s = t.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
    s.bind(in6("::", 5000));
    s.setsockopt(abi.IPPROTO_IPV6, abi.IPV6_JOIN_GROUP, { multiaddr: group, interface: "eth0" });
    return s;
  });
  const outsider = c.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
  outsider.bind(in6("::", 5000));
  const reportsBefore = b.counters.get("mld: report-sent") ?? 0;
  assert.ok(reportsBefore >= 1);
  await members[0].sendmsg(te.encode("to the group"), 0, in6(group, 5000, eth0(a).index), ctx);
  const got = await sim.until(members[1].recvmsg(100, 0, ctx));
  assert.equal(td.decode(got.data), "to the group");
  assert.deepEqual(got.addr, in6(linkLocal(a), members[0].localPort, eth0(b).index));
  const self = await sim.until(members[0].recvmsg(100, 0, ctx));
  assert.equal(td.decode(self.data), "to the group", "IPV6_MULTICAST_LOOP is on by default");
  assert.equal(outsider.readiness() & abi.POLLIN, 0);
  assert.ok((eth0(c).stats.drops["eth: multicast-not-joined"] ?? 0) >= 1);
  members[1].setsockopt(abi.IPPROTO_IPV6, abi.IPV6_LEAVE_GROUP, { multiaddr: group });
  assert.equal(eth0(b).groups6.has(group), false);
});

Deno.test("a Serin router forwards between prefixes; hop limit 1 yields time exceeded", async () => {
  const sim = new Sim();
  const r = sim.host("r", { eth0: ["lan1"], eth1: ["lan2"] }, { forwarding: true });
  addAddr(r, "2001:db8:1::1/64", "eth0");
  addAddr(r, "2001:db8:2::1/64", "eth1");
  const a = sim.host("a", { eth0: ["lan1"] });
  const b = sim.host("b", { eth0: ["lan2"] });
  const ctx = { signal: sim.signal };
  await sim.run(3000, 5);
  const bGlobal = formatIPv6(eui64Address(parseIPv6("2001:db8:2::")!, eth0(b).mac));
  const reply = await ping(sim, a, bGlobal);
  assert.deepEqual(reply.addr, in6(bGlobal, 0));
  const raw = a.createSocket(abi.AF_INET6, abi.SOCK_RAW, abi.IPPROTO_ICMPV6) as Raw6Socket;
  raw.setsockopt(abi.IPPROTO_IPV6, abi.IPV6_UNICAST_HOPS, 1);
  await raw.sendmsg(echoRequest(9, 9, te.encode("ttl")), 0, in6(bGlobal, 0), ctx);
  let m;
  do m = await sim.until(raw.recvmsg(2000, 0, ctx)); while (m.data[0] === 128);
  assert.equal(m.data[0], 3, "time exceeded");
  assert.deepEqual(m.addr, in6("2001:db8:1::1", 0));
  assert.equal(r.counters.get("ipv6: hop-limit-exceeded"), 1);
});

Deno.test("RA lifetimes: the SLAAC address deprecates then expires, the default route times out", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan"] });
  await sim.run(1500, 5);
  const router = parseIPv6("fe80::99")!;
  const allNodes = parseIPv6("ff02::1")!;
  const ra = encodeIcmpv6({
    kind: "ndp",
    message: {
      kind: "router-advert",
      curHopLimit: 32,
      managed: false,
      other: false,
      routerLifetime: 30,
      reachableTime: 0,
      retransTimer: 0,
      options: [
        { kind: "source-lladdr", addr: Uint8Array.of(2, 0, 0, 0, 0x99, 0) },
        {
          kind: "prefix-info",
          prefixLength: 64,
          onLink: true,
          autonomous: true,
          validLifetime: 20,
          preferredLifetime: 10,
          prefix: parseIPv6("2001:db8:7::")!,
        },
      ],
    },
  }, { src: router, dst: allNodes });
  const ip = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: 58,
    hopLimit: 255,
    src: router,
    dst: allNodes,
    payload: ra,
  });
  const f = new Uint8Array(14 + ip.length);
  f.set([0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0x99, 0, 0x86, 0xdd]);
  f.set(ip, 14);
  a.input(eth0(a), f);
  const slaac = formatIPv6(eui64Address(parseIPv6("2001:db8:7::")!, eth0(a).mac));
  assert.equal(addrState(a, slaac), "tentative");
  assert.equal(a.hopLimit6, 32);
  await sim.run(1500, 5);
  assert.equal(addrState(a, slaac), "preferred");
  assert.equal(a.route6(parseIPv6("2001:4860::1")!)?.nextHop.join(), router.join());
  await sim.run(10_000, 100);
  assert.equal(addrState(a, slaac), "deprecated");
  await sim.run(10_000, 100);
  assert.equal(addrState(a, slaac), undefined);
  await sim.run(10_000, 100);
  assert.equal(a.route6(parseIPv6("2001:4860::1")!), undefined);
  // The same RA with a hop limit below 255 is ignored (RFC 4861 §6.1.2).
  f[14 + 7] = 254;
  a.input(eth0(a), f);
  assert.equal(eth0(a).stats.drops["ndp: bad-hop-limit"], 1);
});

Deno.test("an interface brought down and up runs DAD again", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan"] });
  sim.host("b", { eth0: ["lan"] });
  await sim.run(1500, 5);
  assert.equal(addrState(a, linkLocal(a)), "preferred");
  runNetctl(a, { op: "iflink", iface: "eth0", up: false });
  runNetctl(a, { op: "iflink", iface: "eth0", up: true });
  assert.equal(addrState(a, linkLocal(a)), "tentative");
  await sim.run(1500, 5);
  assert.equal(addrState(a, linkLocal(a)), "preferred");
  assert.equal(a.counters.get("ndp: dad-ok"), 2);
});

Deno.test("a host reaches its own addresses (::1, link-local with scope, global) through loopback", async () => {
  const { sim, a, ctx } = twoV6Hosts();
  await sim.run(1500, 5);
  for (
    const [addr, scope] of [["::1", 0], [linkLocal(a), eth0(a).index], ["2001:db8::1", 0]] as const
  ) {
    const s = a.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
    s.bind(in6("::", 6000));
    const c = a.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0) as Udp6Socket;
    await c.sendmsg(te.encode(addr), 0, in6(addr, 6000, scope || undefined), ctx);
    const m = await sim.until(s.recvmsg(100, 0, ctx));
    assert.equal(td.decode(m.data), addr);
    s.release();
    c.release();
  }
  assert.equal(eth0(a).stats.txPackets > 0, true);
  assert.equal(a.ipv6.neighbours.get(eth0(a), parseIPv6("2001:db8::1")!), undefined);
});

Deno.test("a Serin router answers router solicitations, at most one RA per 3 s", async () => {
  const sim = new Sim();
  const r = sim.host("r", { eth0: ["lan"] }, { forwarding: true });
  addAddr(r, "2001:db8:1::1/64");
  const a = sim.host("a", { eth0: ["lan"] });
  await sim.run(5000, 5);
  const before = r.counters.get("ndp: ra-sent") ?? 0;
  assert.ok(before >= 1);
  const src = linkLocalFromMac(eth0(a).mac);
  const allRouters = parseIPv6("ff02::2")!;
  const rs = encodeIcmpv6({
    kind: "ndp",
    message: { kind: "router-solicit", options: [{ kind: "source-lladdr", addr: eth0(a).mac }] },
  }, { src, dst: allRouters });
  const ip = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: 58,
    hopLimit: 255,
    src,
    dst: allRouters,
    payload: rs,
  });
  const f = new Uint8Array(14 + ip.length);
  f.set([0x33, 0x33, 0, 0, 0, 2, ...eth0(a).mac, 0x86, 0xdd]);
  f.set(ip, 14);
  for (let i = 0; i < 50; i++) r.input(eth0(r), f);
  await sim.run(3500, 5);
  const sent = (r.counters.get("ndp: ra-sent") ?? 0) - before;
  assert.ok(sent >= 1 && sent <= 2, `${sent} RAs for 50 solicitations`);
  assert.ok((r.counters.get("ndp: rs-answer-delayed") ?? 0) >= 48);
});
