/**
 * Path MTU discovery that never black-holes, IP side (RFC 1191, RFC 8201; Linux as the oracle:
 * `__ip_rt_update_pmtu()`, `ip_dont_fragment()`, `tcp_v6_err()`): forged "fragmentation needed"
 * and Packet Too Big messages injected into a simulated host. A tiny or zero IPv4 MTU locks the
 * path at 552 and DF goes clear, an IPv6 MTU below 1280 is ignored (as Linux 6.18 ignores it;
 * tests/interop/pmtu_test.ts compares), a larger MTU than in use changes nothing, an error quoting someone
 * else's flow teaches nothing, the route shows the learnt MTU until it expires, and a DF datagram
 * over the path MTU is refused through the sender's `onTooBig` hook.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { runNetctl } from "../netstack/netctl.ts";
import type { Ipv4Send } from "../netstack/ip/route4.ts";
import { PMTU_EXPIRES_MS } from "../netstack/ip/pmtu_cache.ts";
import type { Ipv6Send } from "../netstack/ip6/route6.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { parseIPv4, parseIPv6 } from "../netstack/wire/addr.ts";
import { encodeEthernet } from "../netstack/wire/ethernet.ts";
import { encodeIcmpv4, Icmpv4DstUnreachableCode } from "../netstack/wire/icmpv4.ts";
import { encodeIcmpv6 } from "../netstack/wire/icmpv6.ts";
import { IpProtocol, parseIpv4 } from "../netstack/wire/ipv4.ts";
import { encodeIpv6, Ipv6NextHeader } from "../netstack/wire/ipv6.ts";
import { Sim } from "./sim.ts";
import { frameRecorder, ipv4Datagram } from "./_packets.ts";

const A4 = parseIPv4("10.0.0.1")!;
const B4 = parseIPv4("10.0.0.2")!;
const A6 = parseIPv6("2001:db8::1")!;
const B6 = parseIPv6("2001:db8::2")!;
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const in6 = (addr: string, port: number) => ({ family: 10 as const, addr, port });
const eth0 = (t: NetworkTask) => t.iface("eth0")!;

async function lab() {
  const sim = new Sim();
  const rec = frameRecorder();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap: rec.wrap });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  runNetctl(a, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::1/64" });
  runNetctl(b, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::2/64" });
  await sim.run(3000, 5); // IPv6 duplicate address detection
  return { sim, a, b, sent: rec.sent[0], ctx: { signal: sim.signal } };
}

/** What a sent, as IP datagrams (Ethernet header off), of one IP version. */
function sentIp(sent: Uint8Array[], version: 4 | 6): Uint8Array[] {
  const type = version === 4 ? 0x0800 : 0x86dd;
  return sent.filter((f) => ((f[12] << 8) | f[13]) === type).map((f) => f.subarray(14));
}

/** Inject into `a`, from `b`, an IPv4 "fragmentation needed" with `mtu` quoting `invoking`. */
function fragNeeded(a: NetworkTask, b: NetworkTask, invoking: Uint8Array, mtu: number) {
  const payload = encodeIcmpv4({
    kind: "dst-unreachable",
    code: Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED,
    nextHopMtu: mtu,
    invoking,
  });
  const ip = ipv4Datagram({ src: B4, dst: A4, protocol: IpProtocol.ICMP, payload });
  a.input(
    eth0(a),
    encodeEthernet({ dst: eth0(a).mac, src: eth0(b).mac, ethertype: 0x0800, payload: ip }),
  );
}

/** Inject into `a`, from `b`, an ICMPv6 Packet Too Big with `mtu` quoting `invoking`. */
function packetTooBig(a: NetworkTask, b: NetworkTask, invoking: Uint8Array, mtu: number) {
  const addrs = { src: B6, dst: A6 };
  const payload = encodeIcmpv6({ kind: "packet-too-big", mtu, invoking }, addrs);
  const ip = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: Ipv6NextHeader.ICMPV6,
    hopLimit: 64,
    ...addrs,
    payload,
  });
  a.input(
    eth0(a),
    encodeEthernet({ dst: eth0(a).mac, src: eth0(b).mac, ethertype: 0x86dd, payload: ip }),
  );
}

