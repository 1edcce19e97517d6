import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv4 } from "./addr.ts";
import { checksum } from "./checksum.ts";
import { WireError } from "./errors.ts";
import {
  decrementTtl,
  emitIpv4,
  encodeIpv4,
  hasIpv4Option,
  IpProtocol,
  ipProtocolName,
  IPV4_HEADER_LEN,
  IPV4_OPTION_ROUTER_ALERT,
  ipv4FragmentOptions,
  ipv4HeaderLength,
  ipv4Length,
  ipv4OptionsError,
  Ipv4OptionType,
  Ipv4Packet,
  type Ipv4Repr,
  parseIpv4,
} from "./ipv4.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

// IPv4 datagrams (Ethernet header removed) built with scapy 2.5.0; checksums by scapy.
// ICMP echo request 10.0.0.1 -> 10.0.0.2, DF, TTL 64, 56 data bytes.
const PING = hex(
  "450000541c46400040010a610a0000010a000002080031eb0d3f0001" +
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233343536373839" +
    "3a3b3c3d3e3f4041424344454647",
);
// Record Route option (11 bytes + 1 byte EOL padding, IHL 8) on an ICMP echo request.
const WITH_OPTIONS = hex(
  "4800002b43210000400115a40a0000010a000002070b0400000000000000000008001484000500066f7074",
);
// A middle fragment: MF, offset 185 units (1480 bytes), UDP.
const FRAGMENT = hex(
  "4500002cabcd20b940119a380a0000010a000002464646464646464646464646464646464646464646464646",
);
// UDP DNS query with DF.
const DNS = hex(
  "45000039424240004011e46f0a0000010a0000029c40003500256d8a" +
    "123401000001000000000000076578616d706c6503636f6d0000010001",
);
// IGMPv2 report: TOS 0xc0, TTL 1, Router Alert.
const IGMP = hex("46c00020000100000102391b0a000001e00000fb94040000161408f0e00000fb");

const ALL = [PING, WITH_OPTIONS, FRAGMENT, DNS, IGMP];

Deno.test("ipv4: parses a Linux-style echo request", () => {
  const r = parseIpv4(PING);
  assert.equal(r.dscp, 0);
  assert.equal(r.ecn, 0);
  assert.equal(r.ident, 0x1c46);
  assert.equal(r.dontFragment, true);
  assert.equal(r.moreFragments, false);
  assert.equal(r.fragmentOffset, 0);
  assert.equal(r.ttl, 64);
  assert.equal(r.protocol, IpProtocol.ICMP);
  assert.equal(formatIPv4(r.src), "10.0.0.1");
  assert.equal(formatIPv4(r.dst), "10.0.0.2");
  assert.equal(r.options.length, 0);
  assert.equal(r.payload.length, 64);
  assert.equal(r.payload.buffer, PING.buffer);
  assert.equal(r.payload.byteOffset, PING.byteOffset + IPV4_HEADER_LEN);
});

Deno.test("ipv4: options are carried as raw bytes, padding included", () => {
  const r = parseIpv4(WITH_OPTIONS);
  assert.equal(toHex(r.options), "070b04000000000000000000");
  assert.equal(ipv4HeaderLength(r), 32);
  assert.equal(toHex(r.payload), "08001484000500066f7074");
  const igmp = parseIpv4(IGMP);
  assert.equal(toHex(igmp.options), toHex(IPV4_OPTION_ROUTER_ALERT));
  assert.equal(igmp.dscp, 48);
  assert.equal(igmp.ttl, 1);
  assert.equal(igmp.protocol, IpProtocol.IGMP);
});

Deno.test("ipv4: fragment offset is in bytes and MF is read", () => {
  const r = parseIpv4(FRAGMENT);
  assert.equal(r.ident, 0xabcd);
  assert.equal(r.moreFragments, true);
  assert.equal(r.dontFragment, false);
  assert.equal(r.fragmentOffset, 1480);
  assert.equal(r.payload.length, 24);
});

