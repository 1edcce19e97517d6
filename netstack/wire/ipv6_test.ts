import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv6, parseIPv6 } from "./addr.ts";
import { WireError } from "./errors.ts";
import {
  emitIpv6,
  encodeIpv6,
  IPV6_HEADER_LEN,
  ipv6Length,
  Ipv6NextHeader,
  Ipv6OptionType,
  Ipv6Packet,
  parseIpv6,
} from "./ipv6.ts";
import {
  emitIpv6Fragment,
  emitIpv6OptionsHeader,
  type Ipv6AuthHeader,
  ipv6OptionAction,
  ipv6OptionAreaError,
  type Ipv6OptionsHeader,
  ipv6OptionsHeaderLength,
  type Ipv6RoutingHeader,
  parseIpv6Options,
  walkIpv6Extensions,
} from "./ipv6_ext.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

// fe80::1 -> fe80::2, traffic class 0xb8, flow label 0x12345, hop limit 64, ICMPv6 echo request.
const ECHO = hex(
  "6b81234500103a40fe800000000000000000000000000001fe800000000000000000000000000002" +
    "8000dee5123400016162636465666768",
);

// 2001:db8::1 -> 2001:db8::2: Hop-by-Hop (Router Alert, PadN) → Destination (0x3e len 1,
// 0x9f len 0, Pad1) → Routing (type 4, segments left 2) → AH (24 bytes) → Destination (0xde)
// → Fragment (offset 1448, M, id 0xdeadbeef) → UDP 1000→2000 "data".
const CHAIN = hex(
  "60000000005c004020010db800000000000000000000000120010db8000000000000000000000002" +
    "3c000502000001002b003e01aa9f0000330204020000000020010db8000000000000000000000005" +
    "3c0400000000100000000007000102030405060708090a0b2c00de0401020304110005a9deadbeef" +
    "03e807d0000c000064617461",
);

Deno.test("ipv6: parses the fixed header", () => {
  const r = parseIpv6(ECHO);
  assert.equal(r.trafficClass, 0xb8);
  assert.equal(r.flowLabel, 0x12345);
  assert.equal(r.nextHeader, Ipv6NextHeader.ICMPV6);
  assert.equal(r.hopLimit, 64);
  assert.equal(formatIPv6(r.src), "fe80::1");
  assert.equal(formatIPv6(r.dst), "fe80::2");
  assert.equal(toHex(r.payload), "8000dee5123400016162636465666768");
  assert.equal(r.payload.buffer, ECHO.buffer);
});

Deno.test("ipv6: Ethernet padding after Payload Length is not payload", () => {
  const padded = new Uint8Array(ECHO.length + 6);
  padded.set(ECHO);
  assert.equal(parseIpv6(padded).payload.length, 16);
  assert.equal(new Ipv6Packet(padded).payload.length, 16);
});

Deno.test("ipv6: parse→emit round trip into a 0xa5-filled buffer", () => {
  for (const f of [ECHO, CHAIN]) {
    const r = parseIpv6(f);
    assert.equal(ipv6Length(r), f.length);
    const buf = new Uint8Array(f.length + 8).fill(0xa5);
    assert.equal(emitIpv6(r, buf), f.length);
    assert.equal(toHex(buf.subarray(0, f.length)), toHex(f));
    assert.ok(buf.subarray(f.length).every((x) => x === 0xa5));
    assert.equal(toHex(encodeIpv6(r)), toHex(f));
  }
  assert.throws(() => emitIpv6(parseIpv6(ECHO), new Uint8Array(50)), RangeError);
});

Deno.test("ipv6: truncated, wrong version and impossible payload length", () => {
  expectWire(() => parseIpv6(ECHO.subarray(0, 39)), "truncated");
  const v4 = ECHO.slice();
  v4[0] = 0x45;
  expectWire(() => parseIpv6(v4), "bad-version");
  expectWire(() => new Ipv6Packet(v4), "bad-version");
  expectWire(() => parseIpv6(ECHO.subarray(0, ECHO.length - 1)), "bad-length");
  const huge = ECHO.slice();
  huge[4] = 0xff;
  expectWire(() => new Ipv6Packet(huge), "bad-length");
});

