/**
 * IP-layer RFC edge cases at the packet level (issue #15, "IP"), under a manual clock: frames are
 * built by hand, injected into a NetworkTask, and what it puts on the wire is recorded.
 * - martians (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7, RFC 4291 §2.5.3/§2.7) are dropped, counted and
 *   never answered, nor are ARP requests from martian senders;
 * - a router that must fragment a forwarded fragment again keeps its ID, offsets and MF
 *   (RFC 791 §3.2);
 * - atomic fragments are never merged with a datagram in progress (RFC 6946), a reassembled
 *   datagram over 65,535 bytes is dropped and counted;
 * - an IPv6 routing header with Segments Left 0 is skipped (RFC 8200 §4.4, RFC 5095), a first
 *   fragment without the whole header chain draws Parameter Problem code 3 (RFC 7112).
 * Each case says what Linux does; the modules they test cite the Linux functions. The same
 * frames, sent to Linux 6.18 in a network namespace through a veth (AF_PACKET), drew the same
 * answers, but for a directed-broadcast source: Linux answers it with rp_filter 0 (the kernel's
 * default) and drops it with rp_filter 1 or 2 (systemd's default), as here.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import type { LinkPort } from "../drivers/link/port.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { runNetctl } from "../netstack/netctl.ts";
import type { Raw6Socket } from "../netstack/sockets/raw6_socket.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { parseIPv4, parseIPv6 } from "../netstack/wire/addr.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../netstack/wire/checksum.ts";
import { ArpOp, encodeArp } from "../netstack/wire/arp.ts";
import { encodeEthernet } from "../netstack/wire/ethernet.ts";
import { parseIpv4 } from "../netstack/wire/ipv4.ts";
import { encodeIpv6 } from "../netstack/wire/ipv6.ts";
import { encodeTcp, TcpFlag } from "../netstack/wire/tcp.ts";
import { encodeUdp } from "../netstack/wire/udp.ts";
import { Sim } from "./sim.ts";
import { concat, frag6, frameRecorder, ipv4Datagram } from "./_packets.ts";

const te = new TextEncoder();
const td = new TextDecoder();
const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const in6 = (addr: string, port: number) => ({ family: 10 as const, addr, port });
const ip4 = (s: string) => parseIPv4(s)!;
const ip6 = (s: string) => parseIPv6(s)!;

const recorder = frameRecorder;

const eth0 = (t: NetworkTask) => t.iface("eth0")!;

/** An Ethernet frame from `from`'s eth0 to `to`'s eth0. */
function frame(from: NetworkTask, to: NetworkTask, ethertype: number, payload: Uint8Array) {
  return encodeEthernet({ dst: eth0(to).mac, src: eth0(from).mac, ethertype, payload });
}

const ipv4 = ipv4Datagram;

function syn(src: number, dst: number, dstPort: number): Uint8Array {
  return encodeTcp({
    srcPort: 40000,
    dstPort,
    seq: 1000,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 65535,
    urgent: 0,
    options: { mss: 1460 },
    payload: new Uint8Array(0),
  }, { pseudoSum: pseudoHeaderSum4(src, dst, 6, 24) });
}

function udp4(src: number, dst: number, dstPort: number, data: Uint8Array): Uint8Array {
  return encodeUdp({ srcPort: 40000, dstPort, payload: data }, {
    pseudoSum: pseudoHeaderSum4(src, dst, 17, 8 + data.length),
  });
}

function udp6(src: Uint8Array, dst: Uint8Array, dstPort: number, data: Uint8Array): Uint8Array {
  return encodeUdp({ srcPort: 40000, dstPort, payload: data }, {
    pseudoSum: pseudoHeaderSum6(src, dst, 17, 8 + data.length),
  });
}

function ipv6(src: Uint8Array, dst: Uint8Array, nextHeader: number, payload: Uint8Array) {
  return encodeIpv6({ trafficClass: 0, flowLabel: 0, nextHeader, hopLimit: 64, src, dst, payload });
}

