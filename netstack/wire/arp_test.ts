import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv4, formatMac } from "./addr.ts";
import {
  ARP_LEN,
  arpLength,
  ArpOp,
  arpOpName,
  ArpPacket,
  type ArpRepr,
  emitArp,
  encodeArp,
  parseArp,
} from "./arp.ts";
import { WireError } from "./errors.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

// ARP payloads (after the Ethernet header) built with scapy 2.5.0.
// Who has 10.0.0.2? Tell 10.0.0.1 (52:54:00:12:34:56), with 18 bytes of Ethernet padding.
const REQUEST_PADDED = hex(
  "0001 0800 06 04 0001 525400123456 0a000001 000000000000 0a000002" +
    "000000000000000000000000000000000000",
);
// 10.0.0.2 is at 02:42:ac:11:00:02.
const REPLY = hex("0001 0800 06 04 0002 0242ac110002 0a000002 525400123456 0a000001");

Deno.test("arp: parses a padded request", () => {
  const r = parseArp(REQUEST_PADDED);
  assert.equal(r.op, ArpOp.REQUEST);
  assert.equal(formatMac(r.senderMac), "52:54:00:12:34:56");
  assert.equal(formatIPv4(r.senderIp), "10.0.0.1");
  assert.equal(formatMac(r.targetMac), "00:00:00:00:00:00");
  assert.equal(formatIPv4(r.targetIp), "10.0.0.2");
});

Deno.test("arp: parses a reply; MACs are copies safe to keep", () => {
  const bytes = REPLY.slice();
  const r = parseArp(bytes);
  assert.equal(r.op, ArpOp.REPLY);
  assert.equal(formatMac(r.senderMac), "02:42:ac:11:00:02");
  assert.equal(r.senderIp, 0x0a000002);
  assert.equal(formatMac(r.targetMac), "52:54:00:12:34:56");
  assert.equal(r.targetIp, 0x0a000001);
  bytes.fill(0);
  assert.equal(formatMac(r.senderMac), "02:42:ac:11:00:02");
});

Deno.test("arp: parse→emit round trips are byte-identical (padding dropped)", () => {
  assert.equal(toHex(encodeArp(parseArp(REPLY))), toHex(REPLY));
  assert.equal(toHex(encodeArp(parseArp(REQUEST_PADDED))), toHex(REQUEST_PADDED.subarray(0, 28)));
  assert.equal(arpLength(parseArp(REPLY)), ARP_LEN);
});

Deno.test("arp: emit writes all 28 bytes and nothing after them", () => {
  const buf = new Uint8Array(40).fill(0xa5);
  assert.equal(emitArp(parseArp(REPLY), buf), 28);
  assert.equal(toHex(buf.subarray(0, 28)), toHex(REPLY));
  assert.ok(buf.subarray(28).every((b) => b === 0xa5));
  assert.throws(() => emitArp(parseArp(REPLY), new Uint8Array(27)), RangeError);
});

Deno.test("arp: unknown operations stay numbers", () => {
  const repr: ArpRepr = { ...parseArp(REPLY), op: 4 }; // RARP reply
  const r = parseArp(encodeArp(repr));
  assert.equal(r.op, 4);
  assert.equal(arpOpName(4), "op 4");
  assert.equal(arpOpName(ArpOp.REQUEST), "request");
  assert.equal(arpOpName(ArpOp.REPLY), "reply");
});

Deno.test("arp: truncated, non-Ethernet/IPv4 and impossible lengths are refused", () => {
  expectWire(() => parseArp(REPLY.subarray(0, 27)), "truncated");
  expectWire(() => parseArp(new Uint8Array(0)), "truncated");
  const ieee802 = REPLY.slice();
  ieee802[1] = 6; // htype IEEE 802
  expectWire(() => parseArp(ieee802), "unsupported");
  const ipv6 = REPLY.slice();
  ipv6.set([0x86, 0xdd], 2);
  expectWire(() => parseArp(ipv6), "unsupported");
  const hlen = REPLY.slice();
  hlen[4] = 8;
  expectWire(() => parseArp(hlen), "bad-length");
  const plen = REPLY.slice();
  plen[5] = 16;
  expectWire(() => new ArpPacket(plen), "bad-length");
});

Deno.test("arp: the checked view reads fields; the unchecked one builds a reply in place", () => {
  const req = new ArpPacket(REQUEST_PADDED);
  assert.equal(req.op, ArpOp.REQUEST);
  assert.equal(req.senderIp, 0x0a000001);
  assert.equal(req.targetIp, 0x0a000002);
  assert.equal(formatMac(req.senderMac), "52:54:00:12:34:56");
  assert.equal(formatMac(req.targetMac), "00:00:00:00:00:00");

  // Answer in place, as a responder might: swap the roles, fill in our MAC.
  const buf = REQUEST_PADDED.slice(0, 28);
  const out = ArpPacket.unchecked(buf);
  const ourMac = hex("0242ac110002");
  out.targetMac.set(req.senderMac);
  out.senderMac.set(ourMac);
  out.targetIp = req.senderIp;
  out.senderIp = 0x0a000002;
  out.op = ArpOp.REPLY;
  assert.equal(toHex(buf), toHex(REPLY));
});

Deno.test("arp: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0xa4b);
  const seeds = [REQUEST_PADDED, REPLY];
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = new Uint8Array(rng.nextInt(40));
      for (let j = 0; j < input.length; j++) input[j] = rng.nextInt(256);
      if (input.length >= 6 && rng.chance(0.5)) input.set([0, 1, 8, 0, 6, 4]);
    } else {
      const seed = seeds[rng.nextInt(seeds.length)];
      input = seed.slice(0, rng.nextInt(seed.length + 1));
      for (let k = rng.nextInt(3); k > 0 && input.length > 0; k--) {
        input[rng.nextInt(input.length)] = rng.nextInt(256);
      }
    }
    try {
      const r = parseArp(input);
      parsed++;
      assert.equal(toHex(encodeArp(r)), toHex(input.subarray(0, ARP_LEN)));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 10_000, `${parsed} inputs parsed`);
});
