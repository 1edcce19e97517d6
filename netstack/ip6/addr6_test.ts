/** IPv6 address helpers: EUI-64, solicited-node groups, prefixes, v4-mapped addresses. */
import assert from "node:assert/strict";
import { formatIPv6, parseIPv6 } from "../wire/addr.ts";
import {
  commonPrefixLen6,
  isV4Mapped,
  linkLocalFromMac,
  mappedFromV4,
  maskPrefix6,
  parseCidr6,
  prefixMatch6,
  scopeOf6,
  solicitedNode,
  v4FromMapped,
} from "./addr6.ts";

Deno.test("link-local from a MAC flips the U/L bit and inserts ff:fe", () => {
  const ll = linkLocalFromMac(Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56));
  assert.equal(formatIPv6(ll), "fe80::5054:ff:fe12:3456");
  assert.equal(scopeOf6(ll), "link");
});

Deno.test("solicited-node group keeps the low 24 bits", () => {
  assert.equal(
    formatIPv6(solicitedNode(parseIPv6("2001:db8::aa:bbcc:ddee")!)),
    "ff02::1:ffcc:ddee",
  );
});

Deno.test("prefixes: match, mask, common length, CIDR parsing", () => {
  const a = parseIPv6("2001:db8:1:2::1")!;
  assert.ok(prefixMatch6(a, parseIPv6("2001:db8:1::")!, 48));
  assert.ok(!prefixMatch6(a, parseIPv6("2001:db8:1::")!, 64));
  assert.ok(prefixMatch6(a, parseIPv6("2001:db9::")!, 15));
  assert.equal(formatIPv6(maskPrefix6(a, 50)), "2001:db8:1::");
  assert.equal(commonPrefixLen6(a, parseIPv6("2001:db8:1:3::")!), 63);
  assert.deepEqual(parseCidr6("fe80::1/64"), { addr: parseIPv6("fe80::1"), prefixLen: 64 });
  assert.equal(parseCidr6("fe80::1/129"), undefined);
  assert.equal(parseCidr6("10.0.0.1/8"), undefined);
});

Deno.test("v4-mapped addresses round trip", () => {
  const m = mappedFromV4(0x0a000001);
  assert.ok(isV4Mapped(m));
  assert.equal(formatIPv6(m), "::ffff:10.0.0.1");
  assert.equal(v4FromMapped(m), 0x0a000001);
  assert.ok(!isV4Mapped(parseIPv6("::1")!));
});
