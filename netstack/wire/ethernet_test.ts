import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatMac, parseIPv4, parseIPv6 } from "./addr.ts";
import { WireError } from "./errors.ts";
import {
  BROADCAST_MAC,
  emitEthernet,
  encodeEthernet,
  ETHERNET_HEADER_LEN,
  ETHERNET_VLAN_HEADER_LEN,
  EthernetFrame,
  ethernetLength,
  type EthernetRepr,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ETHERTYPE_VLAN,
  etherTypeName,
  ipv4MulticastMac,
  ipv6MulticastMac,
  isBroadcastMac,
  isMulticastMac,
  isUnicastMac,
  parseEthernet,
} from "./ethernet.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

// Frames built with scapy 2.5.0 (checksums computed by scapy, independently of Serin).
// ping: 52:54:00:12:34:56 -> 02:42:ac:11:00:02, IPv4 10.0.0.1 -> 10.0.0.2 ICMP echo request.
const PING = hex(
  "0242ac1100025254001234560800450000541c46400040010a610a0000010a000002080031eb0d3f0001" +
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233343536373839" +
    "3a3b3c3d3e3f4041424344454647",
);
// ARP who-has 10.0.0.2, broadcast, padded to the 60-byte minimum.
const ARPREQ = hex(
  "ffffffffffff525400123456080600010800060400015254001234560a0000010000000000000a000002" +
    "000000000000000000000000000000000000",
);
// 802.1Q PCP 5, DEI 1, VID 100, carrying IPv4/UDP "hello".
const VLAN = hex(
  "0242ac1100025254001234568100b06408004500002100010000401166c90a0000010a00000214e90035" +
    "000d92e168656c6c6f",
);
// IPv6/UDP fe80::1 -> fe80::2.
const UDP6 = hex(
  "0242ac11000252540012345686dd6000000000121140fe800000000000000000000000000001fe800000" +
    "0000000000000000000000020222022300121fa06468637076362d697368",
);

Deno.test("ethernet: parses an untagged IPv4 frame with a zero-copy payload", () => {
  const r = parseEthernet(PING);
  assert.equal(formatMac(r.dst), "02:42:ac:11:00:02");
  assert.equal(formatMac(r.src), "52:54:00:12:34:56");
  assert.equal(r.ethertype, ETHERTYPE_IPV4);
  assert.equal(r.vlan, undefined);
  assert.equal(r.payload.length, PING.length - ETHERNET_HEADER_LEN);
  assert.equal(r.payload.buffer, PING.buffer);
  assert.equal(r.payload.byteOffset, PING.byteOffset + ETHERNET_HEADER_LEN);
  // The addresses are views too (copy them to keep them).
  assert.equal(r.src.buffer, PING.buffer);
  assert.equal(r.src.byteOffset, PING.byteOffset + 6);
});

Deno.test("ethernet: parses an 802.1Q tag (PCP, DEI, VID) and the inner EtherType", () => {
  const r = parseEthernet(VLAN);
  assert.deepEqual(r.vlan, { pcp: 5, dei: true, vid: 100 });
  assert.equal(r.ethertype, ETHERTYPE_IPV4);
  assert.equal(r.payload.length, VLAN.length - ETHERNET_VLAN_HEADER_LEN);
  assert.equal(r.payload[0], 0x45);
});

Deno.test("ethernet: ARP and IPv6 frames, padding kept in the payload", () => {
  const arp = parseEthernet(ARPREQ);
  assert.ok(isBroadcastMac(arp.dst));
  assert.equal(arp.ethertype, ETHERTYPE_ARP);
  assert.equal(arp.payload.length, 46);
  assert.equal(parseEthernet(UDP6).ethertype, ETHERTYPE_IPV6);
});

Deno.test("ethernet: parse→emit round trips are byte-identical", () => {
  for (const frame of [PING, ARPREQ, VLAN, UDP6]) {
    const r = parseEthernet(frame);
    assert.equal(ethernetLength(r), frame.length);
    assert.equal(toHex(encodeEthernet(r)), toHex(frame));
  }
});

Deno.test("ethernet: emit writes every header byte and nothing past the frame", () => {
  for (const frame of [PING, VLAN]) {
    const r = parseEthernet(frame);
    const buf = new Uint8Array(frame.length + 16).fill(0xa5);
    assert.equal(emitEthernet(r, buf), frame.length);
    assert.equal(toHex(buf.subarray(0, frame.length)), toHex(frame));
    assert.ok(buf.subarray(frame.length).every((b) => b === 0xa5));
  }
});

Deno.test("ethernet: DEI and the extreme PCP/VID values survive a round trip", () => {
  const repr: EthernetRepr = {
    dst: BROADCAST_MAC,
    src: hex("020000000001"),
    ethertype: 0x88cc,
    vlan: { pcp: 7, dei: true, vid: 4095 },
    payload: hex("0102"),
  };
  const bytes = encodeEthernet(repr);
  assert.equal(toHex(bytes.subarray(12, 18)), "8100ffff88cc");
  assert.deepEqual(parseEthernet(bytes), repr);
});

