/**
 * lwIP next to Serin over the same TAP set-up, with the same Linux client, in one run: bulk
 * both ways, ping p50 (IPv4 and IPv6), connections/s and connect + 64 B echo + close per
 * second. lwIP 2.1.3 is Debian's `liblwip-dev`; its TAP peer (tests/bench/lwip/) is built from
 * here into a temporary directory, and the column is skipped loudly when it cannot be built.
 * Needs root and /dev/net/tun (skips loudly otherwise).
 *
 * Run alone with `deno run -A tests/bench/stacks.ts [--mb N] [--stack lwip|wire|virtio|e1000]`.
 *
 * Each stack gets a fresh TAP in a fresh namespace; the stack is 10.77.0.2/24 and fd77::2/64,
 * Linux 10.77.0.1 and fd77::1. Servers on the stack: sink on 5001 (reads to EOF, answers
 * `bytes=N`, closes), echo on 5007. The Linux client is tests/bench/_deno_tcp.ts:
 * - Linux → stack: `source` to the sink, timed until the sink's close;
 * - stack → Linux: the stack connects to a Linux `sink` (lwIP through its control port 5009);
 * - conn/s: connect, shut down writing, wait for the sink's close, close;
 * - CRR: connect, 64 B to the echo and back, close;
 * - ping: 100 × `ping -i 0.002`, the median.
 */
import { parseArgs } from "node:util";
import { type BenchSystem, bootBench, type Driver } from "./_serin.ts";
import { type Child, startChild, startDeno } from "./_subprocess.ts";
import { attempt, report, type Row } from "./_stats.ts";
import { missing, pingRtt, sh, shQuiet } from "./tap.ts";

/** A column of the table. */
export type Stack = "lwip" | Driver;

/** What to measure. */
export interface StacksBenchOptions {
  /** Mebibytes per bulk transfer (default 32). */
  mb?: number;
  /** Length of each connection-rate run, ms (default 3000). */
  budgetMs?: number;
  /** Columns (default lwIP, Serin wire, virtio, e1000). */
  stacks?: Stack[];
}

const PROG = "tests/bench/tcp_prog.ts";
const STACK_ADDR = "10.77.0.2";
const LINUX_ADDR = "10.77.0.1";
const STACK_ADDR6 = "fd77::2";
const LINUX_ADDR6 = "fd77::1";
const LEN = 65536;
const INSTALL = "apt-get install -y liblwip-dev pkg-config";

/** One column's figures (undefined: that measurement failed). */
interface Column {
  rx?: number;
  tx?: number;
  ping4?: number;
  ping6?: number;
  conn?: number;
  crr?: number;
}

const ROWS: Array<[keyof Column, string, string]> = [
  ["rx", "Linux → stack bulk", "Gbit/s"],
  ["tx", "stack → Linux bulk", "Gbit/s"],
  ["ping4", "ping p50 IPv4", "µs"],
  ["ping6", "ping p50 IPv6", "µs"],
  ["conn", "connections/s", "conn/s"],
  ["crr", "connect + 64 B echo + close", "/s"],
];

/** Whether `cmd args` runs and exits 0. */
async function ok(cmd: string, ...args: string[]): Promise<boolean> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return r.success;
  } catch {
    return false;
  }
}

/**
 * Build the lwIP peer into a temporary directory (installing liblwip-dev first when root and
 * it is missing). Returns the binary's path, or why it cannot be built.
 */
