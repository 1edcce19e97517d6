import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { parseIPv6 } from "./addr.ts";
import { checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from "./checksum.ts";
import { WireError } from "./errors.ts";
import {
  emitUdp,
  encodeUdp,
  parseUdp,
  UDP_HEADER_LEN,
  udpLength,
  UdpPacket,
  type UdpRepr,
} from "./udp.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

const A = 0x0a000001; // 10.0.0.1
const B = 0x0a000002; // 10.0.0.2
const LL1 = parseIPv6("fe80::1")!;
const LL2 = parseIPv6("fe80::2")!;

// Datagrams (IP payloads) built with scapy 2.5.0; checksums by scapy.
// 10.0.0.1:40000 -> 10.0.0.2:53, DNS A query for example.com.
const DNS = hex(
  "9c40003500256d8a123401000001000000000000076578616d706c6503636f6d0000010001",
);
// 10.0.0.1:5353 -> 10.0.0.2:53, "hello".
const HELLO = hex("14e90035000d92e168656c6c6f");
// [fe80::1]:546 -> [fe80::2]:547 over IPv6, "dhcpv6-ish".
const V6 = hex("0222022300121fa06468637076362d697368");

const ps4 = (b: Uint8Array, src = A, dst = B) => pseudoHeaderSum4(src, dst, 17, b.length);
const ps6 = (b: Uint8Array) => pseudoHeaderSum6(LL1, LL2, 17, b.length);

Deno.test("udp: parses a DNS query over IPv4 and verifies its checksum", () => {
  const r = parseUdp(DNS, { pseudoSum: ps4(DNS) });
  assert.equal(r.srcPort, 40000);
  assert.equal(r.dstPort, 53);
  assert.equal(r.payload.length, DNS.length - 8);
  assert.equal(r.payload.buffer, DNS.buffer);
  assert.equal(r.payload.byteOffset, DNS.byteOffset + UDP_HEADER_LEN);
  assert.equal(toHex(parseUdp(HELLO, { pseudoSum: ps4(HELLO) }).payload), "68656c6c6f");
});

Deno.test("udp: parses over IPv6 with the IPv6 pseudo-header", () => {
  const r = parseUdp(V6, { pseudoSum: ps6(V6), ipVersion: 6 });
  assert.equal(r.srcPort, 546);
  assert.equal(r.dstPort, 547);
  assert.equal(new TextDecoder().decode(r.payload), "dhcpv6-ish");
});

Deno.test("udp: parse→emit round trips are byte-identical, with the checksum recomputed", () => {
  for (const [b, ps] of [[DNS, ps4(DNS)], [HELLO, ps4(HELLO)], [V6, ps6(V6)]] as const) {
    const r = parseUdp(b, { pseudoSum: ps });
    assert.equal(udpLength(r), b.length);
    assert.equal(toHex(encodeUdp(r, { pseudoSum: ps })), toHex(b));
  }
});

Deno.test("udp: emit writes every byte (0xa5 canary) and nothing past the datagram", () => {
  const r = parseUdp(DNS);
  const buf = new Uint8Array(DNS.length + 8).fill(0xa5);
  assert.equal(emitUdp(r, buf, { pseudoSum: ps4(DNS) }), DNS.length);
  assert.equal(toHex(buf.subarray(0, DNS.length)), toHex(DNS));
  assert.ok(buf.subarray(DNS.length).every((b) => b === 0xa5));
  // Without a pseudo-header sum the checksum is left 0 ("none" over IPv4).
  buf.fill(0xa5);
  emitUdp(r, buf);
  assert.equal(toHex(buf.subarray(6, 8)), "0000");
  assert.throws(() => emitUdp(r, new Uint8Array(DNS.length - 1)), RangeError);
  assert.throws(() => encodeUdp({ ...r, payload: new Uint8Array(65528) }), RangeError);
});

Deno.test("udp: a zero checksum means none over IPv4 and is refused over IPv6", () => {
  const none = DNS.slice();
  none[6] = 0;
  none[7] = 0;
  assert.equal(parseUdp(none, { pseudoSum: ps4(none) }).dstPort, 53);
  assert.ok(new UdpPacket(none).verifyChecksum(ps4(none)));
  const v6none = V6.slice();
  v6none[6] = 0;
  v6none[7] = 0;
  expectWire(() => parseUdp(v6none, { pseudoSum: ps6(v6none), ipVersion: 6 }), "bad-checksum");
  expectWire(() => parseUdp(v6none, { ipVersion: 6 }), "bad-checksum");
  assert.ok(!new UdpPacket(v6none).verifyChecksum(ps6(v6none), 6));
});

Deno.test("udp: a computed checksum of 0 is sent as 0xffff and verifies", () => {
  // Choose the 2-byte payload so that the one's-complement sum is 0xffff (checksum 0).
  const repr: UdpRepr = { srcPort: 1234, dstPort: 5678, payload: new Uint8Array(2) };
  const probe = encodeUdp(repr);
  const c = checksum(probe, pseudoHeaderSum4(A, B, 17, probe.length));
  repr.payload = new Uint8Array([c >>> 8, c & 0xff]);
  const out = encodeUdp(repr, { pseudoSum: pseudoHeaderSum4(A, B, 17, probe.length) });
  assert.equal(toHex(out.subarray(6, 8)), "ffff");
  assert.deepEqual(parseUdp(out, { pseudoSum: ps4(out) }).payload, repr.payload);
  const v = UdpPacket.unchecked(out.slice());
  v.fillChecksum(ps4(out));
  assert.equal(v.checksum, 0xffff);
});

Deno.test("udp: wrong checksums and wrong pseudo-headers are refused", () => {
  const flipped = DNS.slice();
  flipped[20] ^= 1;
  expectWire(() => parseUdp(flipped, { pseudoSum: ps4(flipped) }), "bad-checksum");
  // Not checked without a pseudo-header sum (checksum offload).
  assert.equal(parseUdp(flipped).dstPort, 53);
  expectWire(() => parseUdp(DNS, { pseudoSum: ps4(DNS, A, A) }), "bad-checksum");
  expectWire(() => parseUdp(V6, { pseudoSum: ps4(V6) }), "bad-checksum");
});

Deno.test("udp: truncated and impossible lengths are refused", () => {
  expectWire(() => parseUdp(DNS.subarray(0, 7)), "truncated");
  expectWire(() => new UdpPacket(new Uint8Array(0)), "truncated");
  expectWire(() => parseUdp(DNS.subarray(0, DNS.length - 1)), "truncated");
  const tooShort = DNS.slice();
  tooShort.set([0, 7], 4);
  expectWire(() => parseUdp(tooShort), "bad-length");
  const tooLong = HELLO.slice();
  tooLong.set([0xff, 0xff], 4);
  expectWire(() => new UdpPacket(tooLong), "truncated");
  // Length 8: an empty datagram.
  const empty = hex("0001 0002 0008 0000");
  assert.equal(parseUdp(empty).payload.length, 0);
});

Deno.test("udp: bytes past the Length field are trimmed and the checksum still verifies", () => {
  const padded = new Uint8Array(HELLO.length + 3);
  padded.set(HELLO);
  padded.set([9, 9, 9], HELLO.length);
  // The caller's pseudo-header sum counts the bytes it has (the IP payload length).
  const r = parseUdp(padded, { pseudoSum: ps4(padded) });
  assert.equal(toHex(r.payload), "68656c6c6f");
  assert.equal(new UdpPacket(padded).payload.length, 5);
  assert.ok(new UdpPacket(padded).verifyChecksum(ps4(padded)));
});

Deno.test("udp: the checked view reads fields; the unchecked one builds a datagram", () => {
  const v = new UdpPacket(HELLO);
  assert.equal(v.srcPort, 5353);
  assert.equal(v.dstPort, 53);
  assert.equal(v.length, 13);
  assert.equal(v.checksum, 0x92e1);
  assert.ok(v.verifyChecksum(ps4(HELLO)));
  const buf = new Uint8Array(13).fill(0xa5);
  buf.set(HELLO.subarray(8), 8);
  const out = UdpPacket.unchecked(buf);
  out.srcPort = 5353;
  out.dstPort = 53;
  out.length = 13;
  out.fillChecksum(ps4(buf));
  assert.equal(toHex(buf), toHex(HELLO));
});

Deno.test("udp: a payload written in place first is not copied again", () => {
  const buf = new Uint8Array(13).fill(0xa5);
  const payload = buf.subarray(UDP_HEADER_LEN);
  payload.set(HELLO.subarray(8));
  assert.equal(emitUdp({ srcPort: 5353, dstPort: 53, payload }, buf, { pseudoSum: ps4(buf) }), 13);
  assert.equal(toHex(buf), toHex(HELLO));
});

Deno.test("udp: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0x0d9);
  const seeds = [DNS, HELLO, V6];
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = new Uint8Array(rng.nextInt(40));
      for (let j = 0; j < input.length; j++) input[j] = rng.nextInt(256);
      if (input.length >= 6 && rng.chance(0.5)) input.set([0, input.length], 4);
    } else {
      const seed = seeds[rng.nextInt(seeds.length)];
      input = seed.slice(0, rng.chance(0.5) ? seed.length : rng.nextInt(seed.length + 1));
      for (let k = rng.nextInt(3); k > 0 && input.length > 0; k--) {
        input[rng.nextInt(input.length)] = rng.nextInt(256);
      }
    }
    const ipVersion = rng.chance(0.5) ? 4 : 6;
    const pseudoSum = rng.chance(0.5) ? undefined : ipVersion === 4 ? ps4(input) : ps6(input);
    try {
      const r = parseUdp(input, { pseudoSum, ipVersion });
      parsed++;
      const len = udpLength(r);
      const ps = ipVersion === 4
        ? pseudoHeaderSum4(A, B, 17, len)
        : pseudoHeaderSum6(LL1, LL2, 17, len);
      const again = parseUdp(encodeUdp(r, { pseudoSum: ps }), { pseudoSum: ps, ipVersion });
      assert.equal(again.payload.length, r.payload.length);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 10_000, `${parsed} inputs parsed`);
});
