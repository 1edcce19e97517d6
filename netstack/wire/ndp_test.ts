import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv6, formatMac, parseIPv6 } from "./addr.ts";
import { WireError } from "./errors.ts";
import { type Ipv6AddressPair, parseIpv6 } from "./ipv6.ts";
import {
  emitNdp,
  emitNdpOptions,
  encodeNdp,
  NDP_NS_LEN,
  ndpLength,
  type NdpOption,
  ndpOptionLength,
  NdpPacket,
  type NdpRepr,
  NdpType,
  parseNdp,
  parseNdpOptions,
} from "./ndp.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

/** The ICMPv6 message of a packet without extension headers, and its addresses. */
function icmpOf(pkt: Uint8Array): { msg: Uint8Array; ip: Ipv6AddressPair } {
  const ip = parseIpv6(pkt);
  assert.equal(ip.nextHeader, 58);
  return { msg: ip.payload, ip };
}

// Hand-built from RFC 4861 layouts, checksums computed independently; hop limit 255.
// fe80::1 -> ff02::1:ff00:2: NS for fe80::2, source link-layer 02:00:00:00:00:01.
const NS = hex(
  "6000000000203afffe800000000000000000000000000001ff0200000000000000000001ff000002" +
    "87007a9700000000fe8000000000000000000000000000020101020000000001",
);
// fe80::2 -> fe80::1: NA with R, S, O for fe80::2, target link-layer 02:00:00:00:00:02.
const NA = hex(
  "6000000000203afffe800000000000000000000000000002fe800000000000000000000000000001" +
    "88009819e0000000fe8000000000000000000000000000020201020000000002",
);
// fe80::1 -> ff02::2: RS with source link-layer.
const RS = hex(
  "6000000000103afffe800000000000000000000000000001ff020000000000000000000000000002" +
    "85007a2c000000000101020000000001",
);
// fe80::2 -> ff02::1: RA hop limit 64, M and O, lifetime 1800 s, reachable 30000 ms,
// retrans 1000 ms; source link-layer, MTU 1500, prefix 2001:db8::/64 L A 86400/14400.
const RA = hex(
  "6000000000403afffe800000000000000000000000000002ff020000000000000000000000000001" +
    "8600b1fe40c0070800007530000003e8010102000000000205010000000005dc030440c000015180" +
    "000038400000000020010db8000000000000000000000000",
);
// fe80::2 -> fe80::1: Redirect to target fe80::3 for 2001:db8::99, target link-layer and the
// first 40 bytes of the redirected packet.
const REDIRECT = hex(
  "6000000000603afffe800000000000000000000000000002fe800000000000000000000000000001" +
    "89007e6400000000fe80000000000000000000000000000320010db8000000000000000000000099" +
    "020102000000000304060000000000006b81234500103a40fe800000000000000000000000000001" +
    "fe800000000000000000000000000002",
);
const ALL = [NS, NA, RS, RA, REDIRECT];

Deno.test("ndp: neighbor solicitation and advertisement", () => {
  const ns = icmpOf(NS);
  const r = parseNdp(ns.msg, ns.ip);
  assert.equal(r.kind, "neighbor-solicit");
  if (r.kind !== "neighbor-solicit") return;
  assert.equal(formatIPv6(r.target), "fe80::2");
  assert.equal(r.options.length, 1);
  assert.equal(r.options[0].kind, "source-lladdr");
  if (r.options[0].kind === "source-lladdr") {
    assert.equal(formatMac(r.options[0].addr), "02:00:00:00:00:01");
  }
  const na = icmpOf(NA);
  const a = parseNdp(na.msg, na.ip);
  assert.equal(a.kind, "neighbor-advert");
  if (a.kind !== "neighbor-advert") return;
  assert.deepEqual([a.router, a.solicited, a.override], [true, true, true]);
  assert.equal(formatIPv6(a.target), "fe80::2");
  assert.deepEqual(a.options, [{ kind: "target-lladdr", addr: hex("020000000002") }]);
});