Deno.test("ipv4: trailing Ethernet padding is ignored", () => {
  const padded = new Uint8Array(IGMP.length + 14);
  padded.set(IGMP);
  const r = parseIpv4(padded);
  assert.equal(r.payload.length, 8);
  assert.equal(toHex(encodeIpv4(r)), toHex(IGMP));
  assert.equal(new Ipv4Packet(padded).payload.length, 8);
});

Deno.test("ipv4: parse→emit round trips are byte-identical", () => {
  for (const p of ALL) {
    const r = parseIpv4(p);
    assert.equal(ipv4Length(r), p.length);
    assert.equal(toHex(encodeIpv4(r)), toHex(p));
  }
});

Deno.test("ipv4: emit writes every byte (0xa5 canary) and nothing past the datagram", () => {
  for (const p of ALL) {
    const buf = new Uint8Array(p.length + 8).fill(0xa5);
    assert.equal(emitIpv4(parseIpv4(p), buf), p.length);
    assert.equal(toHex(buf.subarray(0, p.length)), toHex(p));
    assert.ok(buf.subarray(p.length).every((b) => b === 0xa5));
  }
});

Deno.test("ipv4: emit pads odd-sized options with zeros and encodes DSCP/ECN", () => {
  const repr: Ipv4Repr = {
    dscp: 46,
    ecn: 2,
    ident: 7,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 255,
    protocol: 253,
    src: 0xc0000201,
    dst: 0xc6336401,
    options: hex("010101"),
    payload: hex("beef"),
  };
  const buf = new Uint8Array(26).fill(0xa5);
  assert.equal(emitIpv4(repr, buf), 26);
  assert.equal(toHex(buf.subarray(0, 2)), "46ba");
  assert.equal(toHex(buf.subarray(20)), "01010100beef");
  const back = parseIpv4(buf);
  assert.equal(back.dscp, 46);
  assert.equal(back.ecn, 2);
  assert.equal(back.protocol, 253);
  assert.equal(ipProtocolName(back.protocol), "proto 253");
});

Deno.test("ipv4: a payload emitted in place first is not copied again", () => {
  const buf = new Uint8Array(24).fill(0xa5);
  const payload = buf.subarray(20);
  payload.set([1, 2, 3, 4]);
  const repr = { ...parseIpv4(PING), payload };
  assert.equal(emitIpv4(repr, buf), 24);
  assert.equal(toHex(buf.subarray(20)), "01020304");
  assert.ok(new Ipv4Packet(buf).verifyChecksum());
});

Deno.test("ipv4: caller bugs in emit are RangeErrors", () => {
  const r = parseIpv4(PING);
  assert.throws(() => emitIpv4(r, new Uint8Array(PING.length - 1)), RangeError);
  assert.throws(() => encodeIpv4({ ...r, options: new Uint8Array(41) }), RangeError);
  assert.throws(() => encodeIpv4({ ...r, fragmentOffset: 12 }), RangeError);
  assert.throws(() => encodeIpv4({ ...r, fragmentOffset: 65536 }), RangeError);
  assert.throws(() => encodeIpv4({ ...r, payload: new Uint8Array(65516) }), RangeError);
  assert.equal(encodeIpv4({ ...r, options: new Uint8Array(40) }).length, 60 + 64);
});

Deno.test("ipv4: truncated and impossible headers are refused with their reason", () => {
  expectWire(() => parseIpv4(PING.subarray(0, 19)), "truncated");
  expectWire(() => parseIpv4(new Uint8Array(0)), "truncated");
  expectWire(() => parseIpv4(PING.subarray(0, 83)), "truncated"); // total length 84
  const v6 = PING.slice();
  v6[0] = 0x65;
  expectWire(() => parseIpv4(v6), "bad-version");
  const ihl4 = PING.slice();
  ihl4[0] = 0x44;
  expectWire(() => parseIpv4(ihl4), "bad-length");
  const shortTotal = PING.slice();
  shortTotal.set([0, 19], 2);
  expectWire(() => parseIpv4(shortTotal), "bad-length");
  const ihlPastTotal = PING.slice();
  ihlPastTotal[0] = 0x4f; // A 60-byte header in a datagram whose total length is 40.
  ihlPastTotal.set([0, 40], 2);
  expectWire(() => new Ipv4Packet(ihlPastTotal), "bad-length");
  const ihlPastBuffer = PING.slice(0, 24);
  ihlPastBuffer[0] = 0x4f;
  ihlPastBuffer.set([0, 60], 2);
  expectWire(() => parseIpv4(ihlPastBuffer), "truncated");
});

