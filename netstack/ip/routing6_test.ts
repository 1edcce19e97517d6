import assert from "node:assert/strict";
import { IPV6_FAMILY, mask6, RoutingTable6, unspecified6 } from "./routing6.ts";

/** Expand "2001:db8::1"-style text (one "::" at most) to 16 bytes (test helper). */
function ip6(text: string): Uint8Array {
  const [head, tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

Deno.test("mask6 clears bits past the prefix", () => {
  assert.deepEqual(mask6(ip6("2001:db8:ffff::1"), 36), ip6("2001:db8:f000::"));
  assert.deepEqual(mask6(ip6("2001:db8::1"), 128), ip6("2001:db8::1"));
  assert.deepEqual(mask6(ip6("2001:db8::1"), 0), unspecified6());
  assert.equal(IPV6_FAMILY.format(ip6("2001:db8::1")), "2001:0db8:0000:0000:0000:0000:0000:0001");
});

Deno.test("IPv6: connected, longest prefix, default, /128 and errors", () => {
  const t = new RoutingTable6();
  assert.equal(t.addConnected(ip6("2001:db8::2"), 64, "eth0").ok, true);
  assert.equal(t.addConnected(ip6("fe80::1"), 64, "eth0").ok, true);
  assert.equal(
    t.add({
      dest: unspecified6(),
      prefixLen: 0,
      gateway: ip6("fe80::99"),
      adapter: "eth0",
      metric: 1024,
    })
      .ok,
    true,
  );
  t.add({
    dest: ip6("2001:db8:1::"),
    prefixLen: 48,
    gateway: ip6("2001:db8::fe"),
    adapter: "eth0",
    metric: 0,
  });
  t.add({
    dest: ip6("2001:db8:1::7"),
    prefixLen: 128,
    gateway: ip6("2001:db8::fd"),
    adapter: "eth0",
    metric: 0,
  });
  assert.deepEqual(t.routeTo(ip6("2001:db8::9"))?.nextHop, ip6("2001:db8::9"));
  assert.deepEqual(t.routeTo(ip6("2001:db8:1::8"))?.nextHop, ip6("2001:db8::fe"));
  assert.deepEqual(t.routeTo(ip6("2001:db8:1::7"))?.nextHop, ip6("2001:db8::fd"));
  const def = t.routeTo(ip6("2606:4700::1"));
  assert.deepEqual(def?.nextHop, ip6("fe80::99"));
  assert.deepEqual(def?.source, ip6("fe80::1"));
  const hostBits = t.add({
    dest: ip6("2001:db8::1"),
    prefixLen: 64,
    gateway: unspecified6(),
    adapter: "eth0",
    metric: 0,
  });
  assert.equal(!hostBits.ok && hostBits.code, "EINVAL");
  const long = t.add({
    dest: unspecified6(),
    prefixLen: 129,
    gateway: unspecified6(),
    adapter: "eth0",
    metric: 0,
  });
  assert.equal(!long.ok && long.code, "EINVAL");
  assert.equal(t.remove(ip6("2001:db8:1::7"), 128).ok, true);
  assert.deepEqual(t.routeTo(ip6("2001:db8:1::7"))?.nextHop, ip6("2001:db8::fe"));
});

Deno.test("IPv6 redirect from the current first hop only (RFC 4861 §8)", () => {
  const t = new RoutingTable6();
  t.addConnected(ip6("fe80::1"), 64, "eth0");
  t.add({
    dest: unspecified6(),
    prefixLen: 0,
    gateway: ip6("fe80::99"),
    adapter: "eth0",
    metric: 0,
  });
  const dst = ip6("2606:4700::1");
  assert.equal(t.applyRedirect(dst, ip6("fe80::5"), ip6("fe80::42"), 0), "not-from-gateway");
  assert.equal(t.applyRedirect(dst, ip6("fe80::5"), ip6("fe80::99"), 0), "accepted");
  assert.deepEqual(t.routeTo(dst, 1)?.nextHop, ip6("fe80::5"));
  assert.deepEqual(t.routeTo(dst, 600_000)?.nextHop, ip6("fe80::99"));
});