/** The IPv4 datagrams among recorded frames. */
function ipv4Sent(frames: Uint8Array[]) {
  return frames.filter((f) => f[12] === 0x08 && f[13] === 0x00).map((f) =>
    parseIpv4(f.subarray(14))
  );
}

function v6Hosts(opts: { wrapB?: (p: LinkPort) => LinkPort } = {}) {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] }, { wrap: opts.wrapB });
  runNetctl(a, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::1/64" });
  runNetctl(b, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::2/64" });
  return { sim, a, b, ctx: { signal: sim.signal } };
}

const A6 = ip6("2001:db8::1");
const B6 = ip6("2001:db8::2");

// ---- martians ----

Deno.test("IPv4 martians on eth0 (127/8, 0/8, broadcast, multicast, our own source) are dropped, counted, never answered", async () => {
  const sim = new Sim();
  const rec = recorder();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] }, { wrap: rec.wrap });
  const ctx = { signal: sim.signal };
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 80));
  l.listen(8);
  const dhcp = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  dhcp.bind(in4("0.0.0.0", 67));
  await sim.run(50, 5);
  rec.sent[0].length = 0;
  const cases: [string, string, "martian-source" | "martian-destination"][] = [
    ["10.0.0.1", "127.0.0.1", "martian-destination"], // Linux 6.18 gives no answer; Serin did
    ["10.0.0.1", "127.1.2.3", "martian-destination"],
    ["10.0.0.1", "0.0.0.0", "martian-destination"],
    ["127.0.0.1", "10.0.0.2", "martian-source"],
    ["0.0.0.7", "10.0.0.2", "martian-source"],
    ["224.0.0.9", "10.0.0.2", "martian-source"],
    ["255.255.255.255", "10.0.0.2", "martian-source"],
    ["10.0.0.255", "10.0.0.2", "martian-source"], // directed broadcast of eth0's subnet
    ["10.0.0.2", "10.0.0.2", "martian-source"], // LAND: our own address as source
  ];
  for (const [src, dst] of cases) {
    const s = ip4(src), d = ip4(dst);
    b.input(
      eth0(b),
      frame(a, b, 0x0800, ipv4({ src: s, dst: d, protocol: 6, payload: syn(s, d, 80) })),
    );
    // To a port nobody holds: a datagram that is not a martian draws a port unreachable.
    b.input(
      eth0(b),
      frame(a, b, 0x0800, ipv4({ src: s, dst: d, payload: udp4(s, d, 9, te.encode("x")) })),
    );
  }
  await sim.run(500, 5);
  assert.deepEqual(
    rec.sent[0].map((f) => [...f.subarray(0, 40)]),
    [],
    "nothing goes onto the wire",
  );
  const bySide = (side: string) => cases.filter((c) => c[2] === side).length * 2;
  assert.equal(b.counters.get("ipv4: martian-destination"), bySide("martian-destination"));
  assert.equal(b.counters.get("ipv4: martian-source"), bySide("martian-source"));
  assert.equal(eth0(b).stats.drops["ipv4: martian-source"], bySide("martian-source"));
  assert.equal(b.counters.get("udp: no-port"), undefined);
  assert.equal(l.listener!.halfOpen, 0);

  // What Linux lets through: a DHCP client without an address, and a genuine SYN.
  const bcast = ip4("255.255.255.255");
  b.input(
    eth0(b),
    frame(
      a,
      b,
      0x0800,
      ipv4({ src: 0, dst: bcast, payload: udp4(0, bcast, 67, te.encode("discover")) }),
    ),
  );
  const got = await sim.until(dhcp.recvmsg(100, 0, ctx));
  assert.equal(td.decode(got.data), "discover");
  const [aIp, bIp] = [ip4("10.0.0.1"), ip4("10.0.0.2")];
  b.input(
    eth0(b),
    frame(a, b, 0x0800, ipv4({ src: aIp, dst: bIp, protocol: 6, payload: syn(aIp, bIp, 80) })),
  );
  await sim.run(100, 5);
  const synAck = ipv4Sent(rec.sent[0]).find((p) =>
    p.protocol === 6 && (p.payload[13] & 0x12) === 0x12
  );
  assert.ok(synAck, "a genuine SYN is answered");
  assert.equal(synAck.src, bIp);
});

