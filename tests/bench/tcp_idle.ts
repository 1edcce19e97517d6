/**
 * Memory per idle established TCP connection, run in its own `deno run` process (so nothing
 * else pollutes the numbers): boot two hosts, measure `Deno.memoryUsage()`, open up to N
 * connections from host a to host b, measure again, print one JSON line
 * `{n, rssPerConn, heapPerConn, ms}`. A Serin process may hold 1024 fds, so the connections are
 * spread over pairs of programs, 1000 each, on ports 7000, 7001, …
 *
 * Usage: deno run -A --v8-flags=--expose-gc tests/bench/tcp_idle.ts N BUDGET_MS [DRIVER]
 */
import { bootBench, type Driver, twoHosts } from "./_serin.ts";

const PER_PROGRAM = 1000;

/** Collect garbage when the process was started with --expose-gc, then let it settle. */
async function settle(): Promise<Deno.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return Deno.memoryUsage();
}

async function main([count, budget, driver]: string[]): Promise<void> {
  const n = Number(count ?? 10000);
  const budgetMs = Number(budget ?? 60000);
  await using bs = await bootBench(twoHosts((driver ?? "wire") as Driver));
  const prog = "tests/bench/tcp_prog.ts";
  const shards = Math.ceil(n / PER_PROGRAM);
  const holders: number[] = [];
  for (let k = 0; k < shards; k++) {
    holders.push(await bs.start("b", prog, ["holder", String(7000 + k), String(PER_PROGRAM)]));
  }
  for (const pid of holders) await bs.waitFor(pid, "listening");
  // A warm-up connection pair so code paths are compiled before the baseline.
  const warm = await bs.start("a", prog, ["opener", "10.0.0.2", "7000", "1", "5000"]);
  await bs.waitFor(warm, "opened");
  await bs.sys.kill(warm);
  const before = await settle();
  const t0 = performance.now();
  const openers: number[] = [];
  for (let k = 0; k < shards; k++) {
    const share = Math.min(PER_PROGRAM, n - k * PER_PROGRAM);
    openers.push(
      await bs.start("a", prog, [
        "opener",
        "10.0.0.2",
        String(7000 + k),
        String(share),
        String(budgetMs),
      ]),
    );
  }
  let opened = 0;
  for (const pid of openers) {
    await bs.waitFor(pid, "opened", budgetMs + 30_000);
    const line = bs.output(pid).split("\n").find((l) => l.startsWith("{"));
    opened += (JSON.parse(line ?? '{"n":0}') as { n: number }).n;
  }
  const ms = performance.now() - t0;
  const after = await settle();
  console.log(JSON.stringify({
    n: opened,
    asked: n,
    ms,
    rssPerConn: (after.rss - before.rss) / opened,
    heapPerConn: (after.heapUsed - before.heapUsed) / opened,
  }));
  for (const pid of [...openers, ...holders]) await bs.sys.kill(pid).catch(() => {});
}

if (import.meta.main) await main(Deno.args);
