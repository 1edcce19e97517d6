/**
 * Serin against Linux through a TAP device: bulk TCP throughput both ways, connections per
 * second and ping RTT, with Linux-to-Linux over a veth pair between two namespaces measured in
 * the same run as the reference. Needs root and /dev/net/tun; skips with a loud message
 * otherwise. Everything it creates (namespaces, TAP, veth, child processes) is removed on the
 * way out, failures included.
 *
 * Run alone with `deno run -A tests/bench/tap.ts [--driver wire|e1000|rtl8139|virtio] [--mb N]`.
 *
 * Layout (only 10.77.x.y addresses, only inside namespaces this benchmark creates):
 *   Serin host "serin" 10.77.0.2 ─ TAP sbtap<pid> ─ namespace sbench-<pid>-t, 10.77.0.1
 *   namespace sbench-<pid>-a 10.77.1.1 ─ veth ─ namespace sbench-<pid>-b 10.77.1.2
 */
import { parseArgs } from "node:util";
import { bootBench, type Driver } from "./_serin.ts";
import { type Child, startChild, startDeno } from "./_subprocess.ts";
import { attempt, report, type Row } from "./_stats.ts";

/** What to measure. */
export interface TapBenchOptions {
  /** Mebibytes per bulk transfer (default 64). */
  mb?: number;
  /** Stop a connections-per-second run after this many milliseconds (default 5000). */
  connBudgetMs?: number;
  /** NIC model of the Serin interface (default "wire"). */
  driver?: Driver;
}

/** The peer to beat, per the issue (constants, printed as a note). */
const LWIP = "lwIP ~2.4 Gbit/s Linux→stack, ~4.1 Gbit/s stack→Linux, ~50 µs ping, ~6–7k conn/s";
const PROG = "tests/bench/tcp_prog.ts";
const LEN = 65536;
const SERIN_ADDR = "10.77.0.2";
const LINUX_ADDR = "10.77.0.1";
const VETH_A = "10.77.1.1";
const VETH_B = "10.77.1.2";

/** Run a command; throws with its stderr when it fails. Returns stdout. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(r.stderr).trim()}`);
  return dec.decode(r.stdout);
}

/** Run a command, ignoring failure (clean-up). */
export async function shQuiet(cmd: string, ...args: string[]): Promise<void> {
  await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output().catch(() => {});
}

/** Why this machine cannot run the benchmark, or undefined when it can. */
export async function missing(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "not Linux";
  if (Deno.uid() !== 0) return "not root";
  try {
    const f = await Deno.open("/dev/net/tun", { read: true, write: true });
    f.close();
  } catch (err) {
    return `/dev/net/tun: ${(err as Error).message}`;
  }
  try {
    await sh("ip", "-V");
  } catch {
    return "no `ip` command";
  }
  return undefined;
}

/** The names this run uses (suffixed with our pid so parallel runs do not collide). */
function names() {
  const id = Deno.pid % 100000;
  return {
    tap: `sbtap${id}`,
    nsTap: `sbench-${id}-t`,
    nsA: `sbench-${id}-a`,
    nsB: `sbench-${id}-b`,
    vethA: `sbva${id}`,
    vethB: `sbvb${id}`,
  };
}

/** Remove everything {@link names} may have created, wherever it ended up. */
async function cleanUp(n: ReturnType<typeof names>): Promise<void> {
  await shQuiet("ip", "netns", "exec", n.nsTap, "ip", "link", "del", n.tap);
  await shQuiet("ip", "link", "del", n.tap);
  await shQuiet("ip", "netns", "exec", n.nsA, "ip", "link", "del", n.vethA);
  for (const ns of [n.nsTap, n.nsA, n.nsB]) await shQuiet("ip", "netns", "del", ns);
}

const gbits = (bytes: number, ms: number) => (bytes * 8) / (ms * 1e6);

/**
 * Parse iputils' "rtt min/avg/max/mdev = a/b/c/d ms" into µs (avg and max), and the median of
 * the per-reply "time=" figures (the first reply also waits for ARP both ways).
 */
export function pingRtt(
  out: string,
): { avg: number; max: number; median: number; received: number } {
  const m = out.match(/= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/);
  const r = out.match(/(\d+) received/);
  if (!m || !r) throw new Error(`cannot parse ping output: ${out}`);
  const times = [...out.matchAll(/time=([\d.]+) ms/g)].map((t) => Number(t[1]) * 1000)
    .sort((a, b) => a - b);
  const median = times.length ? times[times.length >> 1] : NaN;
  return { avg: Number(m[2]) * 1000, max: Number(m[3]) * 1000, median, received: Number(r[1]) };
}