Deno.test("ARP requests from martian senders or for 127/8 are not learned or answered (Linux arp_process)", async () => {
  const sim = new Sim();
  const rec = recorder();
  sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] }, { wrap: rec.wrap });
  await sim.run(50, 5);
  rec.sent[0].length = 0;
  const mac = Uint8Array.of(2, 0x99, 0, 0, 0, 1);
  const request = (sender: string, target: string) =>
    b.input(
      eth0(b),
      encodeEthernet({
        dst: new Uint8Array(6).fill(0xff),
        src: mac,
        ethertype: 0x0806,
        payload: encodeArp({
          op: ArpOp.REQUEST,
          senderMac: mac,
          senderIp: ip4(sender),
          targetMac: new Uint8Array(6),
          targetIp: ip4(target),
        }),
      }),
    );
  for (const s of ["127.0.0.1", "224.0.0.5", "10.0.0.255", "10.0.0.2", "0.1.2.3"]) {
    request(s, "10.0.0.2");
  }
  request("10.0.0.77", "127.0.0.1");
  await sim.run(50, 5);
  assert.deepEqual(rec.sent[0], []);
  assert.equal(b.counters.get("arp: martian"), 6);
  assert.deepEqual(b.ipv4.neighbourList(), []);
  // A genuine neighbour, and a probe from 0.0.0.0 (RFC 5227), are answered.
  request("10.0.0.77", "10.0.0.2");
  request("0.0.0.0", "10.0.0.2");
  await sim.run(50, 5);
  assert.equal(rec.sent[0].filter((f) => f[12] === 8 && f[13] === 6 && f[21] === 2).length, 2);
});

Deno.test("a source-routed datagram (LSRR/SSRR) is dropped; malformed options draw Parameter Problem; as Linux", async () => {
  const sim = new Sim();
  const rec = recorder();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] }, { wrap: rec.wrap });
  const rx = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  rx.bind(in4("0.0.0.0", 7));
  const [s, d] = [ip4("10.0.0.1"), ip4("10.0.0.2")];
  for (const type of [0x83, 0x89]) {
    const options = Uint8Array.of(1, type, 7, 4, 10, 0, 0, 9);
    b.input(
      eth0(b),
      frame(
        a,
        b,
        0x0800,
        ipv4({ src: s, dst: d, options, payload: udp4(s, d, 7, te.encode("sr")) }),
      ),
    );
  }
  // Router alert alone is fine.
  const ra = Uint8Array.of(0x94, 4, 0, 0);
  b.input(
    eth0(b),
    frame(
      a,
      b,
      0x0800,
      ipv4({ src: s, dst: d, options: ra, payload: udp4(s, d, 7, te.encode("ra")) }),
    ),
  );
  const got = await sim.until(rx.recvmsg(100, 0, { signal: sim.signal }));
  assert.equal(td.decode(got.data), "ra");
  assert.equal(b.counters.get("ipv4: source-route"), 2);
  // A malformed option list (a timestamp of length 1): Parameter Problem at byte 21, as Linux's
  // ip_options_compile(), and the datagram is not delivered.
  const bad = Uint8Array.of(1, 0x44, 1, 0);
  b.input(
    eth0(b),
    frame(
      a,
      b,
      0x0800,
      ipv4({ src: s, dst: d, options: bad, payload: udp4(s, d, 7, te.encode("bad")) }),
    ),
  );
  await sim.run(20, 1);
  assert.equal(b.counters.get("ipv4: bad-options"), 1);
  assert.equal(b.counters.get("icmp: sent param-problem"), 1);
  const sentPp = ipv4Sent(rec.sent[0]).find((p) => p.protocol === 1 && p.payload[0] === 12);
  assert.equal(sentPp?.payload[4], 21, "pointer");
  await assert.rejects(rx.recvmsg(100, abi.MSG_DONTWAIT, { signal: sim.signal }));
});

