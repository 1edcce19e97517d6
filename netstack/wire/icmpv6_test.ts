import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { parseIPv6 } from "./addr.ts";
import { WireError } from "./errors.ts";
import {
  emitIcmpv6,
  encodeIcmpv6,
  ICMPV6_MAX_QUOTE,
  Icmpv6DstUnreachableCode,
  icmpv6Length,
  Icmpv6Packet,
  Icmpv6ParamProblemCode,
  icmpv6PseudoSum,
  type Icmpv6Repr,
  isIcmpv6Error,
  parseIcmpv6,
} from "./icmpv6.ts";
import { type Ipv6AddressPair, parseIpv6 } from "./ipv6.ts";
import { walkIpv6Extensions } from "./ipv6_ext.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

/** The ICMPv6 message of an IPv6 packet and the packet's addresses. */
function icmpOf(pkt: Uint8Array): { msg: Uint8Array; ip: Ipv6AddressPair } {
  const ip = parseIpv6(pkt);
  const chain = walkIpv6Extensions(ip.payload, ip.nextHeader);
  assert.equal(chain.upperLayer, 58);
  return { msg: chain.upper, ip };
}

// fe80::1 -> fe80::2 echo request id 0x1234 seq 1 "abcdefgh" (checksums computed independently).
const ECHO = hex(
  "6b81234500103a40fe800000000000000000000000000001fe800000000000000000000000000002" +
    "8000dee5123400016162636465666768",
);
// 2001:db8::ff -> fe80::1 errors quoting ECHO.
const QUOTED = "6b81234500103a40fe800000000000000000000000000001fe80000000000000" +
  "00000000000000028000dee5123400016162636465666768";
const ERR_HEAD = "6000000000403a4020010db80000000000000000000000fffe800000000000000000000000000001";
const UNREACH = hex(ERR_HEAD + "0104087b00000000" + QUOTED);
const PTB = hex(ERR_HEAD + "0200027f00000500" + QUOTED);
const TIMEX = hex(ERR_HEAD + "0300067f00000000" + QUOTED);
const PARAM = hex(ERR_HEAD + "0401055600000028" + QUOTED);
// fe80::1 -> ff02::1:ff00:2 neighbor solicitation for fe80::2 with a source link-layer address.
const NS = hex(
  "6000000000203afffe800000000000000000000000000001ff0200000000000000000001ff000002" +
    "87007a9700000000fe8000000000000000000000000000020101020000000001",
);
// fe80::1 -> ff02::16 MLDv2 report behind a Router Alert hop-by-hop header.
const MLDV2 = hex(
  "60000000005c0001fe800000000000000000000000000001ff020000000000000000000000000016" +
    "3a000502000001008f0071b60000000204000000ff0200000000000000000000000000fb05010002" +
    "ff05000000000000000000000001000320010db800000000000000000000000120010db800000000" +
    "0000000000000002deadbeef",
);

Deno.test("icmpv6: echo request parses and round-trips byte-identically", () => {
  const { msg, ip } = icmpOf(ECHO);
  const r = parseIcmpv6(msg, ip);
  assert.deepEqual(r, {
    kind: "echo-request",
    identifier: 0x1234,
    sequence: 1,
    data: new TextEncoder().encode("abcdefgh"),
  });
  const buf = new Uint8Array(msg.length + 4).fill(0xa5);
  assert.equal(emitIcmpv6(r, buf, ip), msg.length);
  assert.equal(toHex(buf), toHex(msg) + "a5a5a5a5");
  const reply = encodeIcmpv6({ ...r, kind: "echo-reply" }, { src: ip.dst, dst: ip.src });
  assert.deepEqual(parseIcmpv6(reply, { src: ip.dst, dst: ip.src }), { ...r, kind: "echo-reply" });
});

Deno.test("icmpv6: the four error messages", () => {
  const cases: Array<[Uint8Array, Partial<Icmpv6Repr>]> = [
    [UNREACH, { kind: "dst-unreachable", code: Icmpv6DstUnreachableCode.PORT_UNREACHABLE }],
    [PTB, { kind: "packet-too-big", mtu: 1280 }],
    [TIMEX, { kind: "time-exceeded", code: 0 }],
    [PARAM, {
      kind: "param-problem",
      code: Icmpv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER,
      pointer: 40,
    }],
  ];
  for (const [pkt, expected] of cases) {
    const { msg, ip } = icmpOf(pkt);
    const r = parseIcmpv6(msg, ip);
    assert.deepEqual(r, { ...expected, invoking: hex(QUOTED) });
    assert.ok(isIcmpv6Error(msg[0]));
    const buf = new Uint8Array(msg.length + 3).fill(0xa5);
    assert.equal(emitIcmpv6(r, buf, ip), msg.length);
    assert.equal(toHex(buf), toHex(msg) + "a5a5a5");
  }
});

Deno.test("icmpv6: errors quote only as much as fits in 1280 bytes", () => {
  const big = new Uint8Array(3000).map((_, i) => i);
  const ip = { src: parseIPv6("2001:db8::1")!, dst: parseIPv6("2001:db8::2")! };
  const r: Icmpv6Repr = { kind: "packet-too-big", mtu: 1400, invoking: big };
  assert.equal(icmpv6Length(r), 1240);
  assert.equal(40 + icmpv6Length(r), 1280);
  const out = encodeIcmpv6(r, ip);
  const back = parseIcmpv6(out, ip);
  assert.equal(back.kind, "packet-too-big");
  if (back.kind === "packet-too-big") {
    assert.equal(back.invoking.length, ICMPV6_MAX_QUOTE);
    assert.equal(toHex(back.invoking), toHex(big.subarray(0, 1232)));
  }
  // Short invoking packets are quoted whole.
  assert.equal(icmpv6Length({ kind: "time-exceeded", code: 1, invoking: new Uint8Array(48) }), 56);
});