Deno.test("ipv6: checked view accessors and unchecked emit", () => {
  const p = new Ipv6Packet(ECHO);
  assert.equal(p.version, 6);
  assert.equal(p.trafficClass, 0xb8);
  assert.equal(p.flowLabel, 0x12345);
  assert.equal(p.payloadLength, 16);
  assert.equal(p.nextHeader, 58);
  assert.equal(p.hopLimit, 64);
  assert.equal(formatIPv6(p.src), "fe80::1");
  assert.equal(formatIPv6(p.dst), "fe80::2");

  const buf = new Uint8Array(ECHO.length).fill(0xa5);
  const w = Ipv6Packet.unchecked(buf);
  w.version = 6;
  w.trafficClass = 0xb8;
  w.flowLabel = 0x12345;
  w.payloadLength = 16;
  w.nextHeader = 58;
  w.hopLimit = 64;
  w.src.set(parseIPv6("fe80::1")!);
  w.dst.set(parseIPv6("fe80::2")!);
  w.payload.set(ECHO.subarray(IPV6_HEADER_LEN));
  assert.equal(toHex(buf), toHex(ECHO));
});

Deno.test("ipv6: walks a chain with every extension header type", () => {
  const ip = parseIpv6(CHAIN);
  const c = walkIpv6Extensions(ip.payload, ip.nextHeader);
  assert.deepEqual(c.headers.map((h) => [h.kind, h.offset, h.length, h.nextHeader]), [
    ["hop-by-hop", 0, 8, 60],
    ["destination", 8, 8, 43],
    ["routing", 16, 24, 51],
    ["ah", 40, 24, 60],
    ["destination", 64, 8, 44],
    ["fragment", 72, 8, 17],
  ]);
  const hbh = c.headers[0] as Ipv6OptionsHeader;
  assert.deepEqual(hbh.options.map((o) => [o.type, toHex(o.data), o.offset, o.action]), [
    [Ipv6OptionType.ROUTER_ALERT, "0000", 2, "skip"],
  ]);
  const d1 = c.headers[1] as Ipv6OptionsHeader;
  assert.deepEqual(
    d1.options.map((o) => [o.type, toHex(o.data), o.offset, o.action, o.mayChange]),
    [
      [0x3e, "aa", 10, "skip", true],
      [0x9f, "", 13, "discard-icmp", false],
    ],
  );
  const rt = c.headers[2] as Ipv6RoutingHeader;
  assert.equal(rt.routingType, 4);
  assert.equal(rt.segmentsLeft, 2);
  assert.equal(toHex(rt.data), "00000000" + "20010db8000000000000000000000005");
  const ah = c.headers[3] as Ipv6AuthHeader;
  assert.equal(ah.spi, 0x1000);
  assert.equal(ah.sequence, 7);
  assert.equal(toHex(ah.icv), "000102030405060708090a0b");
  const d2 = c.headers[4] as Ipv6OptionsHeader;
  assert.equal(d2.options[0].action, "discard-icmp-unless-multicast");
  assert.deepEqual(c.headers[5], {
    kind: "fragment",
    offset: 72,
    length: 8,
    nextHeader: 17,
    fragmentOffset: 1448,
    more: true,
    identification: 0xdeadbeef,
  });
  assert.equal(c.upperLayer, Ipv6NextHeader.UDP);
  assert.equal(c.upperOffset, 80);
  assert.equal(toHex(c.upper), "03e807d0000c000064617461");
});

Deno.test("ipv6: no extension headers, ESP and No Next Header end the walk", () => {
  const ip = parseIpv6(ECHO);
  const c = walkIpv6Extensions(ip.payload, ip.nextHeader);
  assert.deepEqual(c.headers, []);
  assert.equal(c.upperLayer, 58);
  assert.equal(c.upperOffset, 0);
  const esp = walkIpv6Extensions(hex("32000000000000000000"), Ipv6NextHeader.DESTINATION);
  assert.equal(esp.upperLayer, Ipv6NextHeader.ESP);
  assert.equal(esp.upperOffset, 8);
  const none = walkIpv6Extensions(hex("3b00010400000000"), Ipv6NextHeader.HOP_BY_HOP);
  assert.equal(none.upperLayer, Ipv6NextHeader.NO_NEXT_HEADER);
  assert.equal(none.upper.length, 0);
});