Deno.test("a martian is not forwarded by a router either", async () => {
  const sim = new Sim();
  const rec = recorder();
  const a = sim.host("a", { eth0: ["lan1", "10.0.1.1/24"] });
  const r = sim.host("r", { eth0: ["lan1", "10.0.1.254/24"], eth1: ["lan2", "10.0.2.254/24"] }, {
    forwarding: true,
    wrap: rec.wrap,
  });
  await sim.run(50, 5);
  rec.sent[1].length = 0;
  const [src, dst] = [ip4("127.0.0.1"), ip4("10.0.2.1")];
  r.input(
    eth0(r),
    frame(a, r, 0x0800, ipv4({ src, dst, payload: udp4(src, dst, 9, te.encode("x")) })),
  );
  await sim.run(100, 5);
  assert.deepEqual(rec.sent[1], []);
  assert.equal(r.counters.get("ipv4: martian-source"), 1);
  assert.equal(r.counters.get("ipv4: forwarded"), undefined);
});

Deno.test("IPv6 martians (::1 off loopback, multicast source, ff01::/ff00:: destinations) are dropped, counted, never answered", async () => {
  const { sim, a, b } = v6Hosts();
  await sim.run(1500, 5);
  const cases: [string, string][] = [
    ["::1", "2001:db8::2"],
    ["ff02::1", "2001:db8::2"],
    ["2001:db8::1", "::1"],
    ["2001:db8::1", "ff01::1"],
    ["2001:db8::1", "ff00::1"],
  ];
  for (const [src, dst] of cases) {
    const [s, d] = [ip6(src), ip6(dst)];
    b.input(eth0(b), frame(a, b, 0x86dd, ipv6(s, d, 17, udp6(s, d, 9, te.encode("x")))));
  }
  await sim.run(200, 5);
  assert.equal(b.counters.get("ipv6: martian-source"), 2);
  assert.equal(b.counters.get("ipv6: martian-destination"), 3);
  assert.equal(eth0(b).stats.drops["ipv6: martian-destination"], 3);
  assert.equal(b.counters.get("icmpv6: sent dst-unreachable"), undefined);
  // The same datagram from a genuine source gets its port unreachable.
  b.input(eth0(b), frame(a, b, 0x86dd, ipv6(A6, B6, 17, udp6(A6, B6, 9, te.encode("x")))));
  await sim.run(200, 5);
  assert.equal(b.counters.get("icmpv6: sent dst-unreachable"), 1);
});

// ---- forwarding re-fragmentation ----

Deno.test("a router cutting forwarded fragments again keeps ID, offsets and MF; the receiver reassembles", async () => {
  const sim = new Sim();
  const rec = recorder();
  const a = sim.host("a", { eth0: ["lan1", "10.0.1.1/24"] });
  const r = sim.host("r", { eth0: ["lan1", "10.0.1.254/24"], eth1: ["lan2", "10.0.2.254/24"] }, {
    forwarding: true,
    wrap: rec.wrap,
  });
  const b = sim.host("b", { eth0: ["lan2", "10.0.2.1/24"] });
  sim.route("a", "10.0.2.0/24", "10.0.1.254");
  sim.route("b", "10.0.1.0/24", "10.0.2.254");
  r.iface("eth1")!.mtu = 600;
  const ctx = { signal: sim.signal };
  const rx = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  rx.bind(in4("0.0.0.0", 7001));
  const tx = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  await sim.run(50, 5);
  rec.sent[1].length = 0;
  // 3000 bytes: a sends three fragments (1480, 1480, 48 bytes of the 3008-byte UDP datagram).
  const big = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 255);
  await sim.until(tx.sendmsg(big, 0, in4("10.0.2.1", 7001), ctx));
  const got = await sim.until(rx.recvmsg(65536, 0, ctx));
  assert.deepEqual(got.data, big);
  const pieces = ipv4Sent(rec.sent[1]).filter((p) => p.protocol === 17);
  assert.ok(pieces.length >= 7, `${pieces.length} pieces`);
  assert.ok(pieces.every((p) => p.ident === pieces[0].ident), "one identification");
  assert.ok(pieces.every((p) => 20 + p.payload.length <= 600));
  pieces.sort((x, y) => x.fragmentOffset - y.fragmentOffset);
  let at = 0;
  for (const p of pieces) {
    assert.equal(p.fragmentOffset, at);
    at += p.payload.length;
  }
  assert.equal(at, 3008);
  assert.deepEqual(pieces.map((p) => p.moreFragments), pieces.map((_, i) => i < pieces.length - 1));
  assert.equal(b.counters.get("ipv4: reassembly-oversize"), undefined);
});