Deno.test("ndp: router solicitation and advertisement with prefix and MTU options", () => {
  const rs = icmpOf(RS);
  assert.deepEqual(parseNdp(rs.msg, rs.ip), {
    kind: "router-solicit",
    options: [{ kind: "source-lladdr", addr: hex("020000000001") }],
  });
  const ra = icmpOf(RA);
  assert.deepEqual(parseNdp(ra.msg, ra.ip), {
    kind: "router-advert",
    curHopLimit: 64,
    managed: true,
    other: true,
    routerLifetime: 1800,
    reachableTime: 30000,
    retransTimer: 1000,
    options: [
      { kind: "source-lladdr", addr: hex("020000000002") },
      { kind: "mtu", mtu: 1500 },
      {
        kind: "prefix-info",
        prefixLength: 64,
        onLink: true,
        autonomous: true,
        validLifetime: 86400,
        preferredLifetime: 14400,
        prefix: parseIPv6("2001:db8::")!,
      },
    ],
  });
});

Deno.test("ndp: redirect with redirected header", () => {
  const rd = icmpOf(REDIRECT);
  const r = parseNdp(rd.msg, rd.ip);
  assert.equal(r.kind, "redirect");
  if (r.kind !== "redirect") return;
  assert.equal(formatIPv6(r.target), "fe80::3");
  assert.equal(formatIPv6(r.destination), "2001:db8::99");
  assert.equal(r.options[1].kind, "redirected-header");
  if (r.options[1].kind === "redirected-header") {
    assert.equal(r.options[1].data.length, 40);
    assert.equal(r.options[1].data[0], 0x6b);
  }
});

Deno.test("ndp: parse→emit round trips into 0xa5-filled buffers", () => {
  for (const pkt of ALL) {
    const { msg, ip } = icmpOf(pkt);
    const r = parseNdp(msg, ip);
    assert.equal(ndpLength(r), msg.length);
    const buf = new Uint8Array(msg.length + 8).fill(0xa5);
    assert.equal(emitNdp(r, buf, ip), msg.length);
    assert.equal(toHex(buf.subarray(0, msg.length)), toHex(msg));
    assert.ok(buf.subarray(msg.length).every((x) => x === 0xa5));
  }
  assert.throws(
    () => emitNdp(parseNdp(icmpOf(RA).msg), new Uint8Array(20), icmpOf(RA).ip),
    RangeError,
  );
});

Deno.test("ndp: emitted options are padded to 8 bytes and unknown options kept", () => {
  const ip = { src: parseIPv6("fe80::1")!, dst: parseIPv6("ff02::2")! };
  const opts: NdpOption[] = [
    { kind: "unknown", type: 253, data: hex("0000 00000e10 20010db8000000000000000000000053") },
    { kind: "source-lladdr", addr: hex("0200000000010203") }, // 8-byte link-layer address
    { kind: "redirected-header", data: hex("aabbcc") },
  ];
  assert.deepEqual(opts.map(ndpOptionLength), [24, 16, 16]);
  const buf = new Uint8Array(60).fill(0xa5);
  assert.equal(emitNdpOptions(opts, buf), 56);
  assert.equal(
    toHex(buf.subarray(0, 57)),
    "fd03000000000e1020010db8000000000000000000000053" + "01020200000000010203000000000000" +
      "0402000000000000aabbcc0000000000" + "a5",
  );
  const back = parseNdpOptions(buf.subarray(0, 56));
  assert.equal(back[0].kind, "unknown");
  assert.equal(back[0].kind === "unknown" && back[0].type, 253);
  assert.equal(back[1].kind === "source-lladdr" && back[1].addr.length, 14);
  const rs: NdpRepr = { kind: "router-solicit", options: opts };
  const enc = encodeNdp(rs, ip);
  assert.equal(toHex(encodeNdp(parseNdp(enc, ip), ip)), toHex(enc));
});

Deno.test("ndp: bad options are malformed", () => {
  const bad = [
    "0100 000000000000", // length 0
    "0102 020000000001", // runs past the end
    "0101 0200000000", // cut short
    "01", // lone type byte
    "0303 40c00001518000003840 0000000000000000", // prefix info length 3
    "0502 0000000005dc 0000000000000000", // MTU length 2
  ];
  for (const b of bad) expectWire(() => parseNdpOptions(hex(b)), "malformed");
  assert.deepEqual(parseNdpOptions(new Uint8Array(0)), []);
});

