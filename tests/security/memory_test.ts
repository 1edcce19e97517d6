/**
 * Attack suite: netstack memory. A process is charged for what the netstack holds for it
 * (netstack/sockets/memory_ledger.ts): socket buffers, shared rings, calls in progress and poll
 * registrations, against its budget. Past it, its sends get ENOBUFS, its new sockets ENOMEM, and
 * data arriving for it is dropped unacknowledged; everything comes back when it exits.
 */
import assert from "node:assert/strict";
import { ErrnoError } from "../../kernel/errno.ts";
import { MemoryLedger } from "../../netstack/sockets/memory_ledger.ts";
import { bootLab, underAttack } from "./_bystander.ts";
import type { System } from "../../kernel/mod.ts";

const FLOOD = new URL("./programs/mem_flood.ts", import.meta.url).pathname;
const STATS = new URL("./programs/mem_stats.ts", import.meta.url).pathname;

/** What alpha's netstack charges to processes now. */
async function alphaMemory(sys: System) {
  const r = await sys.run(STATS, [], { host: "alpha", uid: 0 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    total: number;
    byPid: Record<string, number>;
    overBudgetDrops: number;
    leftAtExit: number;
  };
}

const MiB = 1 << 20;
const rss = () => Deno.memoryUsage().rss;

Deno.test("memory ledger: charges refuse past the budget, adjustments do not, totals add up", () => {
  const ledger = new MemoryLedger(1000);
  const a = ledger.account(5);
  a.charge(600, "ENOBUFS", "Cannot send");
  assert.throws(
    () => a.charge(500, "ENOMEM", "Cannot create socket"),
    (e) => e instanceof ErrnoError && e.code === "ENOMEM",
  );
  assert.equal(a.used, 600);
  assert.equal(a.over, false);
  a.adjust(500); // what buffers already hold is counted whatever the budget
  assert.equal(a.over, true);
  ledger.account(6, 50).adjust(10);
  assert.equal(ledger.total, 1110);
  assert.deepEqual(ledger.snapshot(), { 5: 1100, 6: 10 });
  a.adjust(-1100);
  assert.equal(ledger.close(5), 0);
  assert.equal(ledger.close(6), 10, "what is still charged at exit is reported");
});

Deno.test("60 unread loopback connections and a send flood: ENOBUFS, bounded, all back at exit", async () => {
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  await using sys = await bootLab({
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  const budget = 64 * MiB;
  const rss0 = rss();
  const pid = await sys.start(FLOOD, ["60"], { host: "alpha", uid: 1000, memory: budget });
  // The filling is a bulk transfer over loopback; the attack measured is holding at the budget.
  for (let i = 0; !(out.get(pid) ?? "").includes("holding"); i++) {
    assert.ok(i < 600, `the flood never got going: ${out.get(pid)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const flood = out.get(pid)!;
  let during = { total: 0, byPid: {} as Record<string, number>, overBudgetDrops: 0 };
  let peakRss = 0;
  await underAttack(sys, async () => {
    // While the bystander works: the flood is held at the budget.
    for (let i = 0; i < 40; i++) {
      during = await alphaMemory(sys);
      peakRss = Math.max(peakRss, rss());
      if ((during.byPid[pid] ?? 0) >= budget && i >= 10) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  const charged = during.byPid[pid] ?? 0;
  console.log(flood.trim().replaceAll("\n", "; "));
  console.log(
    `attacker charged ${(charged / MiB).toFixed(1)} MiB of ${budget / MiB}; ` +
      `drops over budget ${during.overBudgetDrops}; ` +
      `RSS ${(rss0 / MiB).toFixed(0)} → peak ${(peakRss / MiB).toFixed(0)} MiB`,
  );
  // Past the budget by at most what was already on its way (a segment per socket, a call).
  assert.ok(charged >= budget * 0.9, `the flood did not reach the budget: ${charged}`);
  assert.ok(charged < budget + 8 * MiB, `charged ${charged} past the budget ${budget}`);
  assert.match(flood, /ENOBUFS=\d+/, "the flood ends in ENOBUFS");
  assert.match(flood, /socket ENOMEM/, "new sockets past the budget: ENOMEM");
  await sys.kill(pid);
  await sys.wait(pid);
  // Everything it held is given back (the account closes a turn after the exit).
  let after = await alphaMemory(sys);
  for (let i = 0; i < 20 && (after.total !== 0 || pid in after.byPid); i++) {
    await new Promise((r) => setTimeout(r, 50));
    after = await alphaMemory(sys);
  }
  assert.equal(after.total, 0, JSON.stringify(after));
  assert.equal(after.byPid[pid], undefined);
  assert.equal(after.leftAtExit, 0);
});
