/**
 * Attacks on the system's resources that the kernel answers: a fork bomb meets its uid's process
 * limit (EAGAIN, as Linux's fork does at RLIMIT_NPROC), the system memory cap refuses spawns
 * (ENOMEM) before the machine runs out, and a process's calls in progress are charged to its
 * memory budget (ENOBUFS beyond it), every charge given back when the call ends. Each attack
 * runs beside the bystander (ping and a 1 MB echo), which must keep working.
 */
import assert from "node:assert/strict";
import { localPair } from "../../kernel/bus/endpoint.ts";
import { ManualClock } from "../../kernel/clock.ts";
import { ADMIN_RESERVE_SHARE, Kernel } from "../../kernel/kernel.ts";
import { memoryCap, setMemoryCap } from "../../kernel/memory_cap.ts";
import type { System } from "../../kernel/mod.ts";
import { bootLab, underAttack } from "./_bystander.ts";

const BOMB = "tests/security/programs/res_forkbomb.ts";
const PENDING = "tests/security/programs/res_pending.ts";
const HELLO = "tests/programs/hello.ts";
const ATTACKER = { host: "alpha", uid: 1000 };

/** Boot the lab with console output kept per pid. */
async function lab(config: Parameters<typeof bootLab>[0]) {
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const sys = await bootLab({
    ...config,
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  /** Wait until `pid` has printed a line matching `re`. */
  const printed = async (pid: number, re: RegExp): Promise<RegExpExecArray> => {
    for (let i = 0;; i++) {
      const m = re.exec(out.get(pid) ?? "");
      if (m) return m;
      if (i === 1500) throw new Error(`pid ${pid} never printed ${re}: ${out.get(pid)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { sys, printed };
}

const uidCount = async (sys: System, uid: number) =>
  (await sys.ps()).filter((p) => p.uid === uid).length;

Deno.test("a fork bomb gets EAGAIN at its uid's process limit, children included; others still run", async () => {
  const LIMIT = 12;
  const { sys, printed } = await lab({ processLimit: LIMIT });
  await using _ = sys;
  const { result } = await underAttack(sys, async () => {
    const pid = await sys.start(BOMB, ["bomb", BOMB], ATTACKER);
    return (await printed(pid, /^spawned (\d+) (\w+)$/m)).slice(1);
  });
  const [spawned, code] = result;
  assert.equal(code, "EAGAIN");
  // The bomb, its children and their children: exactly the limit, whoever spawned them.
  assert.ok(Number(spawned) < LIMIT, `the bomb itself spawned ${spawned}`);
  assert.equal(await uidCount(sys, 1000), LIMIT);
  // Another uid, and root, are not held back by uid 1000's processes.
  assert.equal((await sys.run(HELLO, ["0"], { host: "alpha", uid: 1001 })).status, 0);
  await assert.rejects(sys.start(HELLO, [], ATTACKER), /EAGAIN|too many processes/);
  // Killing the bomb's processes gives the places back.
  for (const p of await sys.ps()) if (p.uid === 1000) await sys.kill(p.pid).catch(() => {});
  assert.equal(await uidCount(sys, 1000), 0);
  assert.equal((await sys.run(HELLO, ["0"], ATTACKER)).status, 0);
});

Deno.test("past the system memory cap, spawns get ENOMEM; root keeps an admin reserve", async () => {
  // The cap sits 300 MiB above what the test process (the whole system) holds now: the lab
  // takes about half of that, and a bomb with no process limit to stop it reaches the cap after
  // a few more workers. (The bystander, root, may go past it into root's reserve.)
  const cap = Deno.memoryUsage().rss + (300 << 20);
  const { sys, printed } = await lab({ processLimit: 10_000, memoryCap: cap });
  await using _ = sys;
  let peak = 0;
  const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
  try {
    const { result } = await underAttack(sys, async () => {
      const pid = await sys.start(BOMB, ["bomb", BOMB], ATTACKER);
      return (await printed(pid, /^spawned (\d+) (\w+)$/m)).slice(1);
    });
    assert.equal(result[1], "ENOMEM");
    console.log(`the bomb spawned ${result[0]} before ENOMEM`);
  } finally {
    clearInterval(sampler);
  }
  console.log(`cap ${cap >> 20} MiB, peak RSS ${peak >> 20} MiB`);
  // Other test files share this OS process (deno test --parallel): allow root's reserve.
  const most = cap * (1 + ADMIN_RESERVE_SHARE);
  assert.ok(peak < most, `peak RSS ${peak >> 20} MiB, cap ${cap >> 20} MiB`);
  for (const p of await sys.ps()) if (p.uid === 1000) await sys.kill(p.pid).catch(() => {});
});

Deno.test("calls in progress are charged to the caller's memory budget and given back", async () => {
  const { sys } = await lab({});
  await using _ = sys;
  const { result } = await underAttack(sys, async () => {
    // 32 KiB: room for about 30 calls in progress at 1 KiB each.
    const r = await sys.run(PENDING, ["calls", "200"], { ...ATTACKER, memory: 32 << 10 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  });
  const [ok, refused, during, limit] = /^calls (\d+) (\d+) (\d+) (\d+)$/m.exec(result)!.slice(1)
    .map(Number);
  assert.equal(limit, 32 << 10);
  assert.ok(refused > 0 && ok > 0 && ok + refused === 200, result);
  assert.ok(during <= limit && during >= ok * 1024, result);
  const after = Number(/^after (\d+)$/m.exec(result)![1]);
  assert.ok(after < 2048, `still charged after the calls ended: ${result}`);
  // A blocked send holds its bytes: past the budget it is refused, not queued.
  const send = await sys.run(PENDING, ["send", String(1 << 20)], {
    ...ATTACKER,
    memory: 512 << 10,
  });
  assert.match(send.stdout, /^send ENOBUFS$/m);
  // The budget shows in ps, and a child inherits it.
  // (Both block in a receive once started: that call is what they are charged for.)
  const pid = await sys.start(BOMB, ["child", BOMB], { ...ATTACKER, memory: 1 << 20 });
  const blocked = async () => {
    const rows = (await sys.ps()).filter((p) => p.uid === 1000);
    return rows.length === 2 && rows.every((p) => p.memory > 0) ? rows : undefined;
  };
  let rows;
  for (let i = 0; !(rows = await blocked()); i++) {
    assert.ok(i < 500, "the child and its grandchild never blocked");
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(rows.map((p) => p.memoryLimit), [1 << 20, 1 << 20]);
  assert.ok(rows.every((p) => p.memory < p.memoryLimit));
  await sys.kill(pid);
});

Deno.test("over the memory cap: an unprivileged spawn gets ENOMEM at once, root has its reserve", () => {
  // A kernel in this thread, whose processes never start: only its spawn decisions are looked at.
  const kernel = new Kernel({
    clock: new ManualClock(),
    spawner: { start: () => ({ endpoint: localPair()[0], terminate() {} }) },
    emit: () => {},
    resolveProgram: (name) => new URL(`../../tools/${name}.ts`, import.meta.url).href,
  });
  const before = memoryCap();
  try {
    // The process's RSS sits 5% over the cap, inside root's reserve.
    setMemoryCap(Math.floor(Deno.memoryUsage().rss / 1.05));
    assert.throws(() => kernel.spawn({ module: "nc", args: [], uid: 1000 }), /ENOMEM|memory cap/);
    assert.equal(typeof kernel.spawn({ module: "nc", args: [], uid: 0 }), "number");
    setMemoryCap(Math.floor(Deno.memoryUsage().rss / 2));
    assert.throws(() => kernel.spawn({ module: "nc", args: [], uid: 0 }), /ENOMEM|memory cap/);
  } finally {
    setMemoryCap(before);
    kernel.shutdown();
  }
});
