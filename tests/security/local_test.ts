/**
 * Attacks on AF_LOCAL sockets by a hostile uid-1000 program, each run while a well-behaved
 * program works alongside it (`underAttack`): taking over root's path, filling the namespace,
 * and pinning kernel memory in socket queues. Each ends in an errno for the attacker, and
 * everything it held is given back when it dies.
 */
import assert from "node:assert/strict";
import { MAX_LOCAL_PATHS_PER_UID } from "../../kernel/local/namespace.ts";
import { LOCAL_MESSAGE_OVERHEAD } from "../../kernel/local/queue_memory.ts";
import { ATTACKER, program, ROOT, underAttack, watchedLab } from "./_bystander.ts";

const lab = watchedLab;

Deno.test("a squatter cannot take a /run path before root's service binds it (/run is root's)", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const squatter = await sys.start(program("local_squat"), ["/run/early"], ATTACKER);
    assert.equal(await sys.wait(squatter), 0);
    // Before: "bind OK" and the squatter listened, so root's service got EADDRINUSE.
    assert.match(out(squatter), /^bind EACCES$/m);
    const victim = await sys.start(program("local_victim"), ["serve", "/run/early"], ROOT);
    await waitFor(victim, "ready");
    const client = await sys.run(program("local_victim"), ["client", "/run/early", "hi"], ROOT);
    assert.match(client.stdout, /^server uid 0$/m);
    // Its own /run/user/UID/ and /tmp are the attacker's to use.
    const own = await sys.start(program("local_squat"), ["/run/user/1000/x"], ATTACKER);
    await waitFor(own, "listening");
    await sys.kill(own);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("a squatter can neither unlink root's AF_LOCAL path nor bind over it", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const victim = await sys.start(program("local_victim"), ["serve", "/run/victim"], ROOT);
    await waitFor(victim, "ready");
    const { result } = await underAttack(sys, async () => {
      const squatter = await sys.start(program("local_squat"), ["/run/victim"], ATTACKER);
      assert.equal(await sys.wait(squatter), 0);
      const client = await sys.run(program("local_victim"), [
        "client",
        "/run/victim",
        "root's secret",
      ], ROOT);
      return { squatter: out(squatter), client: client.stdout };
    });
    // Before: "unlink OK", "bind OK", and "stole from uid 0: root's secret".
    assert.match(result.squatter, /^unlink EACCES$/m);
    assert.match(result.squatter, /^bind EADDRINUSE$/m);
    assert.doesNotMatch(result.squatter, /stole/);
    assert.match(result.client, /^reply victim heard root's secret$/m);
    assert.match(result.client, /^server uid 0$/m);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("AF_LOCAL paths go with their sockets, and one uid holds at most the cap (EDQUOT)", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const base = await sys.stats();
    const { result } = await underAttack(sys, async () => {
      // Binding and closing used to leave every path behind (60,000 after a minute).
      const churn = await sys.start(program("local_paths"), ["churn", "/tmp/c", "3000"], ATTACKER);
      assert.equal(await sys.wait(churn), 0);
      assert.match(out(churn), /^churn 3000$/m);
      assert.equal((await sys.stats()).localPaths, base.localPaths);
      const hoard = await sys.start(program("local_paths"), ["hoard", "/tmp/h"], ATTACKER);
      await waitFor(hoard, "holding");
      const held = (await sys.stats()).localPaths - base.localPaths;
      // Another uid still binds while uid 1000 is at its cap.
      const other = await sys.run(program("local_paths"), ["churn", "/tmp/o", "5"], {
        host: "alpha",
        uid: 1001,
      });
      await sys.kill(hoard, 9);
      await sys.wait(hoard);
      return { hoard: out(hoard), held, other: other.stdout };
    });
    assert.match(result.hoard, new RegExp(`^paths ${MAX_LOCAL_PATHS_PER_UID} EDQUOT$`, "m"));
    assert.equal(result.held, MAX_LOCAL_PATHS_PER_UID);
    assert.match(result.other, /^churn 5$/m);
    // Everything the attacker bound, including sockets it kept in flight, is gone with it.
    const after = await sys.stats();
    assert.equal(after.localPaths, base.localPaths);
    assert.equal(after.inflightHandles, base.inflightHandles);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("AF_LOCAL queues keep only what they are charged for; the sender's budget ends in ENOBUFS", async () => {
  const { sys, out, waitFor } = await lab();
  try {
    const base = await sys.stats();
    const budget = 32 << 20;
    const { result } = await underAttack(sys, async () => {
      // 2 KiB of each 16 MiB send is queued: it used to keep all 16 MiB alive (2.4 GiB for 150).
      const pairs = 24;
      const views = await sys.start(program("local_queues"), ["views", String(pairs)], ATTACKER);
      await waitFor(views, "holding");
      const viewsMemory = (await sys.stats()).localMemory - base.localMemory;
      await sys.kill(views, 9);
      await sys.wait(views);
      const afterViews = (await sys.stats()).localMemory;
      // Full queues up to the sender's memory budget.
      const filler = await sys.start(program("local_queues"), ["budget", "64"], {
        ...ATTACKER,
        memory: budget,
      });
      await waitFor(filler, "holding");
      const fillMemory = (await sys.stats()).localMemory - base.localMemory;
      await sys.kill(filler, 9);
      await sys.wait(filler);
      return { views: out(views), viewsMemory, afterViews, filler: out(filler), fillMemory };
    });
    assert.match(result.views, /^views 24 queued 49152 EAGAIN$/m);
    assert.equal(result.viewsMemory, 24 * (2048 + LOCAL_MESSAGE_OVERHEAD));
    assert.equal(result.afterViews, base.localMemory);
    const m = /^budget (\d+) (\w+)$/m.exec(result.filler);
    assert.ok(m, result.filler);
    assert.equal(m[2], "ENOBUFS");
    // The queues hold what was charged: the budget, less what the pending calls took of it.
    assert.ok(result.fillMemory <= budget, `${result.fillMemory} charged over ${budget}`);
    assert.ok(result.fillMemory >= budget / 2, `only ${result.fillMemory} charged`);
    assert.ok(Number(m[1]) <= result.fillMemory);
    // Its full queues went with it: nothing is left charged.
    assert.equal((await sys.stats()).localMemory, base.localMemory);
  } finally {
    await sys.shutdown();
  }
});
