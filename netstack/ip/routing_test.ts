import assert from "node:assert/strict";
import { isBroadcast, isMulticast4, LIMITED_BROADCAST, mask4, RoutingTable4 } from "./routing.ts";

/** "10.0.0.1" → 0x0a000001 (test helper). */
function ip(text: string): number {
  return text.split(".").reduce((a, p) => ((a << 8) | Number(p)) >>> 0, 0);
}

function lan(): RoutingTable4 {
  const t = new RoutingTable4();
  assert.equal(t.addConnected(ip("10.0.0.2"), 24, "eth0").ok, true);
  assert.equal(t.addConnected(ip("192.168.1.10"), 24, "eth1").ok, true);
  return t;
}

Deno.test("mask4 covers 0 and 32", () => {
  assert.equal(mask4(0), 0);
  assert.equal(mask4(8), 0xff000000);
  assert.equal(mask4(32), 0xffffffff);
});

Deno.test("connected route: on-link next hop is the destination, source is the address", () => {
  const t = lan();
  const d = t.routeTo(ip("10.0.0.77"));
  assert.equal(d?.adapter, "eth0");
  assert.equal(d?.nextHop, ip("10.0.0.77"));
  assert.equal(d?.source, ip("10.0.0.2"));
  assert.equal(t.routeTo(ip("8.8.8.8")), undefined); // ENETUNREACH for the caller
});

Deno.test("longest prefix wins, then the lowest metric, default route last", () => {
  const t = lan();
  assert.equal(
    t.add({ dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 }).ok,
    true,
  );
  t.add({
    dest: ip("172.16.0.0"),
    prefixLen: 12,
    gateway: ip("192.168.1.1"),
    adapter: "eth1",
    metric: 5,
  });
  t.add({
    dest: ip("172.16.0.0"),
    prefixLen: 12,
    gateway: ip("10.0.0.254"),
    adapter: "eth0",
    metric: 1,
  });
  t.add({
    dest: ip("172.16.5.0"),
    prefixLen: 24,
    gateway: ip("192.168.1.1"),
    adapter: "eth1",
    metric: 9,
  });
  assert.equal(t.routeTo(ip("8.8.8.8"))?.nextHop, ip("10.0.0.1"));
  assert.equal(t.routeTo(ip("8.8.8.8"))?.source, ip("10.0.0.2"));
  assert.equal(t.routeTo(ip("172.20.1.1"))?.nextHop, ip("10.0.0.254"));
  const d = t.routeTo(ip("172.16.5.9"));
  assert.equal(d?.nextHop, ip("192.168.1.1"));
  assert.equal(d?.source, ip("192.168.1.10"));
  assert.deepEqual(t.list().map((r) => r.prefixLen), [24, 24, 24, 12, 12, 0]);
});

Deno.test("add validates: EINVAL, EEXIST, ENETUNREACH for an off-link gateway", () => {
  const t = lan();
  const bad = t.add({
    dest: ip("10.1.0.1"),
    prefixLen: 16,
    gateway: 0,
    adapter: "eth0",
    metric: 0,
  });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.code, "EINVAL");
  const len = t.add({ dest: 0, prefixLen: 33, gateway: 0, adapter: "eth0", metric: 0 });
  assert.equal(!len.ok && len.code, "EINVAL");
  const off = t.add({ dest: 0, prefixLen: 0, gateway: ip("10.9.9.9"), adapter: "eth0", metric: 0 });
  assert.equal(!off.ok && off.code, "ENETUNREACH");
  const wrongIf = t.add({
    dest: 0,
    prefixLen: 0,
    gateway: ip("10.0.0.1"),
    adapter: "eth1",
    metric: 0,
  });
  assert.equal(!wrongIf.ok && wrongIf.code, "ENETUNREACH");
  const r = { dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 };
  assert.equal(t.add(r).ok, true);
  const dup = t.add({ ...r, gateway: ip("10.0.0.3") });
  assert.equal(!dup.ok && dup.code, "EEXIST");
  assert.equal(!dup.ok && dup.errno, 17);
  assert.equal(!dup.ok && dup.message, "Cannot add route 0.0.0.0/0: route exists");
  assert.equal(t.add({ ...r, metric: 10 }).ok, true);
  assert.equal(t.addConnected(ip("10.0.0.2"), 24, "eth0").ok, false);
});

