/**
 * What the web view costs: bulk TCP over loopback, and Serin → Linux through a TAP (root and
 * /dev/net/tun; skipped otherwise), each without the view, with the view served but no page,
 * and with a page open. The "page" is what the browser's page does, without a browser: it reads
 * the event stream and, every 300 ms, the live connection's series and the topology. Runs
 * alternate so machine load drifts hit every case alike; the median of each case is reported.
 *
 * Run alone with `deno run -A tests/bench/ui.ts [--mb N] [--rounds N]`.
 */
import { parseArgs } from "node:util";
import { type BenchSystem, bootBench } from "./_serin.ts";
import { startDeno } from "./_subprocess.ts";
import { attempt, percentile, report, type Row } from "./_stats.ts";
import type { NetSetup } from "../../kernel/net_setup.ts";
import { serveUi, type Ui } from "../../tools/ui/server.ts";

const PROG = "tests/bench/tcp_prog.ts";
const LEN = 65536;
type Mode = "no view" | "view, no page" | "page open";
const MODES: Mode[] = ["no view", "view, no page", "page open"];

const gbits = (bytes: number, ms: number) => (bytes * 8) / (ms * 1e6);

/** A page's traffic against `ui` until `signal` aborts. */
async function fakePage(ui: Ui, signal: AbortSignal): Promise<void> {
  const base = `http://127.0.0.1:${ui.port}`;
  const t = ui.token;
  const events = await fetch(`${base}/api/events?t=${t}`, { signal });
  const reader = events.body!.getReader();
  const dec = new TextDecoder();
  let last = "";
  const read = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const chunk = dec.decode(value);
        const m = chunk.match(/"key":"([^"]+)"/);
        if (m) last = m[1];
      }
    } catch {
      // aborted
    }
  })();
  const cursors = new Map<string, string>();
  while (!signal.aborted) {
    await new Promise((r) => setTimeout(r, 300));
    try {
      if (last) {
        const c = cursors.get(last) ?? "0.0.0";
        const r = await fetch(
          `${base}/api/conn?t=${t}&key=${encodeURIComponent(last)}&cursor=${c}`,
          {
            signal,
          },
        );
        const body = await r.json();
        if (body.cursor) cursors.set(last, body.cursor);
      }
      await (await fetch(`${base}/api/topology?t=${t}`, { signal })).arrayBuffer();
    } catch {
      // aborted
    }
  }
  await read;
}

/** Run `transfer` on a system booted from `net` in `mode`; Gbit/s. */
async function withMode(
  net: NetSetup | undefined,
  mode: Mode,
  transfer: (bs: BenchSystem) => Promise<number>,
  afterBoot?: () => Promise<void>,
): Promise<number> {
  await using bs = await bootBench(net);
  await afterBoot?.();
  const ui = mode === "no view"
    ? undefined
    : await serveUi(bs.sys, { port: 0, page: { js: "", css: "" } });
  const stop = new AbortController();
  const page = mode === "page open" ? fakePage(ui!, stop.signal) : undefined;
  if (page) await new Promise((r) => setTimeout(r, 300));
  try {
    return await transfer(bs);
  } finally {
    stop.abort();
    await page;
    await ui?.close();
  }
}

async function loopback(bs: BenchSystem, mb: number): Promise<number> {
  const sink = await bs.start("local", PROG, ["sink", "5001"]);
  await bs.waitFor(sink, "listening");
  const source = await bs.start("local", PROG, [
    "source",
    "127.0.0.1",
    "5001",
    String(mb),
    String(LEN),
  ]);
  const r = await bs.result<{ bytes: number; ms: number }>(sink);
  await bs.result(source);
  return gbits(r.bytes, r.ms);
}

async function sh(cmd: string, ...args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
}

function tapMissing(): string | undefined {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  try {
    Deno.openSync("/dev/net/tun", { read: true, write: true }).close();
  } catch (err) {
    return `/dev/net/tun: ${(err as Error).message}`;
  }
  return undefined;
}

/** Serin → Linux through a fresh TAP in a fresh namespace; Gbit/s. */
async function tapBulk(mode: Mode, mb: number): Promise<number> {
  const id = Deno.pid % 100000;
  const tap = `sutap${id}`, ns = `subench-${id}`;
  const clean = async () => {
    await sh("ip", "netns", "del", ns).catch(() => {});
    await sh("ip", "link", "del", tap).catch(() => {});
  };
  await clean();
  try {
    await sh("ip", "netns", "add", ns);
    await sh("ip", "tuntap", "add", "dev", tap, "mode", "tap");
    const net: NetSetup = {
      hosts: [{ name: "serin", ifaces: [{ link: `tap:${tap}`, addrs: ["10.78.0.2/24"] }] }],
    };
    return await withMode(net, mode, async (bs) => {
      await using sink = startDeno("_deno_tcp.ts", ["sink", "10.78.0.1", "0"], { netns: ns });
      const port = await sink.line();
      const source = await bs.start("serin", PROG, [
        "source",
        "10.78.0.1",
        port,
        String(mb),
        String(LEN),
      ]);
      const r = await sink.result<{ bytes: number; ms: number }>();
      await bs.result(source);
      return gbits(r.bytes, r.ms);
    }, async () => {
      await sh("ip", "link", "set", tap, "netns", ns);
      await sh("ip", "netns", "exec", ns, "ip", "addr", "add", "10.78.0.1/24", "dev", tap);
      await sh("ip", "netns", "exec", ns, "ip", "link", "set", tap, "up");
    });
  } finally {
    await clean();
  }
}

/** The benchmark: medians per case, and each view case relative to no view. */
export async function benchUi(opts: { mb?: number; rounds?: number } = {}): Promise<void> {
  const mb = opts.mb ?? 64, rounds = opts.rounds ?? 3;
  const rows: Row[] = [];
  const cases: Array<[string, (m: Mode) => Promise<number>]> = [
    ["loopback bulk", (m) => withMode(undefined, m, (bs) => loopback(bs, mb))],
  ];
  const why = tapMissing();
  if (why) console.log(`\n!!! ui benchmark: TAP case SKIPPED (${why}) !!!`);
  else cases.push(["TAP bulk Serin → Linux", (m) => tapBulk(m, mb)]);
  for (const [name, run] of cases) {
    const got = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
    for (let i = 0; i < rounds; i++) {
      for (const m of MODES) {
        const v = await attempt(`${name}, ${m}`, () => run(m));
        if (v !== undefined) got.get(m)!.push(v);
      }
    }
    const base = percentile(got.get("no view")!, 50);
    for (const m of MODES) {
      const med = percentile(got.get(m)!, 50);
      rows.push({
        name: `${name} (${mb} MB), ${m}`,
        value: med,
        unit: "Gbit/s",
        ...(m === "no view"
          ? {}
          : { reference: `${((med / base - 1) * 100).toFixed(1)}% vs no view` }),
      });
    }
  }
  report("ui", rows);
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { mb: { type: "string" }, rounds: { type: "string" } } });
  await benchUi({
    mb: values.mb ? Number(values.mb) : undefined,
    rounds: values.rounds ? Number(values.rounds) : undefined,
  });
}
