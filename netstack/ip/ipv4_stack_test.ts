/**
 * The IPv4 layer's parts through its ports, against a recording host (`_test_host.ts`): output
 * and fragmentation (`output4.ts`), input and demultiplexing (`input4.ts`), ICMP (`icmp4.ts`),
 * IGMP (`igmp.ts`) and ARP (`arp.ts`), with fake TCP/UDP/raw ports standing in for the layers
 * above.
 */
import assert from "node:assert/strict";
import type { ErrnoCode } from "../../kernel/errno.ts";
import { ArpOp, encodeArp, parseArp } from "../wire/arp.ts";
import { BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "../wire/ethernet.ts";
import { encodeIcmpv4, Icmpv4DstUnreachableCode, parseIcmpv4 } from "../wire/icmpv4.ts";
import { IGMP_ALL_ROUTERS, IGMP_ALL_SYSTEMS, parseIgmp } from "../wire/igmp.ts";
import { encodeIpv4, IpProtocol, type Ipv4Repr, parseIpv4 } from "../wire/ipv4.ts";
import { encodeUdp } from "../wire/udp.ts";
import { TestHost } from "./_test_host.ts";
import { Ipv4Stack } from "./ipv4_stack.ts";
import type { Ipv4Send } from "./route4.ts";
import type { Tcp4Port, Udp4Port } from "./transport4.ts";

const A = 0x0a000001; // 10.0.0.1, this host
const B = 0x0a000002; // 10.0.0.2, a neighbour
const B_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);

function setup(mtu = 1500) {
  const host = new TestHost({ mtu });
  const ip = new Ipv4Stack(host, { forwarding: false, seed: 1 });
  ip.addAddress(host.interfaces[0], 0x7f000001, 8);
  ip.addAddress(host.eth0, A, 24);
  ip.addStaticNeighbour(host.eth0, B, B_MAC);
  host.sent.length = 0;
  return { host, ip };
}

/** The IPv4 datagrams `host` sent. */
const datagrams = (host: TestHost) =>
  host.sent.filter((f) => f.ethertype === ETHERTYPE_IPV4).map((f) => parseIpv4(f.payload));

function datagram(over: Partial<Ipv4Repr> & { payload: Uint8Array }): Uint8Array {
  return encodeIpv4({
    dscp: 0,
    ecn: 0,
    ident: 7,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IpProtocol.UDP,
    options: new Uint8Array(0),
    src: B,
    dst: A,
    ...over,
  });
}

const send = (payload: Uint8Array, over: Partial<Ipv4Send> = {}): Ipv4Send => ({
  src: A,
  dst: B,
  protocol: IpProtocol.UDP,
  ttl: 64,
  payload,
  ...over,
});

// ---- output ----

Deno.test("ipv4 output: a datagram that fits goes out whole to the resolved neighbour", () => {
  const { host, ip } = setup();
  const route = ip.route(B)!;
  assert.equal(route.mtu, 1500);
  assert.equal(ip.output(route, send(new Uint8Array(1480))), undefined);
  assert.equal(host.sent.length, 1);
  assert.deepEqual(host.sent[0].dstMac, B_MAC);
  assert.equal(datagrams(host)[0].payload.length, 1480);
});

Deno.test("ipv4 output: fragments at the MTU with 8-byte offsets and MF on all but the last (RFC 791 §3.2)", () => {
  const { host, ip } = setup(576);
  const payload = Uint8Array.from({ length: 2000 }, (_, i) => i & 255);
  assert.equal(ip.output(ip.route(B)!, send(payload)), undefined);
  const frags = datagrams(host);
  assert.deepEqual(frags.map((f) => [f.fragmentOffset, f.moreFragments, f.payload.length]), [
    [0, true, 552],
    [552, true, 552],
    [1104, true, 552],
    [1656, false, 344],
  ]);
  assert.ok(frags.every((f) => f.ident === frags[0].ident));
  assert.deepEqual(Uint8Array.from(frags.flatMap((f) => [...f.payload])), payload);
  assert.equal(host.counters.get("ipv4: fragmented"), 1);
});

Deno.test("ipv4 output: DF over the MTU is refused with EMSGSIZE through onTooBig; over 65535 always", () => {
  const { host, ip } = setup();
  const told: number[] = [];
  const owner = { onSendError() {}, onTooBig: (_d: Ipv4Send, mtu: number) => told.push(mtu) };
  const d = send(new Uint8Array(1481), { dontFragment: true });
  assert.equal(ip.output(ip.route(B)!, d, owner), "EMSGSIZE");
  assert.deepEqual(told, [1500]);
  assert.equal(host.sent.length, 0);
  assert.equal(ip.output(ip.route(B)!, send(new Uint8Array(65516))), "EMSGSIZE");
});

