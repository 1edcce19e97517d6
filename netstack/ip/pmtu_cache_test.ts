import assert from "node:assert/strict";
import { ManualClock } from "../../kernel/clock.ts";
import {
  PMTU_EXPIRES_MS,
  PMTU_IPV4,
  PMTU_IPV6,
  PMTU_MAX_ENTRIES,
  PmtuCache,
} from "./pmtu_cache.ts";

const DST = 0x0a000002;
const v4 = () => new PmtuCache<number>(PMTU_IPV4, (a) => a);
const v6 = () => new PmtuCache<string>(PMTU_IPV6, (a) => a);

Deno.test("pmtu: a smaller MTU is learnt and applies until it expires (Linux ip_rt_mtu_expires, 10 min)", () => {
  const clock = new ManualClock(1000);
  const c = v4();
  assert.deepEqual(c.report(DST, 1400, 1500, clock.now()), {
    mtu: 1400,
    locked: false,
    changed: true,
  });
  assert.equal(c.get(DST, clock.now())?.mtu, 1400);
  assert.equal(c.nextDeadline(), 1000 + PMTU_EXPIRES_MS);
  clock.advance(PMTU_EXPIRES_MS - 1);
  assert.equal(c.get(DST, clock.now())?.mtu, 1400);
  clock.advance(1);
  assert.equal(c.get(DST, clock.now()), undefined, "expired: the interface MTU applies again");
  assert.equal(c.size, 0);
});

Deno.test("pmtu: poll forgets expired entries; nextDeadline follows the earliest", () => {
  const clock = new ManualClock(0);
  const c = v4();
  c.report(1, 1400, 1500, clock.now());
  clock.advance(1000);
  c.report(2, 1300, 1500, clock.now());
  assert.equal(c.nextDeadline(), PMTU_EXPIRES_MS);
  clock.advance(PMTU_EXPIRES_MS - 1000);
  c.poll(clock.now());
  assert.equal(c.size, 1);
  assert.equal(c.nextDeadline(), 1000 + PMTU_EXPIRES_MS);
  clock.advance(1000);
  c.poll(clock.now());
  assert.equal(c.size, 0);
  assert.equal(c.nextDeadline(), undefined);
});

Deno.test("pmtu: a report larger than the MTU in use is ignored (__ip_rt_update_pmtu: old_mtu < mtu)", () => {
  const c = v4();
  assert.deepEqual(c.report(DST, 1600, 1500, 0), { mtu: 1500, locked: false, changed: false });
  assert.equal(c.get(DST, 0), undefined, "nothing cached above the interface MTU");
  c.report(DST, 1200, 1500, 0);
  assert.deepEqual(c.report(DST, 1400, 1500, 10), { mtu: 1200, locked: false, changed: false });
  assert.equal(c.get(DST, 10)?.mtu, 1200, "a path never grows back by a report");
  assert.equal(c.report(DST, 1000, 1500, 20).mtu, 1000, "but shrinks further");
});

for (const forged of [68, 0, 1, 551]) {
  Deno.test(`pmtu: IPv4 report of ${forged} is clamped to 552 and locks the path (ip_rt_min_pmtu)`, () => {
    const c = v4();
    assert.deepEqual(c.report(DST, forged, 1500, 0), { mtu: 552, locked: true, changed: true });
    assert.deepEqual(c.get(DST, 0), { mtu: 552, locked: true, expires: PMTU_EXPIRES_MS });
    // Locked: further reports change nothing until it expires.
    assert.deepEqual(c.report(DST, 300, 1500, 5), { mtu: 552, locked: true, changed: false });
    assert.equal(c.get(DST, 5)?.expires, PMTU_EXPIRES_MS, "a forged repeat does not extend it");
    assert.equal(c.get(DST, PMTU_EXPIRES_MS), undefined);
  });
}

Deno.test("pmtu: IPv4 exactly 552 is believed without a lock", () => {
  assert.deepEqual(v4().report(DST, 552, 1500, 0), { mtu: 552, locked: false, changed: true });
});

Deno.test("pmtu: below the floor on a link narrower than it, the link MTU stays (min(old_mtu, 552))", () => {
  assert.deepEqual(v4().report(DST, 68, 500, 0), { mtu: 500, locked: true, changed: true });
});

Deno.test("pmtu: IPv6 reports below 1280 are ignored, as Linux 6.18 ignores them (RFC 8200 §5)", () => {
  const c = v6();
  assert.deepEqual(c.report("b", 1279, 1500, 0), { mtu: 1500, locked: false, changed: false });
  assert.deepEqual(c.report("b", 0, 1500, 1), { mtu: 1500, locked: false, changed: false });
  assert.equal(c.get("b", 1), undefined);
  assert.deepEqual(c.report("c", 1400, 1500, 0), { mtu: 1400, locked: false, changed: true });
  assert.deepEqual(c.report("c", 1279, 1500, 0), { mtu: 1400, locked: false, changed: false });
  assert.deepEqual(c.report("c", 1280, 1500, 0), { mtu: 1280, locked: false, changed: true });
});

Deno.test("pmtu: the same MTU reported again refreshes the entry only past half its life", () => {
  const c = v4();
  c.report(DST, 1400, 1500, 0);
  c.report(DST, 1400, 1500, PMTU_EXPIRES_MS / 2 - 1);
  assert.equal(c.get(DST, 0)?.expires, PMTU_EXPIRES_MS);
  c.report(DST, 1400, 1500, PMTU_EXPIRES_MS / 2);
  assert.equal(c.get(DST, 0)?.expires, PMTU_EXPIRES_MS / 2 + PMTU_EXPIRES_MS);
});

Deno.test("pmtu: a flood of forged reports for many destinations expires with the clock", () => {
  const clock = new ManualClock(0);
  const c = v4();
  for (let i = 0; i < 10_000; i++) c.report(i, 68 + (i % 1400), 1500, clock.now());
  assert.equal(c.size, PMTU_MAX_ENTRIES, "bounded: the oldest went first");
  assert.equal(c.get(0, 0), undefined);
  assert.ok([...Array(10_000).keys()].every((i) => (c.get(i, 0)?.mtu ?? 1500) >= 552));
  clock.advance(PMTU_EXPIRES_MS);
  c.poll(clock.now());
  assert.equal(c.size, 0);
});