Deno.test("ipv6: routing type 0 is reported so the caller can reject it", () => {
  const c = walkIpv6Extensions(
    hex("3a02 0001 00000000 20010db8000000000000000000000009"),
    Ipv6NextHeader.ROUTING,
  );
  const rt = c.headers[0] as Ipv6RoutingHeader;
  assert.equal(rt.routingType, 0);
  assert.equal(rt.segmentsLeft, 1);
  assert.equal(c.upperLayer, 58);
});

Deno.test("ipv6: bad chains are rejected with the right reason", () => {
  // Hop-by-Hop after another header.
  expectWire(() => walkIpv6Extensions(hex("0000010400000000 3a00010400000000"), 60), "malformed");
  // As Linux's input path: the chain ends there, upper layer 0 (unrecognized next header).
  const late = walkIpv6Extensions(hex("0000010400000000 3a00010400000000"), 60, {
    lateHopByHop: "upper",
  });
  assert.deepEqual([late.headers.length, late.upperLayer, late.upperOffset], [1, 0, 8]);
  // Header longer than the bytes.
  expectWire(() => walkIpv6Extensions(hex("3a01010400000000"), 60), "truncated");
  expectWire(() => walkIpv6Extensions(hex("3a000104"), 0), "truncated");
  expectWire(() => walkIpv6Extensions(hex("3a000000"), 44), "truncated");
  // Option running past its header.
  expectWire(() => walkIpv6Extensions(hex("3a00 3e05 00000000"), 60), "malformed");
  expectWire(() => walkIpv6Extensions(hex("3a00 0000 0000 0003"), 60, {}), "malformed");
  // AH with a zero Payload Len (8 bytes) cannot hold SPI and sequence.
  expectWire(() => walkIpv6Extensions(hex("3a00000000000001"), 51), "malformed");
  // Nine Destination Options headers exceed the default cap of 8.
  const nine = new Uint8Array(72);
  for (let i = 0; i < 9; i++) {
    nine.set(hex(i === 8 ? "3a00010400000000" : "3c00010400000000"), i * 8);
  }
  expectWire(() => walkIpv6Extensions(nine, 60), "unsupported");
  assert.equal(walkIpv6Extensions(nine, 60, { maxHeaders: 9 }).headers.length, 9);
  // One 520-byte header exceeds the 512-byte cap.
  const big = new Uint8Array(520);
  big.set(hex("3a40 01fe"));
  expectWire(() => walkIpv6Extensions(big, 60), "unsupported");
  assert.equal(walkIpv6Extensions(big, 60, { maxBytes: 1024 }).upperOffset, 520);
});

Deno.test("ipv6: option actions come from the top two bits", () => {
  assert.equal(ipv6OptionAction(0x05), "skip");
  assert.equal(ipv6OptionAction(0x45), "discard");
  assert.equal(ipv6OptionAction(0x85), "discard-icmp");
  assert.equal(ipv6OptionAction(0xc2), "discard-icmp-unless-multicast");
  const opts = parseIpv6Options(hex("00 0100 4501ff 00 c2 04 00010000"), 2);
  assert.deepEqual(opts.map((o) => [o.type, o.offset, o.action]), [
    [0x45, 5, "discard"],
    [0xc2, 9, "discard-icmp-unless-multicast"],
  ]);
});

Deno.test("ipv6: fragment header builder", () => {
  const buf = new Uint8Array(12).fill(0xa5);
  const n = emitIpv6Fragment(
    { nextHeader: 17, fragmentOffset: 1448, more: true, identification: 0xdeadbeef },
    buf,
  );
  assert.equal(n, 8);
  assert.equal(toHex(buf), "110005a9deadbeef" + "a5a5a5a5");
  const c = walkIpv6Extensions(buf.subarray(0, 8), Ipv6NextHeader.FRAGMENT);
  assert.deepEqual(c.headers[0], {
    kind: "fragment",
    offset: 0,
    length: 8,
    nextHeader: 17,
    fragmentOffset: 1448,
    more: true,
    identification: 0xdeadbeef,
  });
  const bad = { nextHeader: 17, fragmentOffset: 13, more: false, identification: 1 };
  assert.throws(() => emitIpv6Fragment(bad, buf), RangeError);
  assert.throws(() => emitIpv6Fragment({ ...bad, fragmentOffset: 65536 }, buf), RangeError);
});

