/**
 * The IPv6 layer's parts through their ports, against a recording host (`ip/_test_host.ts`):
 * output and fragmentation (`output6.ts`), input and demultiplexing (`input6.ts`), ICMPv6
 * (`icmp6.ts`), MLD (`mld.ts`) and forwarding (`forward6.ts`).
 */
import assert from "node:assert/strict";
import { TestHost } from "../ip/_test_host.ts";
import { parseIPv6 } from "../wire/addr.ts";
import { ETHERTYPE_IPV6 } from "../wire/ethernet.ts";
import {
  encodeIcmpv6,
  Icmpv6DstUnreachableCode,
  Icmpv6ParamProblemCode,
  type Icmpv6Repr,
  parseIcmpv6,
} from "../wire/icmpv6.ts";
import {
  encodeIpv6,
  IPV6_HEADER_LEN,
  Ipv6NextHeader,
  type Ipv6Repr,
  parseIpv6,
} from "../wire/ipv6.ts";
import { walkIpv6Extensions } from "../wire/ipv6_ext.ts";
import { MldRecordType, parseMld } from "../wire/mld.ts";
import { encodeUdp } from "../wire/udp.ts";
import { ALL_MLDV2_ROUTERS, ALL_NODES } from "./addr6.ts";
import { Ipv6Stack } from "./ipv6_stack.ts";
import type { Ipv6Send } from "./route6.ts";
import type { Udp6Port } from "./transport6.ts";

const NH = Ipv6NextHeader;
const A = parseIPv6("2001:db8::1")!;
const B = parseIPv6("2001:db8::2")!;
const B_MAC = Uint8Array.of(2, 0, 0, 0, 0, 2);
const GROUP = parseIPv6("ff02::1:3")!;

function setup(opts: { mtu?: number; forwarding?: boolean } = {}) {
  const host = new TestHost({ mtu: opts.mtu });
  const ip = new Ipv6Stack(host, { forwarding: opts.forwarding ?? false, seed: 1 });
  for (const i of host.interfaces) ip.ifaceUp(i);
  ip.addAddress(host.eth0, A, 64);
  for (let t = 0; t < 3; t++) {
    host.clock.advance(1000); // duplicate address detection
    ip.poll(host.clock.now());
  }
  ip.neighbours.addStatic(host.eth0, B, B_MAC);
  host.sent.length = 0;
  return { host, ip };
}

/** The IPv6 packets `host` sent on eth0. */
const packets = (host: TestHost) =>
  host.sent.filter((f) => f.ethertype === ETHERTYPE_IPV6 && f.iface === host.eth0).map((f) =>
    parseIpv6(f.payload)
  );

function packet(over: Partial<Ipv6Repr> & { payload: Uint8Array }): Uint8Array {
  return encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: NH.UDP,
    hopLimit: 64,
    src: B,
    dst: A,
    ...over,
  });
}

const send = (payload: Uint8Array, over: Partial<Ipv6Send> = {}): Ipv6Send => ({
  src: A,
  dst: B,
  nextHeader: NH.UDP,
  hopLimit: 64,
  payload,
  ...over,
});

const icmpOf = (p: Ipv6Repr): Icmpv6Repr => parseIcmpv6(p.payload, p);

// ---- output ----

Deno.test("ipv6 output: a packet that fits goes whole; a larger one in fragments no bigger than the MTU", () => {
  const { host, ip } = setup({ mtu: 1280 });
  const route = ip.route(B)!;
  assert.equal(route.mtu, 1280);
  ip.output(route, send(new Uint8Array(1240)));
  assert.equal(packets(host)[0].nextHeader, NH.UDP);
  host.sent.length = 0;
  const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 255);
  ip.output(route, send(data));
  const frags = packets(host);
  assert.equal(frags.length, 3);
  assert.ok(frags.every((f) => IPV6_HEADER_LEN + f.payload.length <= 1280));
  assert.ok(frags.every((f) => f.nextHeader === NH.FRAGMENT));
  const chains = frags.map((f) => walkIpv6Extensions(f.payload, f.nextHeader));
  assert.deepEqual(Uint8Array.from(chains.flatMap((c) => [...c.upper])), data);
});

Deno.test("ipv6 output: dontFragment over the path MTU is refused through onTooBig6", () => {
  const { host, ip } = setup();
  const told: number[] = [];
  const owner = { onSendError6() {}, onTooBig6: (_d: Ipv6Send, mtu: number) => told.push(mtu) };
  assert.equal(
    ip.output(ip.route(B)!, send(new Uint8Array(1461), { dontFragment: true }), owner),
    "EMSGSIZE",
  );
  assert.deepEqual(told, [1500]);
  assert.equal(host.sent.length, 0);
  assert.equal(host.counters.get("ipv6: too-big-unfragmentable"), 1);
});

// ---- input ----

Deno.test("ipv6 input: UDP goes to the UDP port; nobody listening draws a port unreachable", () => {
  const { host, ip } = setup();
  let listening = true;
  const got: number[] = [];
  ip.udp = {
    input6: (_i, _ip, payload) => (got.push(payload.length), listening),
    icmpError6() {},
    holds6: () => listening,
  } satisfies Udp6Port;
  const u = encodeUdp({ srcPort: 5000, dstPort: 53, payload: new Uint8Array(12) });
  ip.input(host.eth0, packet({ payload: u }), false);
  assert.deepEqual(got, [20]);
  listening = false;
  ip.input(host.eth0, packet({ payload: u }), false);
  const m = icmpOf(packets(host)[0]);
  assert.equal(m.kind === "dst-unreachable" && m.code, Icmpv6DstUnreachableCode.PORT_UNREACHABLE);
});

