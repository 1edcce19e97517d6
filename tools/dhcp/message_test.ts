/**
 * DHCP messages against a real exchange with dnsmasq 2.90 (tests/fixtures/dhcp_dnsmasq.pcap, made
 * by tests/fixtures/dhcp_capture.sh), emitting into dirty buffers, round trips, and every way
 * options can be malformed.
 */
import assert from "node:assert/strict";
import { readPcap } from "../../netstack/wire/pcap.ts";
import { parseEthernet } from "../../netstack/wire/ethernet.ts";
import { parseIpv4 } from "../../netstack/wire/ipv4.ts";
import { parseUdp } from "../../netstack/wire/udp.ts";
import { parseIPv4 } from "../../netstack/wire/addr.ts";
import { WireError } from "../../netstack/wire/errors.ts";
import {
  DHCP_FIXED_LEN,
  DHCP_FLAG_BROADCAST,
  DHCP_MAGIC,
  dhcpLength,
  DhcpMessageType,
  DhcpOp,
  DhcpOption,
  type DhcpRepr,
  emitDhcp,
  encodeDhcp,
  parseDhcp,
} from "./message.ts";

const ip = (s: string) => parseIPv4(s)!;
const MAC = Uint8Array.of(2, 0, 0, 0, 0xe8, 2);

/** The UDP payloads of the fixture, in capture order. */
export function dnsmasqExchange(): Uint8Array[] {
  const pcap = readPcap(
    Deno.readFileSync(new URL("../../tests/fixtures/dhcp_dnsmasq.pcap", import.meta.url)),
  );
  return pcap.records.map((r) => {
    const eth = parseEthernet(r.data);
    return parseUdp(parseIpv4(eth.payload).payload).payload.slice();
  });
}

Deno.test("fixture: dnsmasq's OFFER carries every option the client asked for", () => {
  const [discover, offer] = dnsmasqExchange().map(parseDhcp);
  assert.equal(discover.messageType, DhcpMessageType.DISCOVER);
  assert.equal(discover.flags, DHCP_FLAG_BROADCAST);
  assert.deepEqual(discover.parameterRequestList, [1, 3, 6, 15, 26, 51, 58]);
  assert.equal(offer.op, DhcpOp.BOOTREPLY);
  assert.equal(offer.messageType, DhcpMessageType.OFFER);
  assert.equal(offer.xid, 0x5e121001);
  assert.deepEqual(offer.chaddr, MAC);
  assert.equal(offer.yiaddr, ip("10.232.0.51"));
  assert.equal(offer.serverId, ip("10.232.0.1"));
  assert.equal(offer.leaseTime, 120);
  assert.equal(offer.renewalTime, 60);
  assert.equal(offer.rebindingTime, 105);
  assert.equal(offer.subnetMask, ip("255.255.255.0"));
  assert.deepEqual(offer.routers, [ip("10.232.0.1")]);
  assert.deepEqual(offer.dnsServers, [ip("10.232.0.1"), ip("10.232.0.2")]);
  assert.equal(offer.domainName, "lab.test");
  assert.equal(offer.mtu, 1400);
  // Option 28 (broadcast address) is not one the client reads: kept as bytes.
  assert.deepEqual(offer.other, [{ code: 28, data: Uint8Array.of(10, 232, 0, 255) }]);
});

Deno.test("fixture: REQUEST, ACK, NAK and RELEASE parse as what dnsmasq logged", () => {
  const m = dnsmasqExchange().map(parseDhcp);
  assert.deepEqual(m.map((x) => x.messageType), [1, 2, 3, 5, 3, 6, 7]);
  assert.equal(m[2].requestedIp, ip("10.232.0.51"));
  assert.equal(m[2].serverId, ip("10.232.0.1"));
  assert.equal(m[3].yiaddr, ip("10.232.0.51"));
  assert.equal(m[3].leaseTime, 120);
  assert.equal(m[5].yiaddr, 0);
  assert.equal(m[5].serverId, ip("10.232.0.1"));
  assert.equal(typeof m[5].message, "string"); // dnsmasq says why ("address not available")
  assert.equal(m[6].ciaddr, ip("10.232.0.51"));
});

Deno.test("fixture: every captured message re-emits to the same fields and options", () => {
  for (const bytes of dnsmasqExchange()) {
    const m = parseDhcp(bytes);
    const again = parseDhcp(encodeDhcp(m));
    assert.deepEqual(again, m);
  }
});

Deno.test("fixture: the client's own messages re-emit byte for byte", () => {
  // dhcp_client.py writes options in the order emitDhcp does (53, 61, 50, 54, …, 55).
  const msgs = dnsmasqExchange();
  // It sends no padding; Serin pads to BOOTP's 300 bytes with zeros.
  for (const i of [0, 2]) {
    const again = encodeDhcp(parseDhcp(msgs[i]));
    assert.deepEqual(again.subarray(0, msgs[i].length), msgs[i]);
    assert.ok(again.subarray(msgs[i].length).every((x) => x === 0));
  }
});

function sample(): DhcpRepr {
  return {
    op: DhcpOp.BOOTREQUEST,
    xid: 0xdeadbeef,
    secs: 7,
    flags: DHCP_FLAG_BROADCAST,
    ciaddr: 0,
    yiaddr: 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: MAC,
    messageType: DhcpMessageType.REQUEST,
    requestedIp: ip("10.0.0.9"),
    serverId: ip("10.0.0.1"),
    clientId: Uint8Array.of(1, ...MAC),
    hostName: "serin",
    parameterRequestList: [1, 3, 6, 15, 26, 51, 58, 59],
  };
}

