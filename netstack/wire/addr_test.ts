import assert from "node:assert/strict";
import {
  bytesEqual,
  formatIPv4,
  formatIPv6,
  formatMac,
  parseCidr4,
  parseIPv4,
  parseIPv6,
  parseMac,
  prefixMask4,
} from "./addr.ts";

function v6(text: string): Uint8Array {
  const a = parseIPv6(text);
  assert.ok(a, `${text} should parse`);
  return a;
}

Deno.test("addr: IPv4 dotted quads parse to unsigned numbers and print back", () => {
  assert.equal(parseIPv4("10.0.0.1"), 0x0a000001);
  assert.equal(parseIPv4("0.0.0.0"), 0);
  assert.equal(parseIPv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIPv4("192.168.1.254"), 0xc0a801fe);
  assert.equal(formatIPv4(0xc0a801fe), "192.168.1.254");
  assert.equal(formatIPv4(0xffffffff), "255.255.255.255");
  assert.equal(formatIPv4(0), "0.0.0.0");
  // A signed 32-bit number (as `|` produces) prints the same as its unsigned value.
  assert.equal(formatIPv4(0xe0000001 | 0), "224.0.0.1");
});

Deno.test("addr: invalid IPv4 text is refused", () => {
  for (
    const bad of [
      "",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "1.2.3.-4",
      "1..2.3",
      "1.2.3.4 ",
      " 1.2.3.4",
      "a.b.c.d",
      "1234.1.1.1",
      "0x1.2.3.4",
      "1.2.3.4/24",
    ]
  ) {
    assert.equal(parseIPv4(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("addr: RFC 5952 §4.1 leading zeros suppressed, §4.3 lower case", () => {
  assert.equal(formatIPv6(v6("2001:0db8:0000:0000:0000:0000:0000:0001")), "2001:db8::1");
  assert.equal(formatIPv6(v6("2001:DB8::ABCD:EF")), "2001:db8::abcd:ef");
  assert.equal(
    formatIPv6(v6("2001:db8:aaaa:bbbb:cccc:dddd:eeee:0aaa")),
    "2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaa",
  );
});

Deno.test("addr: RFC 5952 §4.2 '::' rules", () => {
  // §4.2.1: shorten as much as possible.
  assert.equal(formatIPv6(v6("2001:db8:0:0:0:0:2:1")), "2001:db8::2:1");
  // §4.2.2: a single zero group is not shortened.
  assert.equal(formatIPv6(v6("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
  assert.equal(formatIPv6(v6("1::2:3:4:5:6:7")), "1:0:2:3:4:5:6:7");
  // §4.2.3: the longest run; the first of equal runs.
  assert.equal(formatIPv6(v6("2001:0:0:1:0:0:0:1")), "2001:0:0:1::1");
  assert.equal(formatIPv6(v6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  // Runs at either end, and all zeros.
  assert.equal(formatIPv6(new Uint8Array(16)), "::");
  assert.equal(formatIPv6(v6("::1")), "::1");
  assert.equal(formatIPv6(v6("1::")), "1::");
  assert.equal(formatIPv6(v6("fe80:0:0:0:0:0:0:1")), "fe80::1");
  assert.equal(formatIPv6(v6("ff02::1:ff00:1")), "ff02::1:ff00:1");
  assert.equal(formatIPv6(v6("1:2:3:4:5:6:7:8")), "1:2:3:4:5:6:7:8");
});

Deno.test("addr: IPv4-mapped addresses print in mixed notation (RFC 5952 §5)", () => {
  const mapped = v6("::ffff:192.0.2.1");
  assert.deepEqual(Array.from(mapped.subarray(10)), [0xff, 0xff, 192, 0, 2, 1]);
  assert.equal(formatIPv6(mapped), "::ffff:192.0.2.1");
  assert.equal(formatIPv6(v6("0:0:0:0:0:ffff:c000:0201")), "::ffff:192.0.2.1");
  assert.equal(formatIPv6(v6("::ffff:0.0.0.0")), "::ffff:0.0.0.0");
  // Only ::ffff:0:0/96 gets dotted notation; the deprecated IPv4-compatible form does not.
  assert.equal(formatIPv6(v6("::192.0.2.1")), "::c000:201");
  assert.equal(formatIPv6(v6("::1:ffff:c000:201")), "::1:ffff:c000:201");
  // An embedded IPv4 tail after six groups.
  assert.equal(formatIPv6(v6("1:2:3:4:5:6:1.2.3.4")), "1:2:3:4:5:6:102:304");
});

Deno.test("addr: every IPv6 text form parses back to the same bytes", () => {
  for (
    const text of [
      "::",
      "::1",
      "fe80::1",
      "2001:db8::2:1",
      "2001:db8:0:1:1:1:1:1",
      "::ffff:10.0.0.1",
      "ff02::fb",
      "1:2:3:4:5:6:7:8",
    ]
  ) {
    assert.equal(formatIPv6(v6(text)), text);
    assert.ok(bytesEqual(v6(formatIPv6(v6(text))), v6(text)));
  }
});

Deno.test("addr: a zone index is dropped", () => {
  assert.equal(formatIPv6(v6("fe80::1%eth0")), "fe80::1");
});

Deno.test("addr: invalid IPv6 text is refused", () => {
  for (
    const bad of [
      "",
      ":",
      ":::",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "1::2::3",
      "12345::",
      "g::1",
      ":1::2",
      "1::2:",
      "::1.2.3",
      "::1.2.3.256",
      "::1.2.3.4:5",
      "1:2:3:4:5:6:7:1.2.3.4",
      "10.0.0.1",
    ]
  ) {
    assert.equal(parseIPv6(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("addr: MAC addresses parse with colons or dashes and print lower-case", () => {
  const mac = parseMac("52:54:00:AB:cd:0f");
  assert.ok(mac);
  assert.deepEqual(Array.from(mac), [0x52, 0x54, 0x00, 0xab, 0xcd, 0x0f]);
  assert.equal(formatMac(mac), "52:54:00:ab:cd:0f");
  assert.equal(formatMac(parseMac("02-42-ac-11-00-02")!), "02:42:ac:11:00:02");
  assert.equal(formatMac(new Uint8Array([1, 2, 3, 4, 5, 6])), "01:02:03:04:05:06");
  for (
    const bad of [
      "",
      "52:54:00:12:34",
      "52:54:00:12:34:56:78",
      "52:54:00:12:34:5g",
      "525400123456",
      "52:54:00:12:34:567",
    ]
  ) {
    assert.equal(parseMac(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("addr: bytesEqual compares length and content", () => {
  assert.ok(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])));
  assert.ok(bytesEqual(new Uint8Array(0), new Uint8Array(0)));
});

Deno.test("addr: IPv4 prefix masks and CIDR text", () => {
  assert.equal(prefixMask4(0), 0);
  assert.equal(prefixMask4(1), 0x80000000);
  assert.equal(prefixMask4(24), 0xffffff00);
  assert.equal(prefixMask4(31), 0xfffffffe);
  assert.equal(prefixMask4(32), 0xffffffff);
  assert.deepEqual(parseCidr4("10.0.0.1/24"), { addr: 0x0a000001, prefixLen: 24 });
  assert.deepEqual(parseCidr4("10.0.0.1"), { addr: 0x0a000001, prefixLen: 32 });
  assert.deepEqual(parseCidr4("0.0.0.0/0"), { addr: 0, prefixLen: 0 });
  for (
    const bad of ["10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/x", "10.0.0.1/2.5", "10.0.0/8", "/8"]
  ) {
    assert.equal(parseCidr4(bad), undefined, bad);
  }
});

Deno.test({
  name: "addr: an IPv4 tail only at the end, and strict CIDR prefix text",
  fn() {
    // RFC 4291 §2.2: the dotted IPv4 part may only be the last 32 bits.
    assert.equal(parseIPv6("1.2.3.4::"), undefined);
    assert.equal(parseIPv6("1.2.3.4::5"), undefined);
    // The prefix must be 0..32 in decimal digits; Number() accepts "", " 8", "0x8", "1e1".
    for (const bad of ["10.0.0.1/", "10.0.0.1/ 8", "10.0.0.1/0x8", "10.0.0.1/1e1", "1.2.3.4/8/9"]) {
      assert.equal(parseCidr4(bad), undefined, bad);
    }
  },
});
