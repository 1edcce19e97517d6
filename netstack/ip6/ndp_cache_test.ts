import assert from "node:assert/strict";
import { NdpCache } from "./ndp_cache.ts";

const MAC_A = new Uint8Array([0x52, 0x54, 0, 0, 0, 0xa]);
const MAC_B = new Uint8Array([0x52, 0x54, 0, 0, 0, 0xb]);

/** fe80::<n> as 16 bytes (test helper). */
function ll(n: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a[15] = n;
  return a;
}

function recorder(random = () => 0.5) {
  const requests: Array<{ ip: Uint8Array; unicastTo?: Uint8Array }> = [];
  const resolved: Array<{ ip: Uint8Array; mac: Uint8Array; packets: Uint8Array[] }> = [];
  const unreachable: Array<{ ip: Uint8Array; packets: Uint8Array[] }> = [];
  const ndp = new NdpCache({
    sendRequest: (ip, unicastTo) => requests.push({ ip, unicastTo }),
    onResolved: (ip, mac, packets) => resolved.push({ ip, mac, packets }),
    onUnreachable: (ip, packets) => unreachable.push({ ip, packets }),
  }, { random });
  return { ndp, requests, resolved, unreachable };
}

Deno.test("addresses are keyed by value, not by array identity", () => {
  const { ndp } = recorder();
  ndp.update(ll(1), MAC_A, 0, { create: true });
  assert.equal(ndp.state(ll(1)), "STALE");
  assert.equal(ndp.state(ll(2)), undefined);
});

Deno.test("§7.2.2: INCOMPLETE, multicast NS every RetransTimer, MAX_MULTICAST_SOLICIT then fail", () => {
  const { ndp, requests, unreachable } = recorder();
  const pkt = new Uint8Array([1, 2, 3]);
  ndp.resolve(ll(1), 0, pkt);
  ndp.poll(1000);
  ndp.poll(2000);
  assert.equal(requests.length, 3);
  assert.ok(requests.every((r) => r.unicastTo === undefined));
  ndp.poll(3000);
  assert.deepEqual(unreachable, [{ ip: ll(1), packets: [pkt] }]);
});

Deno.test("§7.2.5: solicited NA resolves to REACHABLE; unsolicited to STALE then DELAY for the queue", () => {
  const { ndp, resolved } = recorder();
  ndp.resolve(ll(1), 0, new Uint8Array([1]));
  assert.equal(ndp.update(ll(1), MAC_A, 10, { solicited: true, override: false }), "resolved");
  assert.equal(ndp.state(ll(1)), "REACHABLE");
  ndp.resolve(ll(2), 0, new Uint8Array([2]));
  assert.equal(ndp.update(ll(2), MAC_B, 10, { solicited: false, override: true }), "resolved");
  // Queued packets went out on a STALE entry, which starts DELAY (§7.3.3).
  assert.equal(ndp.state(ll(2)), "DELAY");
  assert.equal(resolved.length, 2);
});

Deno.test("§7.2.5: NA without override and a different address", () => {
  const { ndp } = recorder();
  ndp.update(ll(1), MAC_A, 0, { create: true, solicited: true });
  // REACHABLE → STALE, address kept.
  assert.equal(ndp.update(ll(1), MAC_B, 10, { solicited: true, override: false }), "changed");
  assert.equal(ndp.state(ll(1)), "STALE");
  assert.deepEqual(ndp.lookup(ll(1), 10), MAC_A);
  // Not REACHABLE: ignored.
  assert.equal(ndp.update(ll(1), MAC_B, 20, { solicited: true, override: false }), "ignored");
  assert.deepEqual(ndp.lookup(ll(1), 20), MAC_A);
  // Override: address replaced; solicited → REACHABLE.
  assert.equal(ndp.update(ll(1), MAC_B, 30, { solicited: true, override: true }), "changed");
  assert.deepEqual(ndp.lookup(ll(1), 30), MAC_B);
  assert.equal(ndp.state(ll(1)), "REACHABLE");
  // An NA for an address with no entry is discarded.
  assert.equal(ndp.update(ll(9), MAC_B, 30, { solicited: true }), "no-entry");
});

Deno.test("§7.3.3: STALE → DELAY (5 s) → PROBE (3 unicast NS) → removed", () => {
  const { ndp, requests, unreachable } = recorder();
  ndp.update(ll(1), MAC_A, 0, { create: true }); // from an NS: STALE
  ndp.resolve(ll(1), 1000, new Uint8Array([1]));
  assert.equal(ndp.state(ll(1)), "DELAY");
  assert.equal(ndp.nextDeadline(), 6000);
  ndp.poll(6000);
  assert.equal(ndp.state(ll(1)), "PROBE");
  ndp.poll(7000);
  ndp.poll(8000);
  assert.deepEqual(requests.map((r) => r.unicastTo), [MAC_A, MAC_A, MAC_A]);
  ndp.poll(9000);
  assert.equal(ndp.state(ll(1)), undefined);
  assert.equal(unreachable.length, 1);
  assert.equal(ndp.stats.failed, 1);
});

Deno.test("§7.3.1: upper-layer confirmation in DELAY returns to REACHABLE, no probe sent", () => {
  const { ndp, requests } = recorder();
  ndp.update(ll(1), MAC_A, 0, { create: true });
  ndp.resolve(ll(1), 0, new Uint8Array([1]));
  assert.equal(ndp.confirm(ll(1), 2000), true);
  ndp.poll(5000);
  assert.equal(ndp.state(ll(1)), "REACHABLE");
  assert.equal(requests.length, 0);
  assert.equal(ndp.list()[0].deadline, 32_000);
});

Deno.test("§6.3.2: REACHABLE lifetime is randomised between 0.5 and 1.5 × ReachableTime", () => {
  for (const [r, until] of [[0, 15_000], [0.5, 30_000], [0.999999, 44_999.97]]) {
    const { ndp } = recorder(() => r);
    ndp.update(ll(1), MAC_A, 0, { create: true, solicited: true });
    assert.ok(Math.abs((ndp.nextDeadline() ?? 0) - until) < 0.1);
  }
});

Deno.test("§7.2.5: IsRouter follows the NA R flag, but not from an ignored NA", () => {
  const { ndp } = recorder();
  ndp.resolve(ll(1), 0, new Uint8Array([1]));
  assert.equal(ndp.get(ll(1))?.router, false);
  ndp.update(ll(1), MAC_A, 10, { solicited: true, override: true, router: true });
  assert.equal(ndp.get(ll(1))?.router, true);
  ndp.update(ll(1), MAC_B, 20, { solicited: false, override: false, router: false });
  assert.equal(ndp.get(ll(1))?.router, true, "a different address without O is ignored");
  assert.equal(ndp.get(ll(1))?.mac?.[5], 0xa);
  ndp.update(ll(1), MAC_A, 30, { solicited: false, override: false, router: false });
  assert.equal(ndp.get(ll(1))?.router, false);
  ndp.update(ll(2), MAC_B, 40, { create: true, router: true }); // RA source
  assert.deepEqual(ndp.list().map((e) => [e.ip[15], e.state, e.router]), [
    [1, "STALE", false],
    [2, "STALE", true],
  ]);
  assert.equal(ndp.get(ll(3)), undefined);
});