Deno.test("ipv4 output: broadcast and multicast frames, loopback for members here", () => {
  const { host, ip } = setup();
  ip.output(ip.route(0xffffffff)!, send(new Uint8Array(4), { dst: 0xffffffff }));
  assert.deepEqual(host.sent[0].dstMac, BROADCAST_MAC);
  host.sent.length = 0;
  const group = 0xe0000105;
  ip.joinGroup(host.eth0, group, true);
  host.sent.length = 0;
  ip.output(ip.route(group)!, send(new Uint8Array(4), { dst: group }));
  assert.deepEqual(host.sent.map((f) => f.iface.name), ["eth0", "lo"]);
  assert.deepEqual([...host.sent[0].dstMac], [1, 0, 0x5e, 0, 1, 5]);
});

Deno.test("ipv4 output: an unresolved next hop is asked for by ARP and told EHOSTUNREACH when it fails", () => {
  const { host, ip } = setup();
  const errors: [ErrnoCode, number][] = [];
  const C = 0x0a000003;
  ip.output(ip.route(C)!, send(new Uint8Array(10), { dst: C }), {
    onSendError: (code, dst) => errors.push([code, dst]),
  });
  const arp = host.sent.filter((f) => f.ethertype === ETHERTYPE_ARP).map((f) =>
    parseArp(f.payload)
  );
  assert.equal(arp.length, 1);
  assert.equal(arp[0].op, ArpOp.REQUEST);
  assert.equal(arp[0].targetIp, C);
  for (let i = 0; i < 10; i++) {
    host.clock.advance(1000);
    ip.poll(host.clock.now());
  }
  assert.deepEqual(errors, [["EHOSTUNREACH", C]]);
  assert.equal(host.counters.get("arp: unresolved"), 1);
});

// ---- input ----

Deno.test("ipv4 input: UDP goes to the UDP port; nobody listening draws a port unreachable", () => {
  const { host, ip } = setup();
  const got: number[] = [];
  let listening = true;
  const udp: Udp4Port = {
    input4: (_i, d) => (got.push(d.payload.length), listening),
    icmpError4() {},
    holds4: () => listening,
  };
  ip.udp = udp;
  const u = encodeUdp({ srcPort: 5000, dstPort: 53, payload: new Uint8Array(12) });
  ip.input(host.eth0, datagram({ payload: u }), false);
  assert.deepEqual(got, [20]);
  assert.equal(host.sent.length, 0);
  listening = false;
  ip.input(host.eth0, datagram({ payload: u }), false);
  const [reply] = datagrams(host);
  assert.equal(reply.dst, B);
  const m = parseIcmpv4(reply.payload);
  assert.equal(m.kind, "dst-unreachable");
  assert.equal(m.kind === "dst-unreachable" && m.code, Icmpv4DstUnreachableCode.PORT);
  assert.equal(host.counters.get("udp: no-port"), 1);
});

Deno.test("ipv4 input: raw sockets get a copy; an unknown protocol nobody takes draws protocol unreachable", () => {
  const { host, ip } = setup();
  const raw: number[] = [];
  ip.raw.add({ matches: (p) => p === 99, deliver: (d) => raw.push(d.length) });
  ip.input(host.eth0, datagram({ protocol: 99, payload: new Uint8Array(8) }), false);
  assert.deepEqual(raw, [28]);
  assert.equal(host.sent.length, 0, "taken by a raw socket: no error");
  ip.input(host.eth0, datagram({ protocol: 98, payload: new Uint8Array(8) }), false);
  const m = parseIcmpv4(datagrams(host)[0].payload);
  assert.equal(m.kind === "dst-unreachable" && m.code, Icmpv4DstUnreachableCode.PROTOCOL);
});

Deno.test("ipv4 input: TCP only for unicast; fragments reassembled before delivery", () => {
  const { host, ip } = setup();
  const segs: number[] = [];
  ip.tcp = {
    input4: (_i, d) => segs.push(d.payload.length),
    icmpError4() {},
    icmpBelievable: () => true,
    poll() {},
    flush() {},
    nextDeadline: () => undefined,
  } satisfies Tcp4Port;
  ip.input(host.eth0, datagram({ protocol: IpProtocol.TCP, payload: new Uint8Array(40) }), false);
  ip.input(
    host.eth0,
    datagram({ protocol: IpProtocol.TCP, dst: 0x0a0000ff, payload: new Uint8Array(40) }),
    true,
  );
  const body = new Uint8Array(64);
  ip.input(
    host.eth0,
    datagram({ protocol: IpProtocol.TCP, moreFragments: true, payload: body.subarray(0, 32) }),
    false,
  );
  ip.input(
    host.eth0,
    datagram({ protocol: IpProtocol.TCP, fragmentOffset: 32, payload: body.subarray(32) }),
    false,
  );
  assert.deepEqual(segs, [40, 64]);
  assert.equal(host.eth0.stats.drops["tcp: not-unicast"], 1);
});