Deno.test("ethernet: a payload already in place in the buffer is not copied over itself", () => {
  const buf = new Uint8Array(ETHERNET_HEADER_LEN + 4).fill(0xa5);
  const payload = buf.subarray(ETHERNET_HEADER_LEN);
  payload.set([1, 2, 3, 4]);
  const n = emitEthernet({
    dst: BROADCAST_MAC,
    src: hex("525400123456"),
    ethertype: ETHERTYPE_IPV4,
    payload,
  }, buf);
  assert.equal(n, 18);
  assert.equal(toHex(buf), "ffffffffffff525400123456080001020304");
});

Deno.test("ethernet: too-small buffers are a caller bug (RangeError)", () => {
  const r = parseEthernet(PING);
  assert.throws(() => emitEthernet(r, new Uint8Array(PING.length - 1)), RangeError);
});

Deno.test("ethernet: truncated headers are refused", () => {
  expectWire(() => parseEthernet(PING.subarray(0, 13)), "truncated");
  expectWire(() => parseEthernet(new Uint8Array(0)), "truncated");
  expectWire(() => parseEthernet(VLAN.subarray(0, 17)), "truncated");
  expectWire(() => new EthernetFrame(VLAN.subarray(0, 16)), "truncated");
  assert.equal(parseEthernet(PING.subarray(0, 14)).payload.length, 0);
  assert.equal(parseEthernet(VLAN.subarray(0, 18)).payload.length, 0);
});

Deno.test("ethernet: the checked view reads fields and the unchecked one writes them", () => {
  const tagged = new EthernetFrame(VLAN);
  assert.ok(tagged.tagged);
  assert.equal(tagged.tci, 0xb064);
  assert.equal(tagged.ethertype, ETHERTYPE_IPV4);
  assert.equal(tagged.headerLength, 18);
  assert.equal(tagged.payload.length, VLAN.length - 18);
  const plain = new EthernetFrame(PING);
  assert.ok(!plain.tagged);
  assert.equal(plain.tci, 0);
  assert.equal(formatMac(plain.src), "52:54:00:12:34:56");

  const out = EthernetFrame.unchecked(new Uint8Array(14).fill(0xa5));
  out.dst = plain.dst;
  out.src = plain.src;
  out.bytes.set([0x08, 0x00], 12);
  assert.equal(toHex(out.bytes), toHex(PING.subarray(0, 14)));
});

Deno.test("ethernet: broadcast, multicast and unicast MAC helpers", () => {
  assert.ok(isBroadcastMac(BROADCAST_MAC));
  assert.ok(isMulticastMac(BROADCAST_MAC));
  assert.ok(!isBroadcastMac(hex("ffffffffff7f")));
  assert.ok(isMulticastMac(hex("01005e0000fb")));
  assert.ok(isMulticastMac(hex("333300000001")));
  assert.ok(isUnicastMac(hex("525400123456")));
  assert.ok(!isMulticastMac(hex("525400123456")));
});

Deno.test("ethernet: IPv4 and IPv6 multicast groups map to their MACs", () => {
  assert.equal(formatMac(ipv4MulticastMac(parseIPv4("224.0.0.251")!)), "01:00:5e:00:00:fb");
  // Only the low 23 bits are kept: 239.255.255.250 and 224.127.255.250 share a MAC.
  assert.equal(formatMac(ipv4MulticastMac(parseIPv4("239.255.255.250")!)), "01:00:5e:7f:ff:fa");
  assert.equal(formatMac(ipv4MulticastMac(parseIPv4("224.127.255.250")!)), "01:00:5e:7f:ff:fa");
  assert.equal(formatMac(ipv6MulticastMac(parseIPv6("ff02::1:ff00:1")!)), "33:33:ff:00:00:01");
});

Deno.test("ethernet: EtherType names are for printing; unknown ones print as hex", () => {
  assert.equal(etherTypeName(ETHERTYPE_IPV4), "IPv4");
  assert.equal(etherTypeName(ETHERTYPE_ARP), "ARP");
  assert.equal(etherTypeName(ETHERTYPE_IPV6), "IPv6");
  assert.equal(etherTypeName(ETHERTYPE_VLAN), "802.1Q");
  assert.equal(etherTypeName(0x88cc), "0x88cc");
  assert.equal(etherTypeName(0x0026), "0x0026");
});

Deno.test("ethernet: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0xe7e7);
  const seeds = [PING, ARPREQ, VLAN, UDP6];
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = new Uint8Array(rng.nextInt(24));
      for (let j = 0; j < input.length; j++) input[j] = rng.chance(0.3) ? 0x81 : rng.nextInt(256);
    } else {
      const seed = seeds[rng.nextInt(seeds.length)];
      input = seed.slice(0, rng.nextInt(seed.length + 1));
      for (let k = rng.nextInt(4); k > 0 && input.length > 0; k--) {
        input[rng.nextInt(input.length)] = rng.nextInt(256);
      }
    }
    try {
      const r = parseEthernet(input);
      parsed++;
      assert.equal(toHex(encodeEthernet(r)), toHex(input));
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      assert.equal(e.reason, "truncated");
    }
  }
  assert.ok(parsed > 10_000, `${parsed} inputs parsed`);
});