Deno.test("ipv6 input: an unknown next header draws a Parameter Problem pointing at it", () => {
  const { host, ip } = setup();
  ip.input(host.eth0, packet({ nextHeader: 253, payload: new Uint8Array(8) }), false);
  const m = icmpOf(packets(host)[0]);
  assert.equal(m.kind, "param-problem");
  assert.equal(
    m.kind === "param-problem" && m.code,
    Icmpv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER,
  );
  assert.equal(m.kind === "param-problem" && m.pointer, 6);
});

// ---- ICMPv6 ----

Deno.test("icmp6: an echo request is answered; no error about an ICMPv6 error or to a multicast destination; rate limited", () => {
  const { host, ip } = setup();
  const addrs = { src: B, dst: A };
  const echo = encodeIcmpv6({
    kind: "echo-request",
    identifier: 1,
    sequence: 2,
    data: Uint8Array.of(9),
  }, addrs);
  ip.input(host.eth0, packet({ nextHeader: NH.ICMPV6, payload: echo }), false);
  const reply = packets(host)[0];
  assert.deepEqual([reply.src, reply.dst], [A, B]);
  assert.equal(icmpOf(reply).kind, "echo-reply");
  host.sent.length = 0;
  const err: Icmpv6Repr = {
    kind: "dst-unreachable",
    code: Icmpv6DstUnreachableCode.PORT_UNREACHABLE,
    invoking: new Uint8Array(0),
  };
  const anError = encodeIcmpv6({ ...err, invoking: packet({ payload: new Uint8Array(8) }) }, addrs);
  ip.icmpError(host.eth0, packet({ nextHeader: NH.ICMPV6, payload: anError }), err);
  ip.icmpError(host.eth0, packet({ dst: GROUP, payload: new Uint8Array(8) }), err);
  assert.equal(host.sent.length, 0);
  ip.icmpError(
    host.eth0,
    packet({ dst: GROUP, payload: new Uint8Array(8) }),
    { kind: "packet-too-big", mtu: 1280, invoking: new Uint8Array(0) },
  );
  assert.equal(packets(host).length, 1, "Packet Too Big may answer a multicast (RFC 4443 §2.4(e))");
  host.sent.length = 0;
  for (let i = 0; i < 200; i++) {
    ip.icmpError(host.eth0, packet({ payload: new Uint8Array(8) }), err);
  }
  assert.equal(packets(host).length, 49, "the burst of 50, one already spent");
  assert.equal(host.counters.get("icmpv6: rate-limited"), 151);
});

// ---- MLD ----

Deno.test("mld: the first join and the last leave send an MLDv2 report (hop limit 1, router alert); ff02::1 never", () => {
  const { host, ip } = setup();
  ip.joinGroup(host.eth0, GROUP, true);
  ip.joinGroup(host.eth0, GROUP, true);
  ip.joinGroup(host.eth0, GROUP, false);
  ip.joinGroup(host.eth0, GROUP, false);
  ip.joinGroup(host.eth0, ALL_NODES, true);
  const out = packets(host);
  assert.equal(out.length, 2);
  for (const p of out) {
    assert.deepEqual(p.dst, ALL_MLDV2_ROUTERS);
    assert.equal(p.hopLimit, 1);
    assert.equal(p.nextHeader, NH.HOP_BY_HOP);
  }
  const types = out.map((p) => {
    const c = walkIpv6Extensions(p.payload, p.nextHeader);
    const m = parseMld(c.upper.subarray(0), { src: p.src, dst: p.dst });
    return m.kind === "report-v2" ? m.records[0].recordType : -1;
  });
  assert.deepEqual(types, [MldRecordType.CHANGE_TO_EXCLUDE, MldRecordType.CHANGE_TO_INCLUDE]);
});

Deno.test("mld: a general query is answered with the groups joined", () => {
  const { host, ip } = setup();
  ip.joinGroup(host.eth0, GROUP, true);
  host.sent.length = 0;
  ip.mldInput(host.eth0, parseIpv6(packet({ payload: new Uint8Array(0) })), {
    kind: "query",
    maxResponseCode: 0,
    multicastAddress: new Uint8Array(16),
  });
  const [p] = packets(host);
  const c = walkIpv6Extensions(p.payload, p.nextHeader);
  const m = parseMld(c.upper, { src: p.src, dst: p.dst });
  assert.equal(m.kind, "report-v2");
  assert.ok(
    m.kind === "report-v2" &&
      m.records.some((r) => r.recordType === MldRecordType.MODE_IS_EXCLUDE),
  );
});

// ---- forwarding ----

Deno.test("forward6: hop limit 1 draws Time Exceeded, a packet over the next MTU Packet Too Big, else the hop limit drops by one", () => {
  const { host, ip } = setup({ forwarding: true });
  const C = parseIPv6("2001:db8::3")!;
  ip.neighbours.addStatic(host.eth0, C, Uint8Array.of(2, 0, 0, 0, 0, 3));
  const through = (over: Partial<Ipv6Repr> & { payload: Uint8Array }) =>
    ip.input(host.eth0, packet({ dst: C, ...over }), false);
  through({ hopLimit: 1, payload: new Uint8Array(8) });
  assert.equal(icmpOf(packets(host)[0]).kind, "time-exceeded");
  host.sent.length = 0;
  through({ payload: new Uint8Array(1500) });
  const ptb = icmpOf(packets(host)[0]);
  assert.equal(ptb.kind === "packet-too-big" && ptb.mtu, 1500);
  host.sent.length = 0;
  through({ hopLimit: 9, payload: new Uint8Array(8) });
  const [fwd] = packets(host);
  assert.deepEqual(fwd.dst, C);
  assert.equal(fwd.hopLimit, 8);
  assert.equal(host.counters.get("ipv6: forwarded"), 1);
});