/** An IPv4 UDP flow a:port → b:7001 with one datagram sent; returns its quote (IP + 8 bytes). */
async function udpFlow4(L: Awaited<ReturnType<typeof lab>>, size = 1000) {
  const { sim, a, b, sent, ctx } = L;
  const rx = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  rx.bind(in4("0.0.0.0", 7001));
  const tx = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  await sim.until(tx.sendmsg(new Uint8Array(size).fill(1), 0, in4("10.0.0.2", 7001), ctx));
  await sim.run(20);
  const d = sentIp(sent, 4).filter((x) => x[9] === IpProtocol.UDP).at(-1)!;
  return { rx, tx, quote: d.slice(0, 28) };
}

for (const forged of [68, 0]) {
  Deno.test(`IPv4: a forged "fragmentation needed" with MTU ${forged} locks the path at 552: datagrams still arrive, in 552-byte pieces`, async () => {
    const L = await lab();
    const { sim, a, b, sent, ctx } = L;
    const { rx, tx, quote } = await udpFlow4(L);
    fragNeeded(a, b, quote, forged);
    assert.deepEqual(a.ipv4.pathMtu(B4), {
      mtu: 552,
      locked: true,
      expires: sim.clock.now() + PMTU_EXPIRES_MS,
    });
    assert.equal(a.counters.get("icmp: path-mtu-locked"), 1);
    assert.equal(a.route4(B4)!.mtu, 552, "the route a connect() looks up shows it");
    sent.length = 0;
    const data = Uint8Array.from({ length: 1400 }, (_, i) => i & 255);
    await sim.until(tx.sendmsg(data, 0, in4("10.0.0.2", 7001), ctx));
    await sim.run(20);
    const pieces = sentIp(sent, 4).map((p) => parseIpv4(p));
    assert.ok(pieces.length >= 3, "fragmented at 552, not at 68");
    for (const p of pieces) assert.ok(20 + p.payload.length <= 552);
    assert.ok(pieces.some((p) => 20 + p.payload.length > 500), "not shrunk below the floor");
    // Skip the first datagram (sent before the error), then the whole second one arrives.
    await sim.until(rx.recvmsg(65536, 0, ctx));
    assert.deepEqual((await sim.until(rx.recvmsg(65536, 0, ctx))).data, data);
  });
}

Deno.test("IPv4: TCP on a locked path sends without DF and its transfer completes (no black hole)", async () => {
  const L = await lab();
  const { sim, a, b, sent, ctx } = L;
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("10.0.0.2", 9000));
  l.listen(1);
  const accepted = l.accept(ctx);
  const s = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(s.connect(in4("10.0.0.2", 9000), ctx));
  const peer = (await sim.until(accepted)).socket as TcpSocket;
  await sim.run(50);
  // Quote a's last segment at SND.NXT (= SND.UNA once acknowledged): believable.
  const last = sentIp(sent, 4).filter((x) => x[9] === IpProtocol.TCP).at(-1)!;
  const q = last.slice(0, 28);
  fragNeeded(a, b, q, 68);
  assert.equal(a.ipv4.pathMtu(B4)?.locked, true);
  sent.length = 0;
  const data = Uint8Array.from({ length: 30_000 }, (_, i) => (i * 7) & 255);
  const sending = s.sendmsg(data, 0, undefined, ctx);
  const got: Uint8Array[] = [];
  let n = 0;
  while (n < data.length) {
    const r = await sim.until(peer.recvmsg(65536, 0, ctx));
    got.push(r.data);
    n += r.data.length;
  }
  await sim.until(sending);
  assert.deepEqual(Uint8Array.from(got.flatMap((g) => [...g])), data);
  const tcp = sentIp(sent, 4).map((p) => parseIpv4(p)).filter((p) => p.protocol === IpProtocol.TCP);
  assert.ok(tcp.length > 0);
  for (const p of tcp) {
    assert.ok(20 + p.payload.length <= 552, `${20 + p.payload.length} bytes on a 552 path`);
    assert.equal(p.dontFragment, false, "DF clear on a locked path (Linux ip_dont_fragment)");
  }
});

Deno.test("IPv4: a larger MTU than in use is ignored; a smaller one lowers it; it expires after 10 minutes", async () => {
  const L = await lab();
  const { sim, a, b } = L;
  const { quote } = await udpFlow4(L);
  fragNeeded(a, b, quote, 1600);
  assert.equal(a.ipv4.pathMtu(B4), undefined);
  assert.equal(a.route4(B4)!.mtu, 1500);
  fragNeeded(a, b, quote, 1400);
  assert.equal(a.route4(B4)!.mtu, 1400);
  fragNeeded(a, b, quote, 1450);
  assert.equal(a.route4(B4)!.mtu, 1400, "a path does not grow back by a report");
  sim.clock.advance(PMTU_EXPIRES_MS);
  assert.equal(a.ipv4.pathMtu(B4), undefined);
  assert.equal(a.route4(B4)!.mtu, 1500, "expired: the interface MTU again");
});

