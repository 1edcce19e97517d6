import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv4 } from "./addr.ts";
import { WireError } from "./errors.ts";
import {
  emitIcmpv4,
  encodeIcmpv4,
  ICMPV4_HEADER_LEN,
  ICMPV4_MAX_QUOTE,
  Icmpv4DstUnreachableCode,
  icmpv4Length,
  Icmpv4Packet,
  icmpv4Quote,
  type Icmpv4Repr,
  Icmpv4Type,
  icmpv4TypeName,
  isIcmpv4Error,
  parseIcmpv4,
} from "./icmpv4.ts";
import { encodeIpv4, IPV4_HEADER_LEN, IPV4_MIN_REASSEMBLY_SIZE, parseIpv4 } from "./ipv4.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

// ICMP messages (IPv4 payloads) built with scapy 2.5.0; checksums by scapy.
const DATA = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
  "303132333435363738393a3b3c3d3e3f4041424344454647";
const ECHO_REQUEST = hex("080031eb0d3f0001" + DATA);
const ECHO_REPLY = hex("000039eb0d3f0001" + DATA);
// Port unreachable quoting all of 10.0.0.1:40001 -> 10.0.0.2:9 UDP "discard me please".
const PORT_UNREACHABLE = hex(
  "0303112a00000000" +
    "4500002d999900004011cd240a0000010a0000029c4100090019f16064697363617264206d6520706c65617365",
);
// Fragmentation needed, next-hop MTU 1400, quoting the header + 8 bytes of a 1440-byte TCP DF.
const FRAG_NEEDED = hex(
  "0304570900000578450005a0555540003f0614f90a000001c00002099c420050000003e8",
);
// TTL exceeded in transit for a traceroute probe to 8.8.8.8.
const TIME_EXCEEDED = hex(
  "0b000f4a000000004500003c0003000001119f9e0a00000108080808829a829b0028e057" +
    "0000000000000000000000000000000000000000000000000000000000000000",
);
// Host redirect to gateway 10.0.0.253.
const REDIRECT = hex(
  "0501623d0a0000fd4500002d999900004011cd240a0000010a0000029c4100090019f160",
);
// Parameter problem, pointer 20, quoting a datagram with a 4-byte unknown option.
const PARAM_PROBLEM = hex(
  "0c00f5171400000046000020000100004011cbc90a0000010a0000fe99040000000100020008eadc",
);

const ALL = [
  ECHO_REQUEST,
  ECHO_REPLY,
  PORT_UNREACHABLE,
  FRAG_NEEDED,
  TIME_EXCEEDED,
  REDIRECT,
  PARAM_PROBLEM,
];

/** A message with its checksum filled in (for hand-built cases). */
function withChecksum(b: Uint8Array): Uint8Array {
  const p = Icmpv4Packet.unchecked(b);
  p.fillChecksum();
  return b;
}

Deno.test("icmpv4: parses echo request and reply with zero-copy data", () => {
  const req = parseIcmpv4(ECHO_REQUEST);
  assert.equal(req.kind, "echo-request");
  if (req.kind !== "echo-request") return;
  assert.equal(req.identifier, 0x0d3f);
  assert.equal(req.sequence, 1);
  assert.equal(toHex(req.data), DATA);
  assert.equal(req.data.buffer, ECHO_REQUEST.buffer);
  const rep = parseIcmpv4(ECHO_REPLY);
  assert.deepEqual({ ...rep }, { ...req, kind: "echo-reply" });
});

Deno.test("icmpv4: port unreachable carries the invoking datagram", () => {
  const r = parseIcmpv4(PORT_UNREACHABLE);
  assert.equal(r.kind, "dst-unreachable");
  if (r.kind !== "dst-unreachable") return;
  assert.equal(r.code, Icmpv4DstUnreachableCode.PORT);
  assert.equal(r.nextHopMtu, 0);
  const inner = parseIpv4(r.invoking);
  assert.equal(formatIPv4(inner.dst), "10.0.0.2");
  assert.equal((inner.payload[2] << 8) | inner.payload[3], 9);
});

