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

Deno.test("RA-learned routes expire (RFC 4861 §6.3.4); connected routes replace them", () => {
  const t = new RoutingTable6();
  assert.equal(t.addConnected(ip6("fe80::2"), 64, "eth0", 256).ok, true);
  const ra = { gateway: ip6("fe80::1"), adapter: "eth0", origin: "ra" as const };
  assert.equal(
    t.add({ dest: unspecified6(), prefixLen: 0, metric: 1024, expires: 1800, ...ra }).ok,
    true,
  );
  const onLink = { dest: ip6("2001:db8::"), prefixLen: 64, gateway: unspecified6() };
  t.add({ ...onLink, adapter: "eth0", metric: 256, origin: "ra", expires: 5000 });
  assert.equal(t.nextDeadline(), 1800);
  assert.deepEqual(t.routeTo(ip6("2001:db8:1::9"), 1799)?.nextHop, ip6("fe80::1"));
  assert.equal(t.routeTo(ip6("2001:db8:1::9"), 1800), undefined, "expired, even before poll");
  t.poll(1800);
  assert.equal(t.stats.routesExpired, 1);
  assert.equal(t.nextDeadline(), 5000);
  // An address in the RA's on-link prefix: its connected route takes the slot, without expiry.
  t.addConnected(ip6("2001:db8::5"), 64, "eth0", 256);
  assert.equal(t.nextDeadline(), undefined);
  assert.deepEqual(t.list().map((r) => [r.prefixLen, r.origin]), [[64, "connected"], [
    64,
    "connected",
  ]]);
  assert.equal(t.removeWhere((r) => r.origin === "ra"), 0);
  assert.equal(t.removeWhere((r) => equalBytes(r.dest, ip6("2001:db8::"))), 1);
  assert.equal(t.routeTo(ip6("2001:db8::9"), 6000), undefined);
});

Deno.test("routes on an adapter that is down are skipped", () => {
  let up = true;
  const t = new RoutingTable6({ adapterUp: () => up });
  t.addConnected(ip6("2001:db8::2"), 64, "eth0");
  assert.equal(t.lookup(ip6("2001:db8::9"))?.adapter, "eth0");
  up = false;
  assert.equal(t.lookup(ip6("2001:db8::9")), undefined);
  assert.equal(t.routeTo(ip6("2001:db8::9")), undefined);
});

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

Deno.test("default routes through two routers coexist; the same one twice is EEXIST", () => {
  const t = new RoutingTable6();
  t.addConnected(ip6("fe80::2"), 64, "eth0", 256);
  const r = { dest: unspecified6(), prefixLen: 0, adapter: "eth0", metric: 1024 };
  assert.equal(t.add({ ...r, gateway: ip6("fe80::1") }).ok, true);
  assert.equal(t.add({ ...r, gateway: ip6("fe80::3") }).ok, true);
  const dup = t.add({ ...r, gateway: ip6("fe80::3") });
  assert.equal(!dup.ok && dup.code, "EEXIST");
  assert.deepEqual(t.routeTo(ip6("2001:db8::9"))?.nextHop, ip6("fe80::1"));
  t.remove(unspecified6(), 0, { gateway: ip6("fe80::1") });
  assert.deepEqual(t.routeTo(ip6("2001:db8::9"))?.nextHop, ip6("fe80::3"));
});