Deno.test("icmpv6: checksum is mandatory", () => {
  const { msg, ip } = icmpOf(ECHO);
  const bad = msg.slice();
  bad[9] ^= 0x40;
  expectWire(() => parseIcmpv6(bad, ip), "bad-checksum");
  expectWire(() => parseIcmpv6(msg, { src: ip.dst, dst: parseIPv6("fe80::3")! }), "bad-checksum");
  assert.ok(new Icmpv6Packet(msg).verifyChecksum(ip));
  assert.ok(!new Icmpv6Packet(bad).verifyChecksum(ip));
});

Deno.test("icmpv6: truncated messages", () => {
  const { msg, ip } = icmpOf(ECHO);
  expectWire(() => parseIcmpv6(msg.subarray(0, 7), ip), "truncated");
  expectWire(() => parseIcmpv6(new Uint8Array(0), ip), "truncated");
  expectWire(() => new Icmpv6Packet(msg.subarray(0, 4)), "truncated");
});

Deno.test("icmpv6: NDP and MLD types dispatch to their parsers", () => {
  const ns = icmpOf(NS);
  const r = parseIcmpv6(ns.msg, ns.ip);
  assert.equal(r.kind, "ndp");
  assert.equal(r.kind === "ndp" && r.message.kind, "neighbor-solicit");
  assert.equal(toHex(encodeIcmpv6(r, ns.ip)), toHex(ns.msg));
  const mld = icmpOf(MLDV2);
  const m = parseIcmpv6(mld.msg, mld.ip);
  assert.equal(m.kind === "mld" && m.message.kind, "report-v2");
  assert.equal(toHex(encodeIcmpv6(m, mld.ip)), toHex(mld.msg));
  // Their WireErrors pass through (checksum fixed up so the NDP parser sees the bad code).
  const bad = ns.msg.slice();
  bad[1] = 1;
  Icmpv6Packet.unchecked(bad).fillChecksum(ns.ip);
  assert.throws(
    () => parseIcmpv6(bad, ns.ip),
    (e: unknown) => e instanceof WireError && e.protocol === "ndp" && e.reason === "malformed",
  );
});

Deno.test("icmpv6: unknown types are kept as numbers", () => {
  const ip = { src: parseIPv6("fe80::1")!, dst: parseIPv6("fe80::2")! };
  const r: Icmpv6Repr = { kind: "other", type: 200, code: 7, rest: hex("0102030405") };
  const bytes = encodeIcmpv6(r, ip);
  assert.equal(toHex(bytes.subarray(0, 2)), "c807");
  assert.deepEqual(parseIcmpv6(bytes, ip), r);
});

Deno.test("icmpv6: checked view accessors and unchecked emit", () => {
  const { msg, ip } = icmpOf(ECHO);
  const p = new Icmpv6Packet(msg);
  assert.equal(p.type, 128);
  assert.equal(p.code, 0);
  assert.equal(p.checksum, 0xdee5);
  assert.equal(p.identifier, 0x1234);
  assert.equal(p.sequence, 1);
  assert.equal(new TextDecoder().decode(p.body), "abcdefgh");
  assert.equal(new Icmpv6Packet(icmpOf(PTB).msg).field32, 1280);

  const buf = new Uint8Array(msg.length).fill(0xa5);
  const w = Icmpv6Packet.unchecked(buf);
  w.type = 128;
  w.code = 0;
  w.identifier = 0x1234;
  w.sequence = 1;
  w.body.set(new TextEncoder().encode("abcdefgh"));
  w.fillChecksum(ip);
  assert.equal(toHex(buf), toHex(msg));
  assert.equal(icmpv6PseudoSum(ip, 16) > 0, true);
});

Deno.test("icmpv6: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(58);
  const seeds = [ECHO, UNREACH, PTB, TIMEX, PARAM, NS, MLDV2].map(icmpOf);
  const types = [1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143];
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    const seed = seeds[rng.nextInt(seeds.length)];
    let b: Uint8Array;
    if (i % 4 === 0) {
      b = new Uint8Array(rng.nextInt(120));
      for (let j = 0; j < b.length; j++) b[j] = rng.nextUint32();
      if (b.length > 0) b[0] = types[rng.nextInt(types.length)];
    } else {
      b = seed.msg.slice(0, rng.nextInt(seed.msg.length + 1));
      const flips = rng.nextInt(4);
      for (let k = 0; k < flips && b.length > 0; k++) {
        b[rng.nextInt(b.length)] = rng.chance(0.5) ? rng.nextInt(4) : rng.nextUint32();
      }
    }
    if (b.length >= 4 && rng.chance(0.9)) Icmpv6Packet.unchecked(b).fillChecksum(seed.ip);
    try {
      const v = new Icmpv6Packet(b);
      assert.equal(v.body.length, b.length - 8);
      parseIcmpv6(b, seed.ip);
      parsed++;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 1000);
});