export async function buildLwipPeer(): Promise<{ path: string } | { skipped: string }> {
  if (!(await ok("pkg-config", "--exists", "lwip")) && Deno.uid() === 0) {
    console.error(`bench: lwIP not installed, trying: ${INSTALL}`);
    await ok("apt-get", "install", "-y", "-qq", "liblwip-dev", "pkg-config");
  }
  if (!(await ok("pkg-config", "--exists", "lwip"))) {
    return { skipped: `liblwip-dev is not installed (run as root: ${INSTALL})` };
  }
  const dir = await Deno.makeTempDir({ prefix: "serin-lwip-" });
  for (const f of ["lwip_tap_peer.c", "Makefile"]) {
    await Deno.copyFile(new URL(`./lwip/${f}`, import.meta.url), `${dir}/${f}`);
  }
  const r = await new Deno.Command("make", {
    args: ["-s", "-C", dir],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!r.success) {
    return { skipped: `make failed: ${new TextDecoder().decode(r.stderr).trim().slice(0, 300)}` };
  }
  return { path: `${dir}/lwip_tap_peer` };
}

const gbits = (bytes: number, ms: number) => (bytes * 8) / (ms * 1e6);

/** Names for one column's run (pid-suffixed so parallel runs do not collide). */
function names(stack: Stack) {
  const id = `${Deno.pid % 100000}${stack[0]}`;
  return { tap: `sst${id}`, ns: `sstack-${id}` };
}

async function cleanUp(n: ReturnType<typeof names>): Promise<void> {
  await shQuiet("ip", "netns", "exec", n.ns, "ip", "link", "del", n.tap);
  await shQuiet("ip", "link", "del", n.tap);
  await shQuiet("ip", "netns", "del", n.ns);
}

/** Addresses and link up on Linux's side of the TAP, inside `ns`. */
async function linuxSide(n: ReturnType<typeof names>): Promise<void> {
  const inNs = (...a: string[]) => sh("ip", "-n", n.ns, ...a);
  await inNs("link", "set", "lo", "up");
  await inNs("addr", "add", `${LINUX_ADDR}/24`, "dev", n.tap);
  await inNs("-6", "addr", "add", `${LINUX_ADDR6}/64`, "dev", n.tap, "nodad");
  await inNs("link", "set", n.tap, "up");
}

/** Median RTT in µs of 100 pings 2 ms apart from the namespace. */
async function pingP50(ns: string, addr: string): Promise<number> {
  const run = (count: string, interval: string) =>
    sh("ip", "netns", "exec", ns, "ping", "-n", "-c", count, "-i", interval, "-W", "2", addr);
  await run("3", "0.2"); // neighbour caches both ways
  const r = pingRtt(await run("100", "0.002"));
  if (r.received === 0) throw new Error(`no ping replies from ${addr}`);
  return r.median;
}

/** Wait until `addr` answers a ping from `ns` (a peer that has just started). */
async function waitPing(ns: string, addr: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await ok("ip", "netns", "exec", ns, "ping", "-n", "-c", "1", "-W", "1", addr)) return;
  }
  throw new Error(`${addr} does not answer pings`);
}

/** The client-side measurements every column shares; `sendTo` makes the stack send to Linux. */
async function measure(
  ns: string,
  mb: number,
  budget: number,
  sendTo: (port: string, bytes: number) => Promise<unknown>,
): Promise<Column> {
  const c: Column = {};
  const client = (args: string[]) => startDeno("_deno_tcp.ts", args, { netns: ns });
  c.ping4 = await attempt("ping IPv4", () => pingP50(ns, STACK_ADDR));
  c.ping6 = await attempt("ping IPv6", () => pingP50(ns, STACK_ADDR6));
  c.rx = await attempt("bulk Linux → stack", async () => {
    await using src = client(["source", STACK_ADDR, "5001", String(mb), String(LEN)]);
    const r = await src.result<{ ms: number }>();
    return gbits(mb * 1024 * 1024, r.ms);
  });
  c.tx = await attempt("bulk stack → Linux", async () => {
    await using sink = client(["sink", LINUX_ADDR, "0"]);
    const port = await sink.line();
    await sendTo(port, mb * 1024 * 1024);
    const r = await sink.result<{ bytes: number; ms: number }>();
    return gbits(r.bytes, r.ms);
  });
  const rate = async (mode: string, port: string) => {
    await using run = client([mode, STACK_ADDR, port, "1000000", String(budget)]);
    const r = await run.result<{ ms: number; n: number }>();
    return (r.n * 1000) / r.ms;
  };
  c.conn = await attempt("connections/s", () => rate("connshut", "5001"));
  c.crr = await attempt("CRR/s", () => rate("crr", "5007"));
  return c;
}