Deno.test("ndp: truncated, wrong code, wrong type and bad checksum", () => {
  const { msg, ip } = icmpOf(NS);
  expectWire(() => parseNdp(msg.subarray(0, NDP_NS_LEN - 1)), "truncated");
  expectWire(() => parseNdp(msg.subarray(0, 3)), "truncated");
  expectWire(() => parseNdp(icmpOf(RA).msg.subarray(0, 15)), "truncated");
  expectWire(() => parseNdp(icmpOf(REDIRECT).msg.subarray(0, 39)), "truncated");
  const code = msg.slice();
  code[1] = 1;
  expectWire(() => parseNdp(code), "malformed");
  const echo = msg.slice();
  echo[0] = 128;
  expectWire(() => parseNdp(echo), "unsupported");
  expectWire(() => new NdpPacket(echo), "unsupported");
  const corrupt = msg.slice();
  corrupt[30] ^= 1;
  expectWire(() => parseNdp(corrupt, ip), "bad-checksum");
  assert.equal(parseNdp(corrupt).kind, "neighbor-solicit"); // unverified without addresses
});

Deno.test("ndp: checked view accessors and unchecked emit", () => {
  const ra = new NdpPacket(icmpOf(RA).msg);
  assert.equal(ra.type, NdpType.ROUTER_ADVERT);
  assert.equal(ra.curHopLimit, 64);
  assert.equal(ra.raFlags, 0xc0);
  assert.equal(ra.routerLifetime, 1800);
  assert.equal(ra.reachableTime, 30000);
  assert.equal(ra.retransTimer, 1000);
  assert.equal(ra.target.length, 0);
  assert.equal(ra.options.length, 48);
  const rd = new NdpPacket(icmpOf(REDIRECT).msg);
  assert.equal(formatIPv6(rd.target), "fe80::3");
  assert.equal(formatIPv6(rd.destination), "2001:db8::99");
  assert.equal(new NdpPacket(icmpOf(RS).msg).reachableTime, 0);
  assert.equal(new NdpPacket(icmpOf(NS).msg).retransTimer, 0);
  const na = new NdpPacket(icmpOf(NA).msg);
  assert.equal(na.naFlags, 0xe0);

  const { msg, ip } = icmpOf(NA);
  const buf = new Uint8Array(msg.length).fill(0xa5);
  const w = NdpPacket.unchecked(buf);
  w.type = NdpType.NEIGHBOR_ADVERT;
  buf[1] = 0;
  buf.fill(0, 2, 8);
  w.naFlags = 0xe0;
  buf.set(parseIPv6("fe80::2")!, 8);
  w.options.set(hex("0201020000000002"));
  assert.equal(parseNdp(buf).kind, "neighbor-advert");
  const repr = parseNdp(buf);
  assert.equal(toHex(encodeNdp(repr, ip)), toHex(msg));
});

Deno.test("ndp: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(4861);
  const seeds = ALL.map((p) => icmpOf(p).msg);
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let b: Uint8Array;
    if (i % 4 === 0) {
      b = new Uint8Array(rng.nextInt(100));
      for (let j = 0; j < b.length; j++) b[j] = rng.nextUint32();
      if (b.length > 1) {
        b[0] = 133 + rng.nextInt(5);
        b[1] = 0;
      }
    } else {
      const s = seeds[rng.nextInt(seeds.length)];
      b = s.slice(0, rng.nextInt(s.length + 1));
      const flips = rng.nextInt(4);
      for (let k = 0; k < flips && b.length > 0; k++) {
        b[rng.nextInt(b.length)] = rng.chance(0.5) ? rng.nextInt(6) : rng.nextUint32();
      }
    }
    try {
      const v = new NdpPacket(b);
      const f = v.curHopLimit + v.raFlags + v.routerLifetime + v.reachableTime + v.retransTimer;
      assert.ok(Number.isInteger(f) && v.target.length % 16 === 0 && v.options.length <= b.length);
      assert.ok(v.destination.length % 16 === 0);
      const r = parseNdp(b);
      assert.ok(ndpLength(r) <= b.length + 8 * r.options.length);
      parsed++;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 1000);
});