Deno.test("emit: writes every byte of a buffer filled with 0xa5", () => {
  const m = sample();
  const buf = new Uint8Array(dhcpLength(m) + 10).fill(0xa5);
  const n = emitDhcp(m, buf);
  assert.equal(n, 300); // padded to BOOTP's minimum
  assert.ok(!buf.subarray(0, n).includes(0xa5), "a byte the encoder forgot to write");
  assert.deepEqual(buf.subarray(n), new Uint8Array(10).fill(0xa5));
  assert.deepEqual(parseDhcp(buf.subarray(0, n)), { ...sample(), hops: 0 });
  assert.throws(() => emitDhcp(m, new Uint8Array(299)), RangeError);
});

Deno.test("emit: an option over 255 bytes is split and parses back whole (RFC 3396)", () => {
  const dns = Array.from({ length: 100 }, (_, i) => ip(`10.1.${i}.1`));
  const m: DhcpRepr = { ...sample(), op: DhcpOp.BOOTREPLY, dnsServers: dns };
  const b = encodeDhcp(m);
  assert.deepEqual(parseDhcp(b).dnsServers, dns);
});

/** A message with the fixed part and `opts` as raw option bytes. */
function raw(opts: number[], pad = 0): Uint8Array {
  const b = new Uint8Array(DHCP_FIXED_LEN + opts.length + pad);
  b.set([DhcpOp.BOOTREPLY, 1, 6, 0]);
  new DataView(b.buffer).setUint32(236, DHCP_MAGIC);
  b.set(MAC, 28);
  b.set(opts, DHCP_FIXED_LEN);
  return b;
}

function refuses(b: Uint8Array, reason: string) {
  assert.throws(() => parseDhcp(b), (e) => e instanceof WireError && e.reason === reason);
}

Deno.test("parse: malformed options are WireErrors, never anything else", () => {
  refuses(raw([53, 1, 2]), "malformed"); // no END
  refuses(raw([53, 1, 2, 51]), "truncated"); // a code with no length
  refuses(raw([53, 1, 2, 51, 4, 0, 0]), "truncated"); // length past the end
  refuses(raw([53, 2, 2, 0, 255]), "bad-length"); // overlong message type
  refuses(raw([53, 1, 9, 255]), "malformed"); // no such message type
  refuses(raw([1, 5, 255, 255, 255, 0, 0, 255]), "bad-length"); // overlong mask
  refuses(raw([3, 6, 10, 0, 0, 1, 10, 0, 255]), "bad-length"); // half a router
  refuses(raw([6, 0, 255]), "bad-length"); // no DNS server
  refuses(raw([26, 2, 0, 20, 255]), "malformed"); // MTU 20
  refuses(raw([15, 1, 0, 255]), "bad-length"); // an empty domain name
  refuses(raw([61, 1, 1, 255]), "bad-length");
  refuses(raw([52, 1, 4, 255]), "malformed"); // overload 4
  refuses(raw([52, 1, 1, 255]), "malformed"); // file has no END
  refuses(raw([255]).subarray(0, 239), "truncated");
  const noCookie = raw([255]);
  noCookie[236] = 0;
  refuses(noCookie, "malformed");
  const tokenRing = raw([255]);
  tokenRing[1] = 6;
  refuses(tokenRing, "unsupported");
  const badOp = raw([255]);
  badOp[0] = 3;
  refuses(badOp, "malformed");
});

Deno.test("parse: PAD, repeated options (concatenated) and overloaded file and sname", () => {
  const b = raw([0, 0, 53, 1, 5, 6, 4, 10, 0, 0, 1, 0, 6, 4, 10, 0, 0, 2, 52, 1, 3, 255]);
  b.set([15, 3, 0x6c, 0x61, 0x62, 255], 108); // file: domain "lab"
  b.set([51, 4, 0, 0, 0, 60, 255], 44); // sname: lease 60 s
  const m = parseDhcp(b);
  assert.equal(m.messageType, DhcpMessageType.ACK);
  assert.deepEqual(m.dnsServers, [ip("10.0.0.1"), ip("10.0.0.2")]);
  assert.equal(m.domainName, "lab");
  assert.equal(m.leaseTime, 60);
  // A trailing NUL in a string option (some servers count it) is not part of the name.
  assert.equal(parseDhcp(raw([15, 4, 0x6c, 0x61, 0x62, 0, 255])).domainName, "lab");
  // Bytes after END are padding.
  assert.equal(parseDhcp(raw([53, 1, 2, 255, 1, 2, 3])).messageType, DhcpMessageType.OFFER);
  // A BOOTP reply (no option 53) parses; the client decides what to do with it.
  assert.equal(parseDhcp(raw([255])).messageType, undefined);
});

Deno.test("parse: the option code table has no duplicates", () => {
  const codes = Object.values(DhcpOption);
  assert.equal(new Set(codes).size, codes.length);
});

Deno.test("parse: string options are one character per byte, and re-emit to the same bytes", () => {
  // Found by tests/fuzz/dhcp.ts: TextDecoder's "latin1" is windows-1252 (0x9f became U+0178).
  const b = raw([15, 4, 0xf8, 0x9f, 0xbb, 0x3d, 255]);
  const m = parseDhcp(b);
  assert.deepEqual([...m.domainName!].map((c) => c.charCodeAt(0)), [0xf8, 0x9f, 0xbb, 0x3d]);
  assert.deepEqual(parseDhcp(encodeDhcp(m)).domainName, m.domainName);
});