async function ping(
  ns: string,
  addr: string,
): Promise<{ avg: number; max: number; median: number }> {
  const out = await sh(
    "ip",
    "netns",
    "exec",
    ns,
    "ping",
    "-n",
    "-c",
    "20",
    "-i",
    "0.05",
    "-W",
    "2",
    addr,
  );
  const r = pingRtt(out);
  if (r.received === 0) throw new Error(`no ping replies from ${addr}`);
  return r;
}

/** Deno peer bulk transfer between two namespaces (Linux to Linux): Gbit/s at the sink. */
async function linuxBulk(nsSink: string, nsSource: string, addr: string, mb: number) {
  await using sink = startDeno("_deno_tcp.ts", ["sink", addr, "0"], { netns: nsSink });
  const port = await sink.line();
  await using source = startDeno("_deno_tcp.ts", ["source", addr, port, String(mb), String(LEN)], {
    netns: nsSource,
  });
  const r = await sink.result<{ bytes: number; ms: number }>();
  await source.result();
  return gbits(r.bytes, r.ms);
}

/** Deno connect loop from `nsFrom` to an acceptor in `nsTo`: conn/s. */
async function linuxConnRate(nsTo: string, nsFrom: string, addr: string, budgetMs: number) {
  await using acceptor = startDeno("_deno_tcp.ts", ["acceptor", addr, "0"], { netns: nsTo });
  const port = await acceptor.line();
  await using connector = startDeno(
    "_deno_tcp.ts",
    ["connector", addr, port, "1000000", String(budgetMs)],
    { netns: nsFrom },
  );
  const r = await connector.result<{ ms: number; n: number }>();
  return (r.n * 1000) / r.ms;
}