Deno.test("icmpv4: fragmentation needed reports the next-hop MTU (RFC 1191)", () => {
  const r = parseIcmpv4(FRAG_NEEDED);
  assert.equal(r.kind, "dst-unreachable");
  if (r.kind !== "dst-unreachable") return;
  assert.equal(r.code, Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED);
  assert.equal(r.nextHopMtu, 1400);
  assert.equal(r.invoking.length, 28);
  assert.equal(new Icmpv4Packet(FRAG_NEEDED).nextHopMtu, 1400);
});

Deno.test("icmpv4: time exceeded, redirect and parameter problem fields", () => {
  const te = parseIcmpv4(TIME_EXCEEDED);
  assert.deepEqual(te.kind === "time-exceeded" && [te.code, te.invoking.length], [0, 60]);
  const rd = parseIcmpv4(REDIRECT);
  assert.ok(rd.kind === "redirect");
  assert.equal(rd.code, 1);
  assert.equal(formatIPv4(rd.gateway), "10.0.0.253");
  const pp = parseIcmpv4(PARAM_PROBLEM);
  assert.ok(pp.kind === "param-problem");
  assert.equal(pp.code, 0);
  assert.equal(pp.pointer, 20);
});

Deno.test("icmpv4: source quench is parsed (to be counted and ignored)", () => {
  const msg = new Uint8Array(8 + 28);
  msg[0] = Icmpv4Type.SOURCE_QUENCH;
  msg.set(PORT_UNREACHABLE.subarray(8, 36), 8);
  withChecksum(msg);
  const r = parseIcmpv4(msg);
  assert.equal(r.kind, "source-quench");
  assert.equal(toHex(encodeIcmpv4(r)), toHex(msg));
});

Deno.test("icmpv4: unknown types stay numbers and round-trip", () => {
  const timestamp = withChecksum(hex("0d00 0000 1234 0001 00000001 00000000 00000000"));
  const r = parseIcmpv4(timestamp);
  assert.deepEqual(r.kind === "other" && [r.type, r.code, r.rest.length], [13, 0, 16]);
  assert.equal(toHex(encodeIcmpv4(r)), toHex(timestamp));
  assert.equal(icmpv4TypeName(13), "timestamp");
  assert.equal(icmpv4TypeName(42), "type 42");
});

Deno.test("icmpv4: parse→emit round trips are byte-identical", () => {
  for (const m of ALL) {
    const r = parseIcmpv4(m);
    assert.equal(icmpv4Length(r), m.length);
    assert.equal(toHex(encodeIcmpv4(r)), toHex(m));
  }
});

Deno.test("icmpv4: emit writes every byte (0xa5 canary) and nothing past the message", () => {
  for (const m of ALL) {
    const buf = new Uint8Array(m.length + 8).fill(0xa5);
    assert.equal(emitIcmpv4(parseIcmpv4(m), buf), m.length);
    assert.equal(toHex(buf.subarray(0, m.length)), toHex(m));
    assert.ok(buf.subarray(m.length).every((b) => b === 0xa5));
  }
  assert.throws(() => emitIcmpv4(parseIcmpv4(ECHO_REQUEST), new Uint8Array(10)), RangeError);
});

Deno.test("icmpv4: error quotes are capped so the whole error fits 576 bytes", () => {
  // A 1500-byte UDP datagram with 2 bytes of trailing link padding.
  const big = encodeIpv4({
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
    src: 0x0a000001,
    dst: 0x0a000002,
    options: new Uint8Array(0),
    payload: new Uint8Array(1480),
  });
  const quote = icmpv4Quote(big);
  assert.equal(quote.length, ICMPV4_MAX_QUOTE);
  assert.equal(quote.buffer, big.buffer);
  const err: Icmpv4Repr = { kind: "dst-unreachable", code: 3, nextHopMtu: 0, invoking: big };
  assert.equal(IPV4_HEADER_LEN + icmpv4Length(err), IPV4_MIN_REASSEMBLY_SIZE);
  const bytes = encodeIcmpv4(err);
  assert.equal(bytes.length, ICMPV4_HEADER_LEN + ICMPV4_MAX_QUOTE);
  assert.equal(parseIcmpv4(bytes).kind, "dst-unreachable");
  // A short datagram with Ethernet padding is quoted up to its Total Length only.
  const small = new Uint8Array(46);
  small.set(PORT_UNREACHABLE.subarray(8, 8 + 45));
  assert.equal(icmpv4Quote(small).length, 45);
});