// ---- fragments ----

Deno.test("IPv4: a whole datagram with a pending datagram's ID is delivered on its own; an oversized reassembly is dropped and counted", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  const ctx = { signal: sim.signal };
  const rx = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  rx.bind(in4("0.0.0.0", 7001));
  const [s, d] = [ip4("10.0.0.1"), ip4("10.0.0.2")];
  const inject = (ip: Parameters<typeof ipv4>[0]) =>
    b.input(eth0(b), frame(a, b, 0x0800, ipv4({ ident: 7, ...ip })));
  const x = udp4(s, d, 7001, te.encode("first datagram.")); // 23 bytes
  inject({ src: s, dst: d, moreFragments: true, payload: x.subarray(0, 16) });
  inject({ src: s, dst: d, payload: udp4(s, d, 7001, te.encode("atomic")) });
  assert.equal(td.decode((await sim.until(rx.recvmsg(100, 0, ctx))).data), "atomic");
  assert.equal(b.ipv4.reassembly.size, 1, "the pending datagram is untouched");
  inject({ src: s, dst: d, fragmentOffset: 16, payload: x.subarray(16) });
  assert.equal(td.decode((await sim.until(rx.recvmsg(100, 0, ctx))).data), "first datagram.");

  // 65,530 bytes of payload behind a 20-byte header: 65,550 bytes (Linux: "Oversized IP packet").
  const total = 65530;
  for (let off = 0; off < total; off += 1480) {
    const len = Math.min(1480, total - off);
    inject({
      src: s,
      dst: d,
      ident: 8,
      fragmentOffset: off,
      moreFragments: off + len < total,
      payload: new Uint8Array(len),
    });
  }
  await sim.run(10, 1);
  assert.equal(b.counters.get("ipv4: reassembly-oversize"), 1);
  assert.equal(eth0(b).stats.drops["ipv4: reassembly-oversize"], 1);
  assert.deepEqual([...b.counters.keys()].filter((k) => k.startsWith("bug")), []);
  assert.equal(b.ipv4.reassembly.size, 0);
});

Deno.test("IPv6: an atomic fragment is processed alone, the pending datagram still completes; oversize is dropped", async () => {
  const { sim, a, b, ctx } = v6Hosts();
  await sim.run(1500, 5);
  const server = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  server.bind(in6("::", 7));
  const inject = (payload: Uint8Array, nh = 44) =>
    b.input(eth0(b), frame(a, b, 0x86dd, ipv6(A6, B6, nh, payload)));
  const x = udp6(A6, B6, 7, te.encode("first datagram.")); // 23 bytes
  inject(frag6(17, 0, true, 42, x.subarray(0, 16)));
  inject(frag6(17, 0, false, 42, udp6(A6, B6, 7, te.encode("atomic"))));
  assert.equal(td.decode((await sim.until(server.recvmsg(100, 0, ctx))).data), "atomic");
  assert.equal(b.ipv6.reassembly.size, 1);
  inject(frag6(17, 16, false, 42, x.subarray(16)));
  assert.equal(td.decode((await sim.until(server.recvmsg(100, 0, ctx))).data), "first datagram.");
  assert.equal(b.counters.get("ipv6: frag-overlap"), undefined);

  // A destination options header in front of the fragment header plus 65,528 bytes of data make
  // a Payload Length of 65,536 (Linux ip6_frag_reasm: out_oversize).
  const dest = Uint8Array.of(44, 0, 1, 4, 0, 0, 0, 0);
  const total = 65528;
  for (let off = 0; off < total; off += 1440) {
    const len = Math.min(1440, total - off);
    const data = new Uint8Array(len);
    if (off === 0) data.set(udp6(A6, B6, 7, new Uint8Array(0)).subarray(0, 8));
    inject(concat(dest, frag6(17, off, off + len < total, 43, data)), 60);
  }
  await sim.run(10, 1);
  assert.equal(b.counters.get("ipv6: reassembly-oversize"), 1);
  assert.equal(b.ipv6.reassembly.size, 0);
});