// ---- ICMP ----

Deno.test("icmp4: an echo request is answered from the address it was sent to", () => {
  const { host, ip } = setup();
  const echo = encodeIcmpv4({
    kind: "echo-request",
    identifier: 9,
    sequence: 3,
    data: new Uint8Array([1, 2, 3]),
  });
  ip.input(host.eth0, datagram({ protocol: IpProtocol.ICMP, payload: echo }), false);
  const [r] = datagrams(host);
  assert.equal(r.src, A);
  assert.equal(r.dst, B);
  assert.deepEqual(parseIcmpv4(r.payload), {
    kind: "echo-reply",
    identifier: 9,
    sequence: 3,
    data: new Uint8Array([1, 2, 3]),
  });
});

Deno.test("icmp4: no error about an ICMP error, a broadcast, a non-initial fragment; rate limited", () => {
  const { host, ip } = setup();
  const err = {
    kind: "dst-unreachable" as const,
    code: Icmpv4DstUnreachableCode.PORT,
    nextHopMtu: 0,
    invoking: new Uint8Array(0),
  };
  const icmpErr = encodeIcmpv4({ ...err, invoking: datagram({ payload: new Uint8Array(8) }) });
  ip.icmpError(datagram({ protocol: IpProtocol.ICMP, payload: icmpErr }), err);
  ip.icmpError(datagram({ dst: 0xffffffff, payload: new Uint8Array(8) }), err);
  ip.icmpError(datagram({ src: 0xe0000001, payload: new Uint8Array(8) }), err);
  ip.icmpError(datagram({ fragmentOffset: 64, payload: new Uint8Array(8) }), err);
  assert.equal(host.sent.length, 0);
  // A flood: the burst (50) goes out, then nothing until tokens come back.
  for (let i = 0; i < 200; i++) ip.icmpError(datagram({ payload: new Uint8Array(8) }), err);
  assert.equal(datagrams(host).length, 50);
  assert.equal(host.counters.get("icmp: rate-limited"), 150);
});

// ---- IGMP ----

Deno.test("igmp: the first join reports to the group with TTL 1 and router alert, the last leave tells all-routers", () => {
  const { host, ip } = setup();
  const g = 0xe0000105;
  ip.joinGroup(host.eth0, g, true);
  ip.joinGroup(host.eth0, g, true);
  ip.joinGroup(host.eth0, g, false);
  ip.joinGroup(host.eth0, g, false);
  ip.joinGroup(host.eth0, IGMP_ALL_SYSTEMS, true);
  // (the report is also looped back to this host's own members, on lo)
  host.sent.splice(0, host.sent.length, ...host.sent.filter((f) => f.iface === host.eth0));
  const out = datagrams(host);
  assert.deepEqual(out.map((d) => [d.dst, d.ttl, d.protocol, d.options.length]), [
    [g, 1, IpProtocol.IGMP, 4],
    [IGMP_ALL_ROUTERS, 1, IpProtocol.IGMP, 4],
  ]);
  assert.deepEqual(out.map((d) => parseIgmp(d.payload).kind), ["report-v2", "leave"]);
  assert.equal(host.eth0.groups4.has(g), false);
});

// ---- ARP ----

Deno.test("arp: a request for our address is answered and teaches us the sender; a martian is dropped", () => {
  const { host, ip } = setup();
  const C = 0x0a000003;
  const C_MAC = Uint8Array.of(2, 0, 0, 0, 0, 3);
  const req = (senderIp: number) =>
    encodeArp({
      op: ArpOp.REQUEST,
      senderMac: C_MAC,
      senderIp,
      targetMac: new Uint8Array(6),
      targetIp: A,
    });
  ip.arpInput(host.eth0, req(C));
  const [reply] = host.sent.map((f) => parseArp(f.payload));
  assert.equal(reply.op, ArpOp.REPLY);
  assert.equal(reply.senderIp, A);
  assert.deepEqual(reply.targetMac, C_MAC);
  assert.ok(ip.neighbourList().some((n) => n.addr === "10.0.0.3"));
  host.sent.length = 0;
  ip.arpInput(host.eth0, req(0x7f000001));
  assert.equal(host.sent.length, 0);
  assert.equal(host.counters.get("arp: martian"), 1);
});
