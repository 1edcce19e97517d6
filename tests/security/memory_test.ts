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
import * as abi from "../../kernel/abi.ts";
import { serveNet } from "../../netstack/service.ts";
import type { TcpSocket } from "../../netstack/sockets/tcp_socket.ts";
import { Sim } from "../sim.ts";

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

Deno.test("data waiting for accept() is charged to the listener's holder, dropped past its budget, and moves with accept", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  const ctx = { signal: sim.signal };
  const budget = 200_000;
  const holder = b.memory.account(7, budget);
  const net = (req: Record<string, unknown>) => serveNet(b, req, ctx);
  const sid = await net({
    op: "socket",
    pid: 7,
    domain: abi.AF_INET,
    type: abi.SOCK_STREAM,
    protocol: 0,
  });
  await net({ op: "bind", fd: sid, addr: { family: abi.AF_INET, addr: "0.0.0.0", port: 5001 } });
  await net({ op: "listen", fd: sid, backlog: 8 });
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(c.connect({ family: abi.AF_INET, addr: "10.0.0.2", port: 5001 }, ctx));
  // 1 MB towards a connection nobody accepts: it may hold 1 MiB (its SO_RCVBUF), its holder 200 kB.
  const sending = c.sendmsg(new Uint8Array(1 << 20), 0, undefined, ctx).catch(() => 0);
  await sim.run(3000);
  assert.ok(holder.used >= budget, `backlog bytes not charged: ${holder.used}`);
  assert.ok(
    holder.used < budget + 2 * 1500,
    `past the budget by more than a segment: ${holder.used}`,
  );
  assert.ok(holder.drops > 0, "data past the budget is dropped");
  const counted = b.interfaces.map((i) => i.stats.drops["tcp: over memory budget"] ?? 0);
  assert.ok(counted.some((n) => n > 0), "and counted");
  // accept() hands the bytes to the process that accepted.
  const r = await net({ op: "accept", fd: sid, flags: 0, pid: 8 }) as { fd: number };
  const acceptor = b.memory.account(8);
  assert.ok(acceptor.used >= budget && holder.used < 4096, `${acceptor.used} ${holder.used}`);
  // Reading gives the memory back and lets the peer's retransmissions in.
  const reading = (async () => {
    let got = 0;
    while (got < 1 << 20) {
      got += (await net({ op: "recvmsg", fd: r.fd, len: 65536, flags: 0 }) as { data: Uint8Array })
        .data.length;
    }
  })();
  await sim.until(Promise.all([reading, sending]), 600_000);
  await net({ op: "release", fd: r.fd });
  await net({ op: "release", fd: sid });
  assert.equal(b.memory.total, 0);
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
  // While the bystander works, the attacker keeps sending into its full connections.
  await underAttack(sys, async () => {
    for (let i = 0; i < 10; i++) {
      peakRss = Math.max(peakRss, rss());
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  during = await alphaMemory(sys);
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