/** iperf3 between two namespaces, when installed: Gbit/s received, else undefined. */
async function iperf(
  nsServer: string,
  nsClient: string,
  addr: string,
): Promise<number | undefined> {
  try {
    await sh("iperf3", "--version");
  } catch {
    return undefined;
  }
  await using server: Child = startChild("ip", [
    "netns",
    "exec",
    nsServer,
    "iperf3",
    "-s",
    "-1",
    "-B",
    addr,
  ]);
  await new Promise((r) => setTimeout(r, 300));
  const out = await sh(
    "ip",
    "netns",
    "exec",
    nsClient,
    "iperf3",
    "-c",
    addr,
    "-t",
    "3",
    "-l",
    "64K",
    "-J",
  );
  server.kill();
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

/** Run the benchmark and print its table and JSON line (or a loud skip message). */
export async function benchTap(opts: TapBenchOptions = {}): Promise<void> {
  const why = await missing();
  if (why) {
    console.log(`\n!!! tap benchmark SKIPPED: needs root and /dev/net/tun on Linux (${why}) !!!`);
    console.log(JSON.stringify({ bench: "tap", skipped: why, results: [] }));
    return;
  }
  const mb = opts.mb ?? 64;
  const budget = opts.connBudgetMs ?? 5000;
  const n = names();
  await cleanUp(n); // leftovers of a killed earlier run with the same pid
  try {
    report("tap", await measure(n, mb, budget, opts.driver ?? "wire"));
  } finally {
    await cleanUp(n);
  }
}

async function measure(
  n: ReturnType<typeof names>,
  mb: number,
  budget: number,
  driver: Driver,
): Promise<Row[]> {
  const ip = (...a: string[]) => sh("ip", ...a);
  const inNs = (ns: string, ...a: string[]) => sh("ip", "netns", "exec", ns, "ip", ...a);
  for (const ns of [n.nsTap, n.nsA, n.nsB]) {
    await ip("netns", "add", ns);
    await inNs(ns, "link", "set", "lo", "up");
  }
  // The reference: a veth pair between two namespaces.
  await ip(
    "link",
    "add",
    n.vethA,
    "netns",
    n.nsA,
    "type",
    "veth",
    "peer",
    "name",
    n.vethB,
    "netns",
    n.nsB,
  );
  await inNs(n.nsA, "addr", "add", `${VETH_A}/24`, "dev", n.vethA);
  await inNs(n.nsB, "addr", "add", `${VETH_B}/24`, "dev", n.vethB);
  await inNs(n.nsA, "link", "set", n.vethA, "up");
  await inNs(n.nsB, "link", "set", n.vethB, "up");

  // The TAP: created in the root namespace, opened by Serin, then moved into its namespace.
  await ip("tuntap", "add", "dev", n.tap, "mode", "tap");
  await using bs = await bootBench({
    hosts: [{
      name: "serin",
      ifaces: [{ link: `tap:${n.tap}`, driver, addrs: [`${SERIN_ADDR}/24`] }],
    }],
  });
  await ip("link", "set", n.tap, "netns", n.nsTap);
  await inNs(n.nsTap, "addr", "add", `${LINUX_ADDR}/24`, "dev", n.tap);
  await inNs(n.nsTap, "link", "set", n.tap, "up");

  const rows: Row[] = [];
  const ref = "Linux↔Linux veth, same run";

  // Ping first: it also fills both neighbour caches.
  const sp = await attempt("ping Linux → Serin", () => ping(n.nsTap, SERIN_ADDR));
  const lp = await attempt("ping Linux → Linux", () => ping(n.nsA, VETH_B));

  await attempt("bulk Linux → Serin", async () => {
    const sink = await bs.start("serin", PROG, ["sink", "5001"]);
    await bs.waitFor(sink, "listening");
    await using source = startDeno(
      "_deno_tcp.ts",
      ["source", SERIN_ADDR, "5001", String(mb), String(LEN)],
      { netns: n.nsTap },
    );
    const r = await bs.result<{ bytes: number; ms: number }>(sink);
    await source.result();
    rows.push({
      name: `bulk Linux → Serin (${mb} MB)`,
      value: gbits(r.bytes, r.ms),
      unit: "Gbit/s",
    });
  });
  await attempt("bulk Serin → Linux", async () => {
    await using sink = startDeno("_deno_tcp.ts", ["sink", LINUX_ADDR, "0"], { netns: n.nsTap });
    const port = await sink.line();
    const source = await bs.start("serin", PROG, [
      "source",
      LINUX_ADDR,
      port,
      String(mb),
      String(LEN),
    ]);
    const r = await sink.result<{ bytes: number; ms: number }>();
    await bs.result(source);
    rows.push({
      name: `bulk Serin → Linux (${mb} MB)`,
      value: gbits(r.bytes, r.ms),
      unit: "Gbit/s",
    });
  });
  const veth = await attempt("bulk Linux → Linux", () => linuxBulk(n.nsB, n.nsA, VETH_B, mb));
  if (veth !== undefined) {
    rows.push({
      name: "bulk Linux → Linux, same peer program",
      value: veth,
      unit: "Gbit/s",
      reference: ref,
    });
  }
  const ip3 = await attempt("iperf3", () => iperf(n.nsB, n.nsA, VETH_B));
  if (ip3 !== undefined) {
    rows.push({
      name: "bulk Linux → Linux, iperf3 3 s",
      value: ip3,
      unit: "Gbit/s",
      reference: ref,
    });
  }

  await attempt("connections Linux → Serin", async () => {
    const acceptor = await bs.start("serin", PROG, ["acceptor", "5002"]);
    await bs.waitFor(acceptor, "listening");
    await using connector = startDeno(
      "_deno_tcp.ts",
      ["connector", SERIN_ADDR, "5002", "1000000", String(budget)],
      { netns: n.nsTap },
    );
    const r = await connector.result<{ ms: number; n: number }>();
    await bs.sys.kill(acceptor);
    rows.push({
      name: `connections Linux → Serin (${r.n})`,
      value: (r.n * 1000) / r.ms,
      unit: "conn/s",
    });
  });
  const lc = await attempt(
    "connections Linux → Linux",
    () => linuxConnRate(n.nsB, n.nsA, VETH_B, budget),
  );
  if (lc !== undefined) {
    rows.push({ name: "connections Linux → Linux", value: lc, unit: "conn/s", reference: ref });
  }

  if (sp) {
    rows.push({ name: "ping Linux → Serin avg (20)", value: sp.avg, unit: "µs" });
    rows.push({ name: "ping Linux → Serin max (20)", value: sp.max, unit: "µs" });
    rows.push({ name: "ping Linux → Serin median (20)", value: sp.median, unit: "µs" });
  }
  if (lp) {
    rows.push({ name: "ping Linux → Linux avg (20)", value: lp.avg, unit: "µs", reference: ref });
  }
  console.log(`note: the peer to beat, per the issue: ${LWIP}`);
  console.log(
    `note: Serin interface driver "${driver}"; the Linux end is a Deno program in the TAP's` +
      ` namespace; connection runs stop after ${budget / 1000} s (count in parentheses)`,
  );
  return rows;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { driver: { type: "string" }, mb: { type: "string" } },
  });
  await benchTap({
    driver: values.driver as Driver | undefined,
    mb: values.mb ? Number(values.mb) : undefined,
  });
}
