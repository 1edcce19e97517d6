import assert from "node:assert/strict";
import { IcmpRateLimiter } from "./icmp_rate.ts";

function count(limit: IcmpRateLimiter, dst: number | string, now: number, tries: number): number {
  let n = 0;
  for (let i = 0; i < tries; i++) if (limit.allow(dst, now)) n++;
  return n;
}

Deno.test("global: a burst of 50, then 1000 per second", () => {
  const limit = new IcmpRateLimiter();
  assert.equal(count(limit, 1, 0, 100), 50);
  assert.equal(limit.stats.limitedGlobal, 50);
  assert.equal(count(limit, 1, 10, 100), 10); // 10 ms refill 10 tokens
  assert.equal(count(limit, 2, 10.5, 100), 0);
  assert.equal(count(limit, 2, 11, 100), 1);
  // A long quiet spell refills only up to the burst.
  assert.equal(count(limit, 3, 60_000, 1000), 50);
  assert.equal(limit.stats.allowed, 111);
});

Deno.test("a clock stepping back neither refills nor drains", () => {
  const limit = new IcmpRateLimiter({ ratePerSec: 10, burst: 2 });
  assert.equal(count(limit, 1, 1000, 5), 2);
  assert.equal(count(limit, 1, 0, 5), 0);
  assert.equal(count(limit, 1, 1100, 5), 1);
});

Deno.test("per destination: one noisy peer does not starve the others", () => {
  const limit = new IcmpRateLimiter({ perDestination: true });
  assert.equal(count(limit, 0x0a000001, 0, 100), 6);
  assert.equal(limit.stats.limitedDestination, 94);
  assert.equal(count(limit, 0x0a000002, 0, 100), 6);
  assert.equal(count(limit, "2001db8::1", 0, 100), 6);
  assert.equal(count(limit, 0x0a000001, 999, 10), 0);
  assert.equal(count(limit, 0x0a000001, 1000, 10), 1);
  assert.equal(count(limit, 0x0a000001, 3000, 10), 2);
});

Deno.test("per destination: refused by the global bucket takes no destination token", () => {
  const limit = new IcmpRateLimiter({ perDestination: true, ratePerSec: 1, burst: 1 });
  assert.equal(limit.allow(1, 0), true);
  assert.equal(limit.allow(2, 0), false);
  assert.equal(limit.stats.limitedGlobal, 1);
  assert.equal(count(limit, 2, 1000, 1), 1);
});

Deno.test("tracked destinations are bounded, least recently used forgotten", () => {
  const limit = new IcmpRateLimiter({ perDestination: true, maxDestinations: 8, burst: 1e9 });
  for (let i = 0; i < 10_000; i++) limit.allow(i, 0);
  assert.equal(limit.trackedDestinations, 8);
  // 9999 is still tracked and spent one token; a forgotten one starts with a full burst again.
  assert.equal(count(limit, 9999, 0, 10), 5);
  assert.equal(count(limit, 0, 0, 10), 6);
});