Deno.test("IPv4: a frag-needed quoting someone else's flow teaches nothing", async () => {
  const L = await lab();
  const { a, b } = L;
  const { quote } = await udpFlow4(L);
  // Another host's datagram (source 10.0.0.99) to b.
  const other = quote.slice();
  other.set([10, 0, 0, 99], 12);
  fragNeeded(a, b, other, 600);
  assert.equal(a.counters.get("icmp: error-quoting-another-host"), 1);
  // Ours by address, but from a UDP port no socket holds.
  const noSocket = quote.slice();
  noSocket[20] ^= 0x55;
  fragNeeded(a, b, noSocket, 600);
  assert.equal(a.counters.get("icmp: error-for-no-socket"), 1);
  // A TCP quote with no connection behind it.
  const tcp = quote.slice();
  tcp[9] = IpProtocol.TCP;
  fragNeeded(a, b, tcp, 600);
  assert.equal(a.ipv4.pathMtu(B4), undefined);
  assert.equal(a.route4(B4)!.mtu, 1500);
});

Deno.test("IPv4: a DF datagram over the path MTU is refused through onTooBig; on a locked path it is fragmented instead", async () => {
  const L = await lab();
  const { a, b, sent } = L;
  const { quote } = await udpFlow4(L);
  fragNeeded(a, b, quote, 1000);
  const told: Array<[Ipv4Send, number]> = [];
  const owner = { onSendError() {}, onTooBig: (d: Ipv4Send, mtu: number) => told.push([d, mtu]) };
  const d: Ipv4Send = {
    src: A4,
    dst: B4,
    protocol: IpProtocol.UDP,
    ttl: 64,
    dontFragment: true,
    payload: new Uint8Array(1200),
  };
  sent.length = 0;
  assert.equal(a.ipv4.output(a.route4(B4)!, d, owner), "EMSGSIZE");
  assert.deepEqual(told, [[d, 1000]]);
  assert.equal(sentIp(sent, 4).length, 0, "nothing was sent");
  assert.equal(
    a.ipv4.output(a.route4(B4)!, { ...d, payload: new Uint8Array(900) }, owner),
    undefined,
  );
  assert.equal(told.length, 1, "a datagram that fits is not refused");
  fragNeeded(a, b, quote, 100); // below 552 while 1000 is in use: locked at 552
  sent.length = 0;
  assert.equal(a.ipv4.output(a.route4(B4)!, d, owner), undefined);
  assert.equal(told.length, 1);
  const pieces = sentIp(sent, 4).map((p) => parseIpv4(p));
  assert.equal(pieces.length, 3);
  assert.ok(pieces.every((p) => !p.dontFragment && 20 + p.payload.length <= 552));
});

/** An IPv6 UDP flow a → [b]:7001 with one datagram sent; returns its quote. */
async function udpFlow6(L: Awaited<ReturnType<typeof lab>>, size = 1000) {
  const { sim, a, b, sent, ctx } = L;
  const rx = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  rx.bind(in6("::", 7001));
  const tx = a.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  await sim.until(tx.sendmsg(new Uint8Array(size).fill(1), 0, in6("2001:db8::2", 7001), ctx));
  await sim.run(20);
  const d = sentIp(sent, 6).filter((x) => x[6] === Ipv6NextHeader.UDP).at(-1)!;
  return { rx, tx, quote: d.slice(0, 48) };
}