Deno.test("remove: ESRCH when nothing matches, filters by gateway/adapter/metric", () => {
  const t = lan();
  t.add({ dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 });
  t.add({ dest: 0, prefixLen: 0, gateway: ip("192.168.1.1"), adapter: "eth1", metric: 10 });
  const none = t.remove(0, 0, { metric: 3 });
  assert.equal(!none.ok && none.code, "ESRCH");
  assert.equal(t.remove(0, 0, { adapter: "eth0" }).ok, true);
  assert.equal(t.routeTo(ip("8.8.8.8"))?.nextHop, ip("192.168.1.1"));
  assert.equal(t.remove(0, 0).ok, true);
  assert.equal(t.routeTo(ip("8.8.8.8")), undefined);
});

Deno.test("removing an address drops its connected route and routes through it", () => {
  const t = lan();
  t.add({ dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 });
  t.addConnected(ip("10.0.0.3"), 24, "eth0");
  assert.equal(t.removeConnected(ip("10.0.0.2"), 24, "eth0").ok, true);
  // 10.0.0.3 still holds the subnet, so the gateway route survives with the new source.
  assert.equal(t.routeTo(ip("8.8.8.8"))?.source, ip("10.0.0.3"));
  assert.equal(t.removeConnected(ip("10.0.0.3"), 24, "eth0").ok, true);
  assert.equal(t.routeTo(ip("10.0.0.9")), undefined);
  assert.equal(t.routeTo(ip("8.8.8.8")), undefined);
  assert.equal(t.stats.orphanedRoutes, 1);
  const again = t.removeConnected(ip("10.0.0.3"), 24, "eth0");
  assert.equal(!again.ok && again.code, "ESRCH");
  assert.deepEqual(t.addresses().map((a) => a.adapter), ["eth1"]);
});

Deno.test("redirect: honoured only from the current gateway, to an on-link gateway", () => {
  const t = lan();
  t.add({ dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 });
  const dst = ip("8.8.8.8");
  assert.equal(t.applyRedirect(dst, ip("10.0.0.5"), ip("10.0.0.66"), 0), "not-from-gateway");
  assert.equal(t.applyRedirect(dst, ip("172.16.0.1"), ip("10.0.0.1"), 0), "gateway-not-on-link");
  assert.equal(t.applyRedirect(dst, ip("10.0.0.2"), ip("10.0.0.1"), 0), "bad-gateway");
  assert.equal(
    t.applyRedirect(ip("10.0.0.9"), ip("10.0.0.5"), ip("10.0.0.1"), 0),
    "not-from-gateway",
  );
  assert.equal(t.applyRedirect(ip("9.9.9.9"), ip("10.0.0.5"), ip("10.0.0.1"), 0), "accepted");
  assert.equal(t.applyRedirect(dst, ip("10.0.0.5"), ip("10.0.0.1"), 1000), "accepted");
  const d = t.routeTo(dst, 2000);
  assert.equal(d?.nextHop, ip("10.0.0.5"));
  assert.equal(d?.redirected, true);
  assert.equal(d?.source, ip("10.0.0.2"));
  assert.equal(t.routeTo(ip("8.8.4.4"), 2000)?.nextHop, ip("10.0.0.1"));
  assert.equal(t.routeTo(dst)?.nextHop, ip("10.0.0.1")); // no `now`: table only
  // A later redirect must come from the redirected gateway.
  assert.equal(t.applyRedirect(dst, ip("10.0.0.6"), ip("10.0.0.1"), 3000), "not-from-gateway");
  assert.equal(t.applyRedirect(dst, ip("10.0.0.6"), ip("10.0.0.5"), 3000), "accepted");
  assert.equal(t.stats.redirectAccepted, 3);
  assert.equal(t.stats.redirectRejected, 5);
  assert.equal(t.nextDeadline(), 600_000);
  assert.equal(t.listRedirects(3000).length, 2);
});