Deno.test("ipv4: the header checksum is verified unless the caller opts out", () => {
  const bad = PING.slice();
  bad[8] = 63; // TTL changed, checksum not
  expectWire(() => parseIpv4(bad), "bad-checksum");
  expectWire(() => parseIpv4(bad, { verifyChecksum: true }), "bad-checksum");
  assert.equal(parseIpv4(bad, { verifyChecksum: false }).ttl, 63);
  assert.ok(!new Ipv4Packet(bad).verifyChecksum());
  // A payload error does not affect the header checksum.
  const payloadFlip = PING.slice();
  payloadFlip[40] ^= 1;
  assert.equal(parseIpv4(payloadFlip).ttl, 64);
});

Deno.test("ipv4: decrementTtl patches the checksum as a recomputation would (RFC 1624)", () => {
  for (const p of ALL) {
    const buf = p.slice();
    let ttl = buf[8];
    while (ttl > 0) {
      assert.equal(decrementTtl(buf), ttl - 1);
      ttl--;
      const hl = (buf[0] & 15) * 4;
      const copy = buf.slice(0, hl);
      copy[10] = 0;
      copy[11] = 0;
      assert.equal((buf[10] << 8) | buf[11], checksum(copy), `ttl ${ttl}`);
      assert.equal(parseIpv4(buf).ttl, ttl);
    }
    assert.equal(decrementTtl(buf), 0);
    assert.equal(buf[8], 0);
  }
  expectWire(() => decrementTtl(new Uint8Array(19)), "truncated");
});

Deno.test("ipv4: the checked view reads fields; the unchecked one builds a header", () => {
  const v = new Ipv4Packet(WITH_OPTIONS);
  assert.equal(v.version, 4);
  assert.equal(v.headerLength, 32);
  assert.equal(v.totalLength, WITH_OPTIONS.length);
  assert.equal(v.ident, 0x4321);
  assert.equal(v.ttl, 64);
  assert.equal(v.protocol, IpProtocol.ICMP);
  assert.equal(v.src, 0x0a000001);
  assert.equal(v.dst, 0x0a000002);
  assert.equal(v.options.length, 12);
  assert.equal(v.payload.length, 11);
  assert.ok(v.verifyChecksum());
  const f = new Ipv4Packet(FRAGMENT);
  assert.ok(f.moreFragments && !f.dontFragment);
  assert.equal(f.fragmentOffset, 1480);
  assert.equal(new Ipv4Packet(IGMP).dscp, 48);

  const buf = new Uint8Array(PING.length).fill(0xa5);
  buf.set(PING.subarray(20), 20);
  const out = Ipv4Packet.unchecked(buf);
  out.headerLength = 20;
  buf[1] = 0;
  out.totalLength = PING.length;
  out.ident = 0x1c46;
  buf.set([0x40, 0], 6);
  out.ttl = 64;
  out.protocol = IpProtocol.ICMP;
  out.src = 0x0a000001;
  out.dst = 0x0a000002;
  out.fillChecksum();
  assert.equal(out.checksum, 0x0a61);
  assert.equal(toHex(buf), toHex(PING));
});

Deno.test("ipv4: protocol names are for printing", () => {
  assert.equal(ipProtocolName(IpProtocol.TCP), "TCP");
  assert.equal(ipProtocolName(IpProtocol.UDP), "UDP");
  assert.equal(ipProtocolName(IpProtocol.ICMP), "ICMP");
  assert.equal(ipProtocolName(IpProtocol.IGMP), "IGMP");
  assert.equal(ipProtocolName(143), "proto 143");
});