Deno.test("IPv6: a Packet Too Big of 1279 is ignored, as Linux 6.18 ignores it (RFC 8200 §5); 1280 is believed", async () => {
  const L = await lab();
  const { sim, a, b, sent, ctx } = L;
  const { rx, tx, quote } = await udpFlow6(L);
  packetTooBig(a, b, quote, 1279);
  assert.equal(a.counters.get("icmpv6: ptb-below-1280"), 1);
  assert.equal(a.ipv6.pathMtu(B6), undefined);
  assert.equal(a.route6(B6)!.mtu, 1500);
  sent.length = 0;
  const big = Uint8Array.from({ length: 1400 }, (_, i) => i & 255);
  await sim.until(tx.sendmsg(big, 0, in6("2001:db8::2", 7001), ctx));
  await sim.run(20);
  const whole = sentIp(sent, 6);
  assert.equal(whole.length, 1);
  assert.equal(whole[0][6], Ipv6NextHeader.UDP, "whole, with no (atomic) fragment header");
  packetTooBig(a, b, quote, 1280);
  assert.equal(a.ipv6.pathMtu(B6)?.mtu, 1280);
  assert.equal(a.route6(B6)!.mtu, 1280);
  sent.length = 0;
  await sim.until(tx.sendmsg(big, 0, in6("2001:db8::2", 7001), ctx));
  await sim.run(20);
  const pieces = sentIp(sent, 6);
  assert.equal(pieces.length, 2);
  assert.ok(pieces.every((p) => p.length <= 1280 && p[6] === Ipv6NextHeader.FRAGMENT));
  await sim.until(rx.recvmsg(65536, 0, ctx));
  await sim.until(rx.recvmsg(65536, 0, ctx));
  assert.deepEqual((await sim.until(rx.recvmsg(65536, 0, ctx))).data, big);
});

Deno.test("IPv6: Packet Too Big larger than in use, or quoting someone else's flow, teaches nothing", async () => {
  const L = await lab();
  const { a, b } = L;
  const { quote } = await udpFlow6(L);
  packetTooBig(a, b, quote, 9000);
  assert.equal(a.ipv6.pathMtu(B6), undefined);
  const other = quote.slice();
  other[23] = 0x99; // source 2001:db8::99
  packetTooBig(a, b, other, 1300);
  assert.equal(a.counters.get("icmpv6: error-quoting-another-host"), 1);
  const noSocket = quote.slice();
  noSocket[40] ^= 0x55;
  packetTooBig(a, b, noSocket, 1300);
  assert.equal(a.counters.get("icmpv6: error-for-no-socket"), 1);
  assert.equal(a.ipv6.pathMtu(B6), undefined);
  packetTooBig(a, b, quote, 1300);
  assert.equal(a.ipv6.pathMtu(B6)?.mtu, 1300);
  L.sim.clock.advance(PMTU_EXPIRES_MS);
  assert.equal(a.ipv6.pathMtu(B6), undefined, "expired after 10 minutes");
});

Deno.test("IPv6: a Packet Too Big below 1280 quoting TCP is dropped, as Linux's tcp_v6_err does", async () => {
  const L = await lab();
  const { sim, a, b, sent, ctx } = L;
  const l = b.createSocket(abi.AF_INET6, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in6("2001:db8::2", 9000));
  l.listen(1);
  const accepted = l.accept(ctx);
  const s = a.createSocket(abi.AF_INET6, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(s.connect(in6("2001:db8::2", 9000), ctx));
  await sim.until(accepted);
  await sim.run(50);
  const last = sentIp(sent, 6).filter((x) => x[6] === Ipv6NextHeader.TCP).at(-1)!;
  packetTooBig(a, b, last.slice(0, 48), 1279);
  assert.equal(a.counters.get("icmpv6: ptb-below-1280"), 1);
  assert.equal(a.ipv6.pathMtu(B6), undefined);
  packetTooBig(a, b, last.slice(0, 48), 1400);
  assert.equal(a.ipv6.pathMtu(B6)?.mtu, 1400, "a believable one is learnt");
});

Deno.test("IPv6: an unfragmentable datagram over the path MTU is refused through onTooBig6", async () => {
  const L = await lab();
  const { a, b } = L;
  const { quote } = await udpFlow6(L);
  packetTooBig(a, b, quote, 1300);
  const told: Array<[Ipv6Send, number]> = [];
  const owner = { onSendError6() {}, onTooBig6: (d: Ipv6Send, mtu: number) => told.push([d, mtu]) };
  const d: Ipv6Send = {
    src: A6,
    dst: B6,
    nextHeader: Ipv6NextHeader.UDP,
    hopLimit: 64,
    dontFragment: true,
    payload: new Uint8Array(1300),
  };
  assert.equal(a.ipv6.output(a.route6(B6)!, d, owner), "EMSGSIZE");
  assert.deepEqual(told, [[d, 1300]]);
  assert.equal(a.ipv6.output(a.route6(B6)!, { ...d, dontFragment: false }, owner), undefined);
  assert.equal(told.length, 1, "without the flag it is fragmented, as before");
});