// ---- IPv6 extension headers ----

/** Wait on `raw` for an ICMPv6 message of `type`, skipping neighbour discovery and the like. */
async function nextIcmp6(sim: Sim, raw: Raw6Socket, type: number): Promise<Uint8Array> {
  for (;;) {
    const m = await sim.until(raw.recvmsg(2000, 0, { signal: sim.signal }));
    if (m.data[0] === type) return m.data;
  }
}

Deno.test("IPv6 routing header: Segments Left 0 (type 0 too) is skipped; > 0 draws Parameter Problem", async () => {
  const { sim, a, b, ctx } = v6Hosts();
  await sim.run(1500, 5);
  const server = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  server.bind(in6("::", 7));
  const raw = a.createSocket(abi.AF_INET6, abi.SOCK_RAW, abi.IPPROTO_ICMPV6) as Raw6Socket;
  const inject = (dst: Uint8Array, rh: Uint8Array, text: string) =>
    b.input(
      eth0(b),
      frame(a, b, 0x86dd, ipv6(A6, dst, 43, concat(rh, udp6(A6, dst, 7, te.encode(text))))),
    );
  // RFC 5095 type 0 with one address left to visit… none: Segments Left 0.
  const rh0 = (segmentsLeft: number) =>
    concat(Uint8Array.of(17, 2, 0, segmentsLeft, 0, 0, 0, 0), A6);
  inject(B6, rh0(0), "rh0 done");
  assert.equal(td.decode((await sim.until(server.recvmsg(100, 0, ctx))).data), "rh0 done");
  inject(B6, Uint8Array.of(17, 0, 253, 0, 0, 0, 0, 0), "unknown type done");
  assert.equal(td.decode((await sim.until(server.recvmsg(100, 0, ctx))).data), "unknown type done");
  // Segments Left 1: Parameter Problem code 0 pointing at the Routing Type (40 + 2), as Linux.
  inject(B6, rh0(1), "rh0 pending");
  const pp = await nextIcmp6(sim, raw, 4);
  assert.deepEqual([pp[1], new DataView(pp.buffer, pp.byteOffset).getUint32(4)], [0, 42]);
  assert.equal(eth0(b).stats.drops["ipv6: routing-type-0"], 1);
  // Towards a multicast group: dropped, whatever Segments Left says (Linux ipv6_rthdr_rcv).
  inject(ip6("ff02::1"), rh0(0), "to a group");
  await sim.run(50, 5);
  assert.equal(eth0(b).stats.drops["ipv6: routing-to-multicast"], 1);
});