Deno.test("ipv4: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0x1b4);
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Uint8Array;
    if (i % 3 === 0) {
      input = new Uint8Array(rng.nextInt(80));
      for (let j = 0; j < input.length; j++) input[j] = rng.nextInt(256);
      if (input.length > 0) input[0] = 0x40 | rng.nextInt(16);
    } else {
      const seed = ALL[rng.nextInt(ALL.length)];
      input = i % 3 === 1 ? seed.slice(0, rng.nextInt(seed.length + 1)) : seed.slice();
      for (let k = rng.nextInt(3); k > 0 && input.length > 0; k--) {
        input[rng.nextInt(Math.min(input.length, 24))] = rng.nextInt(256);
      }
    }
    const verifyChecksum = rng.chance(0.5);
    try {
      const r = parseIpv4(input, { verifyChecksum });
      parsed++;
      // Whatever parses re-encodes (fragment offsets and options are always emittable) and the
      // result parses to the same record.
      const again = parseIpv4(encodeIpv4(r));
      assert.equal(again.payload.length, r.payload.length);
      assert.equal(again.fragmentOffset, r.fragmentOffset);
      assert.equal(toHex(again.options), toHex(r.options));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 10_000, `${parsed} inputs parsed`);
});

Deno.test("ipv4FragmentOptions: uncopied options become NOOPs, copied ones stay, EOL stops", () => {
  // Router alert (copied), record route (not copied), NOOP, EOL then junk left alone.
  const opts = Uint8Array.of(0x94, 4, 0, 0, 7, 7, 4, 1, 2, 3, 4, 1, 0, 7, 3, 0);
  assert.deepEqual(
    ipv4FragmentOptions(opts),
    Uint8Array.of(0x94, 4, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 7, 3, 0),
  );
  assert.deepEqual(opts[4], 7, "the input is not modified");
  // Loose source route (0x83, copied) kept; a timestamp (0x44) with an impossible length stops it.
  const lsrr = Uint8Array.of(0x83, 7, 4, 10, 0, 0, 1, 0x44, 40, 5);
  assert.deepEqual(ipv4FragmentOptions(lsrr), lsrr);
  assert.deepEqual(ipv4FragmentOptions(Uint8Array.of(0x44, 4, 5, 0)), Uint8Array.of(1, 1, 1, 1));
});

Deno.test("hasIpv4Option finds source routes after NOOPs and other options, not past EOL", () => {
  const srr = [Ipv4OptionType.LSRR, Ipv4OptionType.SSRR];
  assert.equal(hasIpv4Option(Uint8Array.of(0x83, 7, 4, 10, 0, 0, 1, 0), srr), true);
  assert.equal(hasIpv4Option(Uint8Array.of(1, 0x94, 4, 0, 0, 0x89, 7, 4, 1, 2, 3, 4), srr), true);
  assert.equal(hasIpv4Option(Uint8Array.of(0x94, 4, 0, 0), srr), false);
  assert.equal(hasIpv4Option(Uint8Array.of(0, 0x83, 7, 4), srr), false);
  assert.equal(hasIpv4Option(Uint8Array.of(0x44, 0, 0x83, 3), srr), false, "impossible length");
  assert.equal(hasIpv4Option(new Uint8Array(0), srr), false);
});

Deno.test("ipv4OptionsError points at an option whose length is short or overruns", () => {
  assert.equal(ipv4OptionsError(Uint8Array.of(0x94, 4, 0, 0)), undefined);
  assert.equal(ipv4OptionsError(Uint8Array.of(1, 1, 0, 0x44)), undefined, "after EOL: padding");
  assert.equal(ipv4OptionsError(Uint8Array.of(1, 0x44, 1, 0)), 1);
  assert.equal(ipv4OptionsError(Uint8Array.of(0x94, 4, 0, 0, 0x94, 8, 0, 0)), 4);
  assert.equal(ipv4OptionsError(Uint8Array.of(1, 1, 1, 0x83)), 3, "no length byte");
});