Deno.test("icmpv4: bad checksums, truncation and malformed quotes are refused", () => {
  expectWire(() => parseIcmpv4(ECHO_REQUEST.subarray(0, 7)), "truncated");
  expectWire(() => new Icmpv4Packet(new Uint8Array(4)), "truncated");
  const flipped = ECHO_REQUEST.slice();
  flipped[20] ^= 0x40;
  expectWire(() => parseIcmpv4(flipped), "bad-checksum");
  assert.ok(!new Icmpv4Packet(flipped).verifyChecksum());

  // Quote shorter than an IPv4 header.
  expectWire(() => parseIcmpv4(withChecksum(PORT_UNREACHABLE.slice(0, 8 + 19))), "truncated");
  // Quote with the header but fewer than 8 bytes of its data.
  expectWire(() => parseIcmpv4(withChecksum(PORT_UNREACHABLE.slice(0, 8 + 27))), "truncated");
  // Quote that is not IPv4, or whose IHL is impossible.
  const v6 = PORT_UNREACHABLE.slice();
  v6[8] = 0x65;
  expectWire(() => parseIcmpv4(withChecksum(v6)), "malformed");
  const ihl = PORT_UNREACHABLE.slice();
  ihl[8] = 0x43;
  expectWire(() => parseIcmpv4(withChecksum(ihl)), "malformed");
  // A quote with a 60-byte header needs 60 + 8 bytes.
  const longHeader = REDIRECT.slice();
  longHeader[8] = 0x4f;
  longHeader.set([0x01, 0x00], 10);
  expectWire(() => parseIcmpv4(withChecksum(longHeader)), "truncated");
  // A datagram with only 4 bytes of data is quoted whole, and that is enough.
  const tiny = hex("0302 0000 00000000 45000018 0001 0000 40fd 0000 0a000001 0a000002 01020304");
  assert.equal(parseIcmpv4(withChecksum(tiny)).kind, "dst-unreachable");
});

Deno.test("icmpv4: error types are recognised so no error answers an error", () => {
  for (const t of [3, 4, 5, 11, 12]) assert.ok(isIcmpv4Error(t), `type ${t}`);
  for (const t of [0, 8, 13, 14, 255]) assert.ok(!isIcmpv4Error(t), `type ${t}`);
  assert.equal(icmpv4TypeName(Icmpv4Type.ECHO_REQUEST), "echo-request");
});

Deno.test("icmpv4: the checked view turns a request into its reply in place", () => {
  const buf = ECHO_REQUEST.slice();
  const v = new Icmpv4Packet(buf);
  assert.equal(v.type, Icmpv4Type.ECHO_REQUEST);
  assert.equal(v.code, 0);
  assert.equal(v.identifier, 0x0d3f);
  assert.equal(v.sequence, 1);
  assert.equal(v.checksum, 0x31eb);
  assert.equal(v.body.length, 56);
  assert.ok(v.verifyChecksum());
  v.type = Icmpv4Type.ECHO_REPLY;
  v.fillChecksum();
  assert.equal(toHex(buf), toHex(ECHO_REPLY));
  assert.equal(new Icmpv4Packet(REDIRECT).gateway, 0x0a0000fd);
  assert.equal(new Icmpv4Packet(PARAM_PROBLEM).pointer, 20);
});

Deno.test("icmpv4: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0x1c4);
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = new Uint8Array(rng.nextInt(64));
      for (let j = 0; j < input.length; j++) input[j] = rng.nextInt(256);
      if (input.length > 8) input[0] = [0, 3, 4, 5, 8, 11, 12][rng.nextInt(7)];
      if (input.length > 9 && rng.chance(0.7)) input[8] = 0x45;
    } else {
      const seed = ALL[rng.nextInt(ALL.length)];
      input = seed.slice(0, rng.chance(0.5) ? seed.length : rng.nextInt(seed.length + 1));
      for (let k = rng.nextInt(3); k > 0 && input.length > 0; k--) {
        input[rng.nextInt(input.length)] = rng.nextInt(256);
      }
    }
    // Most random inputs would only exercise the checksum check: fix it up half of the time.
    if (input.length >= 8 && rng.chance(0.5)) withChecksum(input);
    try {
      const r = parseIcmpv4(input);
      parsed++;
      assert.equal(parseIcmpv4(encodeIcmpv4(r)).kind, r.kind);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 10_000, `${parsed} inputs parsed`);
});
