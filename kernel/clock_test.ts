import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";

Deno.test("ManualClock fires wake-ups in time order, including ones scheduled while firing", () => {
  const c = new ManualClock();
  const log: string[] = [];
  c.schedule(30, () => log.push(`b@${c.now()}`));
  c.schedule(10, () => {
    log.push(`a@${c.now()}`);
    c.schedule(5, () => log.push(`a2@${c.now()}`));
  });
  const t = c.schedule(20, () => log.push("cancelled"));
  t.cancel();
  c.advance(25);
  assert.deepEqual(log, ["a@10", "a2@15"]);
  assert.equal(c.now(), 25);
  c.advance(60_000); // a minute of TIME_WAIT in no wall time
  assert.deepEqual(log, ["a@10", "a2@15", "b@30"]);
  assert.equal(c.pendingCount, 0);
});

Deno.test("ManualClock keeps scheduling order for equal deadlines", () => {
  const c = new ManualClock(100);
  const log: number[] = [];
  for (let i = 0; i < 5; i++) c.schedule(1, () => log.push(i));
  assert.equal(c.nextAt(), 101);
  c.runDue();
  assert.deepEqual(log, []);
  c.advance(1);
  assert.deepEqual(log, [0, 1, 2, 3, 4]);
});