Deno.test("redirect entries expire, are bounded, and a route change flushes them", () => {
  const t = new RoutingTable4({ redirectTtlMs: 10_000, maxRedirects: 2 });
  t.addConnected(ip("10.0.0.2"), 24, "eth0");
  t.add({ dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 });
  t.applyRedirect(ip("1.1.1.1"), ip("10.0.0.5"), ip("10.0.0.1"), 0);
  t.applyRedirect(ip("2.2.2.2"), ip("10.0.0.5"), ip("10.0.0.1"), 100);
  t.applyRedirect(ip("3.3.3.3"), ip("10.0.0.5"), ip("10.0.0.1"), 200);
  assert.equal(t.stats.redirectEvicted, 1);
  assert.equal(t.routeTo(ip("1.1.1.1"), 300)?.redirected, false);
  assert.equal(t.routeTo(ip("2.2.2.2"), 10_099)?.redirected, true);
  assert.equal(t.routeTo(ip("2.2.2.2"), 10_100)?.redirected, false);
  t.poll(10_200);
  assert.equal(t.stats.redirectExpired, 2);
  assert.equal(t.nextDeadline(), undefined);
  t.applyRedirect(ip("4.4.4.4"), ip("10.0.0.5"), ip("10.0.0.1"), 20_000);
  t.add({ dest: ip("4.0.0.0"), prefixLen: 8, gateway: 0, adapter: "eth0", metric: 0 });
  t.remove(ip("4.0.0.0"), 8);
  assert.equal(t.routeTo(ip("4.4.4.4"), 20_001)?.redirected, false);
});

Deno.test("broadcast: limited, directed, not for /31 and /32", () => {
  const addrs = [{ addr: ip("10.0.0.2"), prefixLen: 24 }, { addr: ip("10.1.0.0"), prefixLen: 31 }];
  assert.equal(isBroadcast(LIMITED_BROADCAST, []), true);
  assert.equal(isBroadcast(-1, []), true);
  assert.equal(isBroadcast(ip("10.0.0.255"), addrs), true);
  assert.equal(isBroadcast(ip("10.0.1.255"), addrs), false);
  assert.equal(isBroadcast(ip("10.1.0.1"), addrs), false);
  const t = lan();
  assert.equal(t.isBroadcastFor(ip("192.168.1.255")), true);
  assert.equal(t.isBroadcastFor(ip("192.168.1.255"), "eth0"), false);
});

Deno.test("limited broadcast and multicast never go to a gateway", () => {
  const t = lan();
  assert.equal(t.routeTo(LIMITED_BROADCAST), undefined); // no default route: ENETUNREACH
  t.add({ dest: 0, prefixLen: 0, gateway: ip("10.0.0.1"), adapter: "eth0", metric: 0 });
  const b = t.routeTo(LIMITED_BROADCAST, 0);
  assert.equal(b?.adapter, "eth0");
  assert.equal(b?.nextHop, LIMITED_BROADCAST);
  assert.equal(b?.source, ip("10.0.0.2"));
  assert.equal(isMulticast4(ip("224.0.0.251")), true);
  assert.equal(isMulticast4(ip("240.0.0.1")), false);
  assert.equal(t.routeTo(ip("224.0.0.251"))?.nextHop, ip("224.0.0.251"));
  assert.equal(t.routeTo(ip("10.0.0.255"))?.nextHop, ip("10.0.0.255"));
  assert.equal(
    t.applyRedirect(LIMITED_BROADCAST, ip("10.0.0.5"), ip("10.0.0.1"), 0),
    "not-from-gateway",
  );
});
