/** The IPv6 neighbour cache as packet traces: states, queueing and bounds (RFC 4861 §7.3). */
import assert from "node:assert/strict";
import type { NetInterface } from "../link/interface.ts";
import {
  NDP_MAX_ENTRIES,
  NDP_MAX_INCOMPLETE,
  NDP_QUEUE_PER_ENTRY,
  NDP_REACHABLE_TIME,
  Neighbours6,
} from "./neighbours6.ts";

const iface = { index: 2, name: "eth0" } as NetInterface;
const MAC1 = Uint8Array.of(2, 0, 0, 0, 0, 1);
const MAC2 = Uint8Array.of(2, 0, 0, 0, 0, 2);

function addr(n: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0x20;
  a[1] = 0x01;
  a[13] = n >> 16;
  a[14] = (n >> 8) & 255;
  a[15] = n & 255;
  return a;
}

function cache() {
  const log: string[] = [];
  const failed: Uint8Array[] = [];
  const n = new Neighbours6({
    solicit: (_i, t, mac) => log.push(`ns ${t[15]} ${mac ? "unicast" : "multicast"}`),
    transmit: (_i, mac, p) => log.push(`tx ${p[0]} to ${mac[5]}`),
    unreachable: (_i, _a, q) => failed.push(...q.map((x) => x.packet)),
    count: () => {},
  });
  return { n, log, failed };
}

Deno.test("INCOMPLETE: three solicitations a second apart, then queued packets fail", () => {
  const { n, log, failed } = cache();
  for (let i = 1; i <= NDP_QUEUE_PER_ENTRY + 1; i++) n.send(iface, addr(7), Uint8Array.of(i), 0);
  assert.deepEqual(log, ["ns 7 multicast"]);
  assert.equal(n.get(iface, addr(7))?.state, "incomplete");
  n.poll(1000);
  n.poll(2000);
  assert.equal(log.length, 3);
  n.poll(3000);
  assert.equal(n.get(iface, addr(7)), undefined);
  assert.deepEqual(failed.map((p) => p[0]), [2, 3, 4], "the oldest packet was pushed out");
});

Deno.test("solicited advert: REACHABLE and the queue drains; STALE → DELAY → PROBE → REACHABLE", () => {
  const { n, log } = cache();
  n.send(iface, addr(7), Uint8Array.of(9), 0);
  n.advert(iface, addr(7), MAC1, { solicited: true, override: true, router: false }, 10);
  assert.equal(n.get(iface, addr(7))?.state, "reachable");
  assert.deepEqual(log, ["ns 7 multicast", "tx 9 to 1"]);
  n.poll(10 + NDP_REACHABLE_TIME);
  assert.equal(n.get(iface, addr(7))?.state, "stale");
  n.send(iface, addr(7), Uint8Array.of(10), 40_000);
  assert.equal(n.get(iface, addr(7))?.state, "delay");
  assert.equal(log.at(-1), "tx 10 to 1", "a STALE entry still sends");
  n.poll(45_000);
  assert.equal(n.get(iface, addr(7))?.state, "probe");
  assert.equal(log.at(-1), "ns 7 unicast");
  n.advert(iface, addr(7), undefined, { solicited: true, override: false, router: false }, 45_100);
  assert.equal(n.get(iface, addr(7))?.state, "reachable");
});

Deno.test("an advert without override does not change a known MAC; with override it does", () => {
  const { n } = cache();
  n.send(iface, addr(7), Uint8Array.of(1), 0);
  n.advert(iface, addr(7), MAC1, { solicited: true, override: true, router: true }, 0);
  n.advert(iface, addr(7), MAC2, { solicited: false, override: false, router: true }, 1);
  assert.equal(n.get(iface, addr(7))?.mac?.[5], 1);
  assert.equal(n.get(iface, addr(7))?.state, "stale");
  n.advert(iface, addr(7), MAC2, { solicited: false, override: true, router: true }, 2);
  assert.equal(n.get(iface, addr(7))?.mac?.[5], 2);
  assert.equal(n.get(iface, addr(7))?.isRouter, true);
});

Deno.test("a flood of bogus neighbours cannot evict reachable ones", () => {
  const { n } = cache();
  for (let i = 1; i <= 10; i++) {
    n.send(iface, addr(i), Uint8Array.of(0), 0);
    n.advert(iface, addr(i), MAC1, { solicited: true, override: true, router: false }, 0);
  }
  for (let i = 100; i < 100 + 3 * NDP_MAX_ENTRIES; i++) n.learn(iface, addr(i), MAC2, 1);
  assert.equal(n.size, NDP_MAX_ENTRIES);
  for (let i = 1; i <= 10; i++) assert.equal(n.get(iface, addr(i))?.state, "reachable");
  for (let i = 5000; i < 5000 + 2 * NDP_MAX_INCOMPLETE; i++) {
    n.send(iface, addr(i), Uint8Array.of(0), 2);
  }
  const incomplete = n.list().filter((e) => e.state === "incomplete").length;
  assert.equal(incomplete, NDP_MAX_INCOMPLETE);
  for (let i = 1; i <= 10; i++) assert.equal(n.get(iface, addr(i))?.state, "reachable");
});
