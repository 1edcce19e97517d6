import assert from "node:assert/strict";
import { ArpCache } from "./arp_cache.ts";
import type { NeighbourOptions } from "./neighbour_cache.ts";

const MAC_A = new Uint8Array([2, 0, 0, 0, 0, 0xa]);
const MAC_B = new Uint8Array([2, 0, 0, 0, 0, 0xb]);
const IP1 = 0x0a000001;
const IP2 = 0x0a000002;

/** An ArpCache whose callbacks record what they were asked to do. */
function recorder(opts: Partial<NeighbourOptions> = {}) {
  const requests: Array<{ ip: number; unicastTo?: Uint8Array }> = [];
  const resolved: Array<{ ip: number; mac: Uint8Array; packets: string[] }> = [];
  const unreachable: Array<{ ip: number; packets: string[] }> = [];
  const arp = new ArpCache<string>({
    sendRequest: (ip, unicastTo) => requests.push({ ip, unicastTo }),
    onResolved: (ip, mac, packets) => resolved.push({ ip, mac, packets }),
    onUnreachable: (ip, packets) => unreachable.push({ ip, packets }),
  }, opts);
  return { arp, requests, resolved, unreachable };
}

Deno.test("unknown address: INCOMPLETE, request sent, packet queued, reply flushes the queue", () => {
  const { arp, requests, resolved } = recorder();
  assert.deepEqual(arp.resolve(IP1, 0, "p1"), { status: "queued" });
  assert.equal(arp.state(IP1), "INCOMPLETE");
  assert.deepEqual(requests, [{ ip: IP1, unicastTo: undefined }]);
  assert.deepEqual(arp.resolve(IP1, 10, "p2"), { status: "queued" });
  assert.equal(requests.length, 1); // no second request before the retransmit timer
  assert.equal(arp.lookup(IP1, 10), undefined);
  assert.equal(arp.update(IP1, MAC_A, 20, { solicited: true }), "resolved");
  assert.deepEqual(resolved, [{ ip: IP1, mac: MAC_A, packets: ["p1", "p2"] }]);
  assert.equal(arp.state(IP1), "REACHABLE");
  assert.deepEqual(arp.resolve(IP1, 30, "p3"), { status: "resolved", mac: MAC_A });
  assert.deepEqual(arp.lookup(IP1, 30), MAC_A);
  assert.equal(arp.stats.resolved, 1);
});

Deno.test("queue is bounded per entry: oldest dropped and counted", () => {
  const { arp, resolved } = recorder();
  for (const p of ["a", "b", "c", "d", "e"]) arp.resolve(IP1, 0, p);
  assert.equal(arp.stats.queueDrops, 2);
  assert.equal(arp.list()[0].queued, 3);
  arp.update(IP1, MAC_A, 1, { solicited: true });
  assert.deepEqual(resolved[0].packets, ["c", "d", "e"]);
});

Deno.test("retransmit every second, three requests, then fail with the queued packets", () => {
  const { arp, requests, unreachable } = recorder();
  arp.resolve(IP1, 0, "p1");
  assert.equal(arp.nextDeadline(), 1000);
  arp.poll(999);
  assert.equal(requests.length, 1);
  arp.poll(1000);
  assert.equal(requests.length, 2);
  arp.resolve(IP1, 1500, "p2");
  arp.poll(2000);
  assert.equal(requests.length, 3);
  assert.equal(arp.nextDeadline(), 3000);
  arp.poll(3000);
  assert.equal(requests.length, 3);
  assert.deepEqual(unreachable, [{ ip: IP1, packets: ["p1", "p2"] }]);
  assert.equal(arp.state(IP1), undefined);
  assert.equal(arp.incompleteCount, 0);
  assert.equal(arp.stats.failed, 1);
  assert.equal(arp.stats.unreachablePackets, 2);
  assert.equal(arp.nextDeadline(), undefined);
  // A later packet starts a fresh resolution.
  arp.resolve(IP1, 5000, "p3");
  assert.equal(requests.length, 4);
});