Deno.test("IPv6 first fragment without the whole header chain: dropped, Parameter Problem code 3 pointer 0 (RFC 7112, as Linux)", async () => {
  const { sim, a, b } = v6Hosts();
  await sim.run(1500, 5);
  const raw = a.createSocket(abi.AF_INET6, abi.SOCK_RAW, abi.IPPROTO_ICMPV6) as Raw6Socket;
  const inject = (payload: Uint8Array) =>
    b.input(eth0(b), frame(a, b, 0x86dd, ipv6(A6, B6, 44, payload)));
  // TCP needs 20 bytes of header; the first fragment holds 8.
  inject(frag6(6, 0, true, 77, new Uint8Array(8)));
  let pp = await nextIcmp6(sim, raw, 4);
  assert.deepEqual([pp[1], new DataView(pp.buffer, pp.byteOffset).getUint32(4)], [3, 0]);
  // A destination options header after the fragment header, cut short.
  inject(frag6(60, 0, true, 78, Uint8Array.of(17, 1, 1, 4, 0, 0, 0, 0)));
  pp = await nextIcmp6(sim, raw, 4);
  assert.equal(pp[1], 3);
  assert.equal(b.counters.get("ipv6: frag-incomplete-chain"), 2);
  assert.equal(b.ipv6.reassembly.size, 0, "nothing was held");
  // A later fragment, and a first fragment holding a whole UDP header, are taken as before.
  inject(frag6(6, 8, true, 79, new Uint8Array(8)));
  inject(frag6(17, 0, true, 80, new Uint8Array(8)));
  assert.equal(b.ipv6.reassembly.size, 2);
  assert.equal(b.counters.get("ipv6: frag-incomplete-chain"), 2);
});

Deno.test("IPv6: bad fragments (RFC 8200 §4.5), bad padding (RFC 4942) and a late hop-by-hop header, as Linux", async () => {
  const { sim, a, b } = v6Hosts();
  await sim.run(1500, 5);
  const raw = a.createSocket(abi.AF_INET6, abi.SOCK_RAW, abi.IPPROTO_ICMPV6) as Raw6Socket;
  const inject = (nh: number, payload: Uint8Array) =>
    b.input(eth0(b), frame(a, b, 0x86dd, ipv6(A6, B6, nh, payload)));
  const pointerOf = (pp: Uint8Array) => new DataView(pp.buffer, pp.byteOffset).getUint32(4);
  // M set and 12 bytes: not a multiple of 8, pointer at the Payload Length (byte 4).
  inject(44, frag6(17, 0, true, 81, new Uint8Array(12)));
  let pp = await nextIcmp6(sim, raw, 4);
  assert.deepEqual([pp[1], pointerOf(pp)], [0, 4]);
  // Offset 65,528 plus 16 bytes: past 65,535, pointer at the Fragment Offset (40 + 2).
  inject(44, frag6(17, 65528, false, 82, new Uint8Array(16)));
  pp = await nextIcmp6(sim, raw, 4);
  assert.deepEqual([pp[1], pointerOf(pp)], [0, 42]);
  assert.equal(b.counters.get("ipv6: frag-invalid"), 2);
  assert.equal(b.ipv6.reassembly.size, 0);
  // Padding Linux's ip6_parse_tlv() refuses: a PadN with a non-zero byte, 12 bytes of PadN.
  const server = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  server.bind(in6("::", 7));
  const udp = udp6(A6, B6, 7, te.encode("padded"));
  inject(60, concat(Uint8Array.of(17, 0, 1, 4, 0, 1, 0, 0), udp));
  inject(60, concat(Uint8Array.of(17, 1, 1, 12, ...new Array(12).fill(0)), udp));
  assert.equal(b.counters.get("ipv6: options-padding"), 2);
  inject(60, concat(Uint8Array.of(17, 0, 1, 4, 0, 0, 0, 0), udp));
  const m = await sim.until(server.recvmsg(100, 0, { signal: sim.signal }));
  assert.equal(td.decode(m.data), "padded");
  // A hop-by-hop header after a destination options header: code 1 at the field naming it.
  inject(60, concat(Uint8Array.of(0, 0, 1, 4, 0, 0, 0, 0), Uint8Array.of(17, 0, 1, 4, 0, 0, 0, 0)));
  pp = await nextIcmp6(sim, raw, 4);
  assert.deepEqual([pp[1], pointerOf(pp)], [1, 40]);
});