async function lwipColumn(peer: string, mb: number, budget: number): Promise<Column> {
  const n = names("lwip");
  await cleanUp(n);
  let child: Child | undefined;
  try {
    await sh("ip", "netns", "add", n.ns);
    await sh("ip", "-n", n.ns, "tuntap", "add", "dev", n.tap, "mode", "tap");
    await linuxSide(n);
    child = startChild("ip", ["netns", "exec", n.ns, peer, "-i", n.tap, "-q"]);
    await waitPing(n.ns, STACK_ADDR);
    return await measure(n.ns, mb, budget, async (port, bytes) => {
      await using ctl = startDeno("_deno_tcp.ts", [
        "ctl",
        STACK_ADDR,
        "5009",
        `SEND ${bytes} ${port}`,
      ], { netns: n.ns });
      await ctl.result().catch(() => {}); // its answer is a line of text, not JSON
    });
  } finally {
    child?.kill();
    await cleanUp(n);
  }
}

async function serinColumn(driver: Driver, mb: number, budget: number): Promise<Column> {
  const n = names(driver);
  await cleanUp(n);
  let bs: BenchSystem | undefined;
  try {
    await sh("ip", "netns", "add", n.ns);
    await sh("ip", "tuntap", "add", "dev", n.tap, "mode", "tap");
    bs = await bootBench({
      hosts: [{
        name: "serin",
        ifaces: [{
          link: `tap:${n.tap}`,
          driver,
          addrs: [`${STACK_ADDR}/24`, `${STACK_ADDR6}/64`],
        }],
      }],
    });
    await sh("ip", "link", "set", n.tap, "netns", n.ns);
    await linuxSide(n);
    const sys = bs;
    for (const [mode, port] of [["sinks", "5001"], ["echo", "5007"]]) {
      await sys.waitFor(await sys.start("serin", PROG, [mode, port]), "listening");
    }
    await waitPing(n.ns, STACK_ADDR);
    return await measure(n.ns, mb, budget, async (port) => {
      const pid = await sys.start("serin", PROG, [
        "source",
        LINUX_ADDR,
        port,
        String(mb),
        String(LEN),
      ]);
      await sys.result(pid);
    });
  } finally {
    await bs?.[Symbol.asyncDispose]();
    await cleanUp(n);
  }
}

/** Run the benchmark and print its table and JSON line (or loud skip messages). */
export async function benchStacks(opts: StacksBenchOptions = {}): Promise<void> {
  const why = await missing();
  if (why) {
    console.log(
      `\n!!! stacks benchmark SKIPPED: needs root and /dev/net/tun on Linux (${why}) !!!`,
    );
    console.log(JSON.stringify({ bench: "stacks", skipped: why, results: [] }));
    return;
  }
  const mb = opts.mb ?? 32;
  const budget = opts.budgetMs ?? 3000;
  const stacks = opts.stacks ?? ["lwip", "wire", "virtio", "e1000"];
  const columns = new Map<string, Column>();
  for (const s of stacks) {
    const label = s === "lwip" ? "lwIP 2.1.3" : `Serin ${s}`;
    if (s === "lwip") {
      const peer = await buildLwipPeer();
      if ("skipped" in peer) {
        console.log(`\n!!! stacks: lwIP column SKIPPED: ${peer.skipped} !!!`);
        continue;
      }
      columns.set(label, await lwipColumn(peer.path, mb, budget));
      await Deno.remove(peer.path.replace(/\/[^/]+$/, ""), { recursive: true });
    } else columns.set(label, await serinColumn(s, mb, budget));
  }
  // The side-by-side table first, then the usual rows and JSON line.
  const labels = [...columns.keys()];
  const fmt = (v: number | undefined) =>
    v === undefined ? "failed" : v >= 100 ? v.toFixed(0) : v.toPrecision(3);
  console.log(`\nstacks (same TAP set-up, same client, one run; ${mb} MB bulk)`);
  console.log(`  ${"".padEnd(30)}${labels.map((l) => l.padStart(14)).join("")}`);
  const rows: Row[] = [];
  for (const [key, name, unit] of ROWS) {
    const cells = labels.map((l) => fmt(columns.get(l)![key]).padStart(14)).join("");
    console.log(`  ${`${name} (${unit})`.padEnd(30)}${cells}`);
    for (const l of labels) {
      const v = columns.get(l)![key];
      if (v !== undefined) rows.push({ name: `${name}, ${l}`, value: v, unit });
    }
  }
  report("stacks", rows);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { mb: { type: "string" }, stack: { type: "string", multiple: true } },
  });
  await benchStacks({
    mb: values.mb ? Number(values.mb) : undefined,
    stacks: values.stack as Stack[] | undefined,
  });
}
