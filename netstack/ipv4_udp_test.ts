/**
 * Two and three hosts on virtual switches under a manual clock: ARP, ping, UDP, fragmentation,
 * ICMP errors, forwarding and multicast.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import { Sim } from "../tests/sim.ts";
import type { UdpSocket } from "./udp/udp_socket.ts";
import type { RawSocket } from "./sockets/raw_socket.ts";
import { encodeIcmpv4, parseIcmpv4 } from "./wire/icmpv4.ts";
import { parseIpv4 } from "./wire/ipv4.ts";
import type { ErrnoError } from "../kernel/errno.ts";
import { withSniffer } from "../drivers/link/sniffer.ts";
import { parseIgmp } from "./wire/igmp.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });

function twoHosts() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  return { sim, a, b, ctx: { signal: sim.signal } };
}

Deno.test("ping across a switch: the first echo resolves ARP, the reply comes back", async () => {
  const { sim, a, b, ctx } = twoHosts();
  const raw = a.createSocket(abi.AF_INET, abi.SOCK_RAW, abi.IPPROTO_ICMP) as RawSocket;
  const echo = encodeIcmpv4({
    kind: "echo-request",
    identifier: 7,
    sequence: 1,
    data: te.encode("ping!"),
  });
  await raw.sendmsg(echo, 0, in4("10.0.0.2", 0), ctx);
  assert.equal(a.ipv4.neighbourList()[0]?.state, "incomplete");
  const got = await sim.until(raw.recvmsg(2000, 0, ctx));
  const ip = parseIpv4(got.data);
  assert.equal(ip.src, 0x0a000002);
  const reply = parseIcmpv4(ip.payload);
  assert.deepEqual(reply, {
    kind: "echo-reply",
    identifier: 7,
    sequence: 1,
    data: te.encode("ping!"),
  });
  assert.equal(a.ipv4.neighbourList()[0].state, "reachable");
  assert.equal(a.ipv4.neighbourList()[0].mac, "02:00:00:00:02:00");
  assert.ok(
    b.ipv4.neighbourList().some((n) => n.addr === "10.0.0.1"),
    "b learned a from the request",
  );
});

Deno.test("UDP echo, and a 60,000-byte datagram crosses a 1500-MTU link fragmented", async () => {
  const { sim, a, b, ctx } = twoHosts();
  const server = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  server.bind(in4("0.0.0.0", 7));
  const client = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  const big = new Uint8Array(60000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
  await client.sendmsg(te.encode("hello"), 0, in4("10.0.0.2", 7), ctx);
  await client.sendmsg(big, 0, in4("10.0.0.2", 7), ctx);
  const m1 = await sim.until(server.recvmsg(65536, 0, ctx));
  assert.equal(td.decode(m1.data), "hello");
  assert.deepEqual(m1.addr, in4("10.0.0.1", client.localPort));
  const m2 = await sim.until(server.recvmsg(65536, 0, ctx));
  assert.equal(m2.data.length, 60000);
  assert.deepEqual(m2.data, big);
  assert.ok((a.counters.get("ipv4: fragmented") ?? 0) >= 1);
  await server.sendmsg(m1.data, 0, m1.addr, ctx);
  const back = await sim.until(client.recvmsg(100, 0, ctx));
  assert.equal(td.decode(back.data), "hello");
  assert.equal(b.ipv4.reassembly.bytesHeld, 0);
});

Deno.test("a datagram to a closed port gives ECONNREFUSED on a connected socket", async () => {
  const { sim, a, ctx } = twoHosts();
  const s = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  await s.connect(in4("10.0.0.2", 9999), ctx);
  await s.sendmsg(te.encode("anyone?"), 0, undefined, ctx);
  await assert.rejects(
    sim.until(s.recvmsg(100, 0, ctx)),
    (e: ErrnoError) => e.code === "ECONNREFUSED",
  );
});

Deno.test("ARP failure: sends to an absent host fail with EHOSTUNREACH after three requests", async () => {
  const { sim, a, ctx } = twoHosts();
  const s = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  await s.connect(in4("10.0.0.77", 53), ctx);
  await s.sendmsg(te.encode("x"), 0, undefined, ctx);
  await sim.run(2500);
  assert.equal(s.soError, 0, "still resolving after 2.5 s");
  await sim.run(600);
  assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), 113);
  // A raw ICMP socket (ping) hears a host unreachable from our own address, as on Linux.
  const raw = a.createSocket(abi.AF_INET, abi.SOCK_RAW, abi.IPPROTO_ICMP) as RawSocket;
  await raw.sendmsg(
    encodeIcmpv4({ kind: "echo-request", identifier: 1, sequence: 1, data: te.encode("x") }),
    0,
    in4("10.0.0.78", 0),
    ctx,
  );
  const err = parseIpv4((await sim.until(raw.recvmsg(2000, 0, ctx), 10_000)).data);
  assert.equal(err.src, 0x0a000001);
  const icmp = parseIcmpv4(err.payload);
  assert.equal(icmp.kind, "dst-unreachable");
  assert.equal(icmp.kind === "dst-unreachable" && icmp.code, 1);
  assert.equal(a.ipv4.neighbourList().length, 0);
});

Deno.test("TTL 1 through a forwarding host yields time exceeded; TTL 2 gets through", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["left", "10.1.0.2/24"] });
  sim.host("r", { eth0: ["left", "10.1.0.1/24"], eth1: ["right", "10.2.0.1/24"] }, {
    forwarding: true,
  });
  const c = sim.host("c", { eth0: ["right", "10.2.0.2/24"] });
  sim.route("a", "default", "10.1.0.1");
  sim.route("c", "default", "10.2.0.1");
  const ctx = { signal: sim.signal };
  const raw = a.createSocket(abi.AF_INET, abi.SOCK_RAW, abi.IPPROTO_ICMP) as RawSocket;
  const sink = c.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  sink.bind(in4("0.0.0.0", 33434));
  const probe = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  probe.setsockopt(abi.IPPROTO_IP, abi.IP_TTL, 1);
  await probe.sendmsg(te.encode("probe"), 0, in4("10.2.0.2", 33434), ctx);
  const err = await sim.until(raw.recvmsg(2000, 0, ctx));
  const ip = parseIpv4(err.data);
  assert.equal(ip.src, 0x0a010001, "from the router");
  const icmp = parseIcmpv4(ip.payload);
  assert.equal(icmp.kind, "time-exceeded");
  probe.setsockopt(abi.IPPROTO_IP, abi.IP_TTL, 2);
  await probe.sendmsg(te.encode("probe2"), 0, in4("10.2.0.2", 33434), ctx);
  const got = await sim.until(sink.recvmsg(100, 0, ctx));
  assert.equal(td.decode(got.data), "probe2");
  assert.deepEqual(got.addr, in4("10.1.0.2", probe.localPort));
});

Deno.test("multicast reaches only members", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  const c = sim.host("c", { eth0: ["lan", "10.0.0.3/24"] });
  const ctx = { signal: sim.signal };
  const member = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  member.bind(in4("0.0.0.0", 5000));
  member.setsockopt(abi.IPPROTO_IP, abi.IP_ADD_MEMBERSHIP, {
    multiaddr: "239.1.2.3",
    interface: "eth0",
  });
  const outsider = c.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  outsider.bind(in4("0.0.0.0", 5000));
  const sender = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  await sender.sendmsg(te.encode("to the group"), 0, in4("239.1.2.3", 5000), ctx);
  const got = await sim.until(member.recvmsg(100, 0, ctx));
  assert.equal(td.decode(got.data), "to the group");
  await sim.run(10);
  await assert.rejects(
    outsider.recvmsg(100, abi.MSG_DONTWAIT, ctx),
    (e: ErrnoError) => e.code === "EAGAIN",
  );
});

Deno.test("malformed frames are dropped and counted; the task keeps serving", async () => {
  const { sim, a, b, ctx } = twoHosts();
  const eth0 = b.iface("eth0")!;
  const junk: Uint8Array[] = [
    new Uint8Array(5),
    Uint8Array.of(2, 0, 0, 0, 2, 0, 2, 0, 0, 0, 1, 0, 0x08, 0x00, 0x45, 0, 0, 20),
    Uint8Array.of(2, 0, 0, 0, 2, 0, 2, 0, 0, 0, 1, 0, 0x08, 0x00, 0x41, ...new Array(40).fill(0)),
  ];
  for (const f of junk) b.input(eth0, f);
  assert.ok(eth0.stats.rxDropped >= 3, JSON.stringify(eth0.stats.drops));
  assert.equal(eth0.stats.drops["bug: exception"], undefined);
  const s = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  s.bind(in4("0.0.0.0", 7));
  const c = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  await c.sendmsg(te.encode("still here"), 0, in4("10.0.0.2", 7), ctx);
  assert.equal(td.decode((await sim.until(s.recvmsg(100, 0, ctx))).data), "still here");
});

Deno.test("joining a group sends an IGMPv2 report with TTL 1 and router alert; leaving sends a leave", async () => {
  const sim = new Sim();
  const seen: Uint8Array[] = [];
  const sniff = (p: import("../drivers/link/port.ts").LinkPort) =>
    withSniffer(p, (f, _t, dir) => dir === "out" && seen.push(f.slice()));
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap: sniff });
  const s = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0) as UdpSocket;
  s.setsockopt(abi.IPPROTO_IP, abi.IP_ADD_MEMBERSHIP, { multiaddr: "239.9.9.9" });
  s.release();
  await sim.run(5);
  const igmp = seen.filter((f) => f[12] === 8 && f[13] === 0).map((f) => parseIpv4(f.subarray(14)))
    .filter((ip) => ip.protocol === 2);
  assert.equal(igmp.length, 2);
  assert.deepEqual(igmp.map((ip) => [ip.dst, ip.ttl, ip.options[0], parseIgmp(ip.payload).kind]), [
    [0xef090909, 1, 0x94, "report-v2"],
    [0xe0000002, 1, 0x94, "leave"],
  ]);
});