Deno.test("RFC 826 merge: unknown sender only added when the packet was for us", () => {
  const { arp } = recorder();
  assert.equal(arp.update(IP1, MAC_A, 0), "no-entry");
  assert.equal(arp.size, 0);
  assert.equal(arp.update(IP1, MAC_A, 0, { create: true }), "created");
  assert.equal(arp.state(IP1), "STALE");
  assert.equal(arp.update(IP2, MAC_B, 0, { create: true, solicited: true }), "created");
  assert.equal(arp.state(IP2), "REACHABLE");
  // An existing entry is updated even by a packet not for us; ARP always overrides.
  assert.equal(arp.update(IP2, MAC_A, 10), "changed");
  assert.deepEqual(arp.lookup(IP2, 10), MAC_A);
  assert.equal(arp.state(IP2), "STALE");
  assert.equal(arp.stats.macChanged, 1);
  assert.equal(arp.update(IP2, MAC_A, 20), "unchanged");
  assert.equal(arp.update(IP2, MAC_A, 30, { solicited: true }), "confirmed");
  assert.equal(arp.state(IP2), "REACHABLE");
});

Deno.test("REACHABLE ages to STALE after 30 s; STALE collected after 60 s unused", () => {
  const { arp } = recorder({ delayProbe: false });
  arp.resolve(IP1, 0, "p");
  arp.update(IP1, MAC_A, 0, { solicited: true });
  assert.equal(arp.nextDeadline(), 30_000);
  arp.poll(29_999);
  assert.equal(arp.state(IP1), "REACHABLE");
  arp.poll(30_000);
  assert.equal(arp.state(IP1), "STALE");
  assert.equal(arp.nextDeadline(), 90_000);
  // Using a STALE entry (no DELAY/PROBE configured) keeps it alive.
  assert.deepEqual(arp.resolve(IP1, 50_000, "q"), { status: "resolved", mac: MAC_A });
  assert.equal(arp.state(IP1), "STALE");
  arp.poll(100_000);
  assert.equal(arp.state(IP1), "STALE");
  arp.poll(110_000);
  assert.equal(arp.state(IP1), undefined);
  assert.equal(arp.stats.gcRemoved, 1);
});

Deno.test("reachable time is configurable and confirm() refreshes it", () => {
  const { arp } = recorder({ reachableMs: 5000 });
  arp.update(IP1, MAC_A, 0, { create: true, solicited: true });
  assert.equal(arp.confirm(IP1, 4000), true);
  arp.poll(5000);
  assert.equal(arp.state(IP1), "REACHABLE");
  arp.poll(9000);
  assert.equal(arp.state(IP1), "STALE");
  assert.equal(arp.confirm(IP2, 9000), false);
});

Deno.test("using a STALE entry starts DELAY then unicast PROBEs; silence removes it", () => {
  const { arp, requests, unreachable } = recorder();
  arp.update(IP1, MAC_A, 0, { create: true });
  assert.deepEqual(arp.resolve(IP1, 100, "x"), { status: "resolved", mac: MAC_A });
  assert.equal(arp.state(IP1), "DELAY");
  arp.poll(5100);
  assert.equal(arp.state(IP1), "PROBE");
  assert.deepEqual(requests, [{ ip: IP1, unicastTo: MAC_A }]);
  arp.poll(6100);
  arp.poll(7100);
  assert.equal(requests.length, 3);
  assert.equal(arp.stats.probes, 3);
  arp.poll(8100);
  assert.equal(arp.state(IP1), undefined);
  assert.deepEqual(unreachable, [{ ip: IP1, packets: [] }]);
});

Deno.test("a reply during PROBE makes the entry REACHABLE again", () => {
  const { arp } = recorder();
  arp.update(IP1, MAC_A, 0, { create: true });
  arp.resolve(IP1, 0, "x");
  arp.poll(5000);
  assert.equal(arp.state(IP1), "PROBE");
  assert.equal(arp.update(IP1, MAC_A, 5200, { solicited: true }), "confirmed");
  assert.equal(arp.state(IP1), "REACHABLE");
  assert.equal(arp.nextDeadline(), 35_200);
});