Deno.test("ipv6: options header builder pads with Pad1/PadN", () => {
  const ra = [{ type: Ipv6OptionType.ROUTER_ALERT, data: new Uint8Array(2) }];
  const buf = new Uint8Array(20).fill(0xa5);
  assert.equal(ipv6OptionsHeaderLength(ra), 8);
  assert.equal(emitIpv6OptionsHeader(58, ra, buf), 8);
  assert.equal(toHex(buf.subarray(0, 12)), "3a00050200000100" + "a5a5a5a5");
  buf.fill(0xa5);
  const five = [{ type: 0x1e, data: hex("0102030405") }];
  assert.equal(emitIpv6OptionsHeader(6, five, buf), 16);
  assert.equal(
    toHex(buf.subarray(0, 17)),
    "0601 1e050102030405 0105 0000000000 a5".replace(/ /g, ""),
  );
  const walked = walkIpv6Extensions(buf.subarray(0, 16), Ipv6NextHeader.DESTINATION);
  assert.equal((walked.headers[0] as Ipv6OptionsHeader).options.length, 1);
  buf.fill(0xa5);
  assert.equal(emitIpv6OptionsHeader(6, [{ type: 0x1e, data: hex("010203") }], buf), 8);
  assert.equal(toHex(buf.subarray(0, 9)), "06001e0301020300a5");
});

Deno.test("ipv6: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0x6);
  const firsts = [0, 43, 44, 50, 51, 59, 60, 6, 17, 58];
  let walked = 0;
  for (let i = 0; i < 100_000; i++) {
    let b: Uint8Array;
    if (i % 4 === 0) {
      b = new Uint8Array(rng.nextInt(140));
      for (let j = 0; j < b.length; j++) b[j] = rng.nextUint32();
      if (b.length > 0 && rng.chance(0.5)) b[0] = 0x60;
    } else {
      const seed = rng.chance(0.8) ? CHAIN : ECHO;
      b = seed.slice(0, 30 + rng.nextInt(seed.length - 20));
      const flips = 1 + rng.nextInt(4);
      for (let k = 0; k < flips; k++) {
        const at = rng.nextInt(b.length);
        b[at] = rng.chance(0.3) ? firsts[rng.nextInt(firsts.length)] : rng.nextUint32();
      }
    }
    try {
      const v = new Ipv6Packet(b);
      assert.ok(v.payload.length === v.payloadLength && v.src.length === 16 && v.dst.length === 16);
      const ip = parseIpv6(b);
      const c = walkIpv6Extensions(ip.payload, ip.nextHeader);
      assert.ok(c.upperOffset <= ip.payload.length);
      walked++;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
    try {
      walkIpv6Extensions(b, firsts[rng.nextInt(firsts.length)], { maxHeaders: 1 + rng.nextInt(9) });
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(walked > 1000);
});

Deno.test("ipv6OptionAreaError: padding over 7 bytes or not zero, more than 8 options (Linux)", () => {
  assert.equal(ipv6OptionAreaError(Uint8Array.of(1, 4, 0, 0, 0, 0)), undefined);
  assert.equal(ipv6OptionAreaError(Uint8Array.of(1, 4, 0, 1, 0, 0)), "padding");
  assert.equal(ipv6OptionAreaError(Uint8Array.of(1, 12, ...new Array(12).fill(0))), "padding");
  assert.equal(ipv6OptionAreaError(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0)), "padding");
  // Padding between options is counted per run.
  const opt = [0x1e, 0];
  assert.equal(
    ipv6OptionAreaError(Uint8Array.of(1, 4, 0, 0, 0, 0, ...opt, 1, 3, 0, 0, 0)),
    undefined,
  );
  assert.equal(ipv6OptionAreaError(Uint8Array.from(new Array(8).fill(opt).flat())), undefined);
  assert.equal(ipv6OptionAreaError(Uint8Array.from(new Array(9).fill(opt).flat())), "too-many");
});