Deno.test("PERMANENT entries never expire, are never changed or evicted", () => {
  const { arp, resolved } = recorder({ maxEntries: 2 });
  arp.resolve(IP1, 0, "waiting");
  arp.addStatic(IP1, MAC_A);
  assert.deepEqual(resolved, [{ ip: IP1, mac: MAC_A, packets: ["waiting"] }]);
  assert.equal(arp.incompleteCount, 0);
  assert.equal(arp.update(IP1, MAC_B, 10, { solicited: true }), "ignored");
  assert.deepEqual(arp.lookup(IP1, 10), MAC_A);
  arp.addStatic(IP2, MAC_B);
  arp.poll(1e12);
  assert.equal(arp.state(IP1), "PERMANENT");
  assert.deepEqual(arp.resolve(0x0a000003, 0, "p"), { status: "dropped", reason: "table-full" });
  assert.equal(arp.nextDeadline(), undefined);
  assert.deepEqual(arp.list().map((e) => [e.ip, e.state, e.deadline]), [
    [IP1, "PERMANENT", undefined],
    [IP2, "PERMANENT", undefined],
  ]);
  assert.equal(arp.remove(IP1), true);
  assert.equal(arp.remove(IP1), false);
});

Deno.test("remove() hands queued packets to onUnreachable", () => {
  const { arp, unreachable } = recorder();
  arp.resolve(IP1, 0, "p");
  assert.equal(arp.remove(IP1), true);
  assert.deepEqual(unreachable, [{ ip: IP1, packets: ["p"] }]);
  assert.equal(arp.incompleteCount, 0);
});

Deno.test("flood of bogus addresses only fills the INCOMPLETE quota", () => {
  const { arp, requests } = recorder({ maxEntries: 64, maxIncomplete: 16 });
  for (let i = 0; i < 40; i++) {
    arp.update(0x0a000100 + i, MAC_A, 0, { create: true, solicited: true });
  }
  for (let i = 0; i < 10_000; i++) arp.resolve(0xc0a80000 + i, i / 10, "junk");
  assert.equal(arp.incompleteCount, 16);
  assert.equal(arp.size, 56);
  assert.equal(requests.length, 16);
  assert.equal(arp.stats.incompleteLimit, 10_000 - 16);
  for (let i = 0; i < 40; i++) assert.equal(arp.state(0x0a000100 + i), "REACHABLE");
  // The flood keeps coming after the first batch failed: still no REACHABLE entry lost.
  for (let t = 1000; t <= 20_000; t += 1000) {
    arp.poll(t);
    for (let i = 0; i < 100; i++) arp.resolve(0xc0b00000 + t + i, t, "junk");
  }
  for (let i = 0; i < 40; i++) assert.equal(arp.state(0x0a000100 + i), "REACHABLE");
  assert.equal(arp.stats.evicted, 0);
});

Deno.test("a full table evicts the least recently used STALE entry, never REACHABLE", () => {
  const { arp } = recorder({ maxEntries: 3 });
  arp.update(1, MAC_A, 0, { create: true }); // STALE, used at 0
  arp.update(2, MAC_A, 5, { create: true }); // STALE, used at 5
  arp.update(3, MAC_A, 0, { create: true, solicited: true }); // REACHABLE
  assert.deepEqual(arp.resolve(4, 10, "p"), { status: "queued" });
  assert.equal(arp.state(1), undefined);
  assert.equal(arp.stats.evicted, 1);
  assert.equal(arp.update(5, MAC_B, 11, { create: true, solicited: true }), "created"); // evicts 2
  assert.equal(arp.state(2), undefined);
  assert.equal(arp.update(6, MAC_B, 12, { create: true }), "table-full");
  assert.deepEqual(arp.resolve(7, 12, "p"), { status: "dropped", reason: "table-full" });
  assert.equal(arp.state(3), "REACHABLE");
  assert.equal(arp.stats.tableFull, 2);
});

Deno.test("the default table bounds: 1024 entries, 256 INCOMPLETE", () => {
  const { arp } = recorder();
  for (let i = 0; i < 2000; i++) arp.update(0x0a000000 + i, MAC_A, 0, { create: true });
  assert.equal(arp.size, 1024);
  assert.equal(arp.stats.evicted, 2000 - 1024);
  for (let i = 0; i < 1000; i++) arp.resolve(0x0b000000 + i, 1, "p");
  assert.equal(arp.incompleteCount, 256);
  assert.equal(arp.size, 1024);
});
