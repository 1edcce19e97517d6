/**
 * Goodput of a bidirectional TCP echo through an unkind cable, Serin against Linux (issue #15,
 * "Goodput against Linux"). Linux's python3 client (tests/interop/lossy_echo_client.py) streams
 * 20 MB into an echo server and reads the echo back at the same time, through
 * loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=5ms on one cable, both directions:
 *
 * - Serin: the echo server is Serin's `echo -p 7` on a TAP whose cable carries the faults
 *   (`--tap … --faults …`);
 * - Linux: the echo server is a small python3 one (tests/interop/echo_server.py) in a second
 *   namespace, the two namespaces joined by Serin's switch with their TAPs as ports and the
 *   faults on the client's TAP cable only (Serin as the link emulator: this kernel has no netem).
 *
 * Same client, same faults, same seed, same path length in impaired cables, and every Linux
 * namespace on one congestion control (CUBIC, Linux's default, unless `--cc`; the host's default,
 * when it differs, is run as a second reference: BBR, not loss-based, is many times faster
 * through random loss). Goodput is echoed
 * bytes over the client's wall time, in Mbit/s; the ratio Serin/Linux is the target
 * ("within 2× of Linux": ≥ 0.5). Needs root, `ip` and python3; skips loudly otherwise.
 *
 * Run alone with `deno run -A tests/bench/lossy_echo.ts [--mb N] [--family 4|6] [--seed N]
 * [--faults SPEC] [--cc NAME]` (another impairment, e.g. `delay=5ms` alone, to see where the time goes).
 */
import { parseArgs } from "node:util";
import { skipReason, TapLab } from "../interop/_lab.ts";
import { bootOnTap } from "../interop/_serin.ts";
import { SwitchLab } from "../interop/_switch_lab.ts";
import { attempt, report, type Row } from "./_stats.ts";

/** What to measure. */
export interface LossyEchoOptions {
  /** Megabytes (10^6 bytes) echoed per run. Default 20. */
  mb?: number;
  /** IP versions to run. Default both. */
  families?: Array<4 | 6>;
  /** Fault PRNG seed. Default 1. */
  seed?: number;
  /** Another impairment, for exploring (default {@link IMPAIRMENT}). */
  faults?: string;
  /**
   * Congestion control of every Linux namespace (client and server), default "cubic": Linux's
   * built-in default and, like Serin's, loss-based. The host's own default, when it differs
   * (BBR on the development machine), is measured too as a second Linux reference.
   */
  cc?: string;
}

/** The impairment. */
export const IMPAIRMENT = "loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=5ms";
const PORT = 7;
/** Seconds without progress after which the client gives up (a stall, not a measurement). */
const STALL_S = 30;
const CLIENT = new URL("../interop/lossy_echo_client.py", import.meta.url).pathname;
const SERVER = new URL("../interop/echo_server.py", import.meta.url).pathname;

/** What lossy_echo_client.py prints. */
interface EchoResult {
  sent: number;
  got: number;
  sentSha: string;
  gotSha: string;
  seconds: number;
  stalled: boolean;
  error: string | null;
  linux: Record<string, number>;
}

/** Run the client in a namespace; its result, or an error saying how it failed. */
async function client(
  exec: (argv: string[], timeoutMs: number) => Promise<{ code: number; stdout: string }>,
  target: string,
  bytes: number,
  cc: string,
): Promise<EchoResult> {
  const r = await exec(
    [
      "env",
      `SERIN_TCP_CC=${cc}`,
      "python3",
      CLIENT,
      target,
      String(PORT),
      String(bytes),
      String(STALL_S),
    ],
    120_000 + bytes / 10,
  );
  const line = r.stdout.trim().split("\n").pop() ?? "";
  let res: EchoResult;
  try {
    res = JSON.parse(line);
  } catch {
    throw new Error(`client exited ${r.code} without a result: ${r.stdout}`);
  }
  if (res.stalled || res.error || r.code !== 0 || res.got !== bytes) {
    throw new Error(`echo ${res.stalled ? "stalled" : "failed"}: ${line}`);
  }
  if (res.gotSha !== res.sentSha) throw new Error(`echo not byte-identical: ${line}`);
  return res;
}

const mbits = (r: EchoResult) => (r.got * 8) / r.seconds / 1e6;

/** The host's default TCP congestion control. */
async function hostCc(): Promise<string> {
  return (await Deno.readTextFile("/proc/sys/net/ipv4/tcp_congestion_control")).trim();
}

/** Linux ↔ Serin's `echo -p 7` over a TAP with the faults; the Linux client uses `cc`. */
async function serinEcho(
  v6: boolean,
  bytes: number,
  faults: string,
  cc: string,
): Promise<EchoResult> {
  await using lab = await TapLab.create();
  const base = lab.serinNet.bind(lab);
  lab.serinNet = (driver, extra) => {
    const net = base(driver, extra);
    const iface = net.hosts[0].ifaces?.[0];
    if (iface) iface.addrs = [...(iface.addrs ?? []), `${lab.serinAddr6}/64`];
    return net;
  };
  await using serin = await bootOnTap(lab, { faults });
  const pid = await serin.sys.start("echo", ["-p", String(PORT)], {
    host: "serin",
    caps: ["net_bind_service"],
  });
  await serin.waitFor(pid, "listening");
  // The client retries its connect for 15 s: long enough for Serin's IPv6 DAD.
  return await client(
    (argv, timeoutMs) => lab.exec(argv, { timeoutMs }),
    v6 ? lab.serinAddr6 : lab.serinAddr,
    bytes,
    cc,
  );
}

/** Linux ↔ Linux through Serin's switch, the faults on the client's TAP cable; both use `cc`. */
async function linuxEcho(
  v6: boolean,
  bytes: number,
  faults: string,
  cc: string,
): Promise<EchoResult> {
  await using lab = await SwitchLab.create({ faultsA: faults });
  const server = lab.spawn(lab.b, [
    "env",
    `SERIN_TCP_CC=${cc}`,
    "python3",
    SERVER,
    v6 ? "::" : "0.0.0.0",
    String(PORT),
  ]);
  try {
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    if (first.done || !first.value.includes("listening")) {
      throw new Error(`echo server did not start: ${first.value ?? ""}`);
    }
    reader.releaseLock();
    return await client(
      (argv, timeoutMs) => lab.exec(lab.a, argv, { timeoutMs }),
      v6 ? lab.b.addr6 : lab.b.addr,
      bytes,
      cc,
    );
  } finally {
    try {
      server.kill("SIGKILL");
    } catch {
      // already gone
    }
    await server.stdout.cancel().catch(() => {});
    await server.stderr.cancel().catch(() => {});
    await server.status;
  }
}

/** Run the benchmark and print its table and JSON line (or a loud skip message). */
export async function benchLossyEcho(opts: LossyEchoOptions = {}): Promise<void> {
  const why = skipReason(["python3"]);
  if (why) {
    console.log(`\n!!! lossy echo benchmark SKIPPED: ${why} !!!`);
    console.log(JSON.stringify({ bench: "lossy echo", skipped: why, results: [] }));
    return;
  }
  const mb = opts.mb ?? 20;
  const bytes = Math.round(mb * 1e6);
  const impairment = opts.faults ?? IMPAIRMENT;
  const faults = `${impairment},seed=${opts.seed ?? 1}`;
  const cc = opts.cc ?? "cubic";
  const other = await hostCc();
  const rows: Row[] = [];
  const ref = "two namespaces through Serin's switch, same faults, same run";
  for (const family of opts.families ?? [4, 6]) {
    const v6 = family === 6;
    const s = await attempt(
      `lossy echo Linux ↔ Serin IPv${family}`,
      () => serinEcho(v6, bytes, faults, cc),
    );
    const l = await attempt(
      `lossy echo Linux ↔ Linux IPv${family} (${cc})`,
      () => linuxEcho(v6, bytes, faults, cc),
    );
    const b = other === cc ? undefined : await attempt(
      `lossy echo Linux ↔ Linux IPv${family} (${other})`,
      () => linuxEcho(v6, bytes, faults, other),
    );
    const name = (who: string) => `lossy echo ${mb} MB ${who}, IPv${family}`;
    if (s) rows.push({ name: name(`Linux (${cc}) ↔ Serin`), value: mbits(s), unit: "Mbit/s" });
    if (l) {
      rows.push({
        name: name(`Linux ↔ Linux (${cc})`),
        value: mbits(l),
        unit: "Mbit/s",
        reference: ref,
      });
    }
    if (b) {
      rows.push({
        name: name(`Linux ↔ Linux (${other})`),
        value: mbits(b),
        unit: "Mbit/s",
        reference: ref,
      });
    }
    if (s && l) {
      rows.push({
        name: `lossy echo goodput Serin / Linux (${cc}), IPv${family}`,
        value: mbits(s) / mbits(l),
        unit: "× (target ≥ 0.5)",
      });
    }
    if (s && b) {
      rows.push({
        name: `lossy echo goodput Serin / Linux (${other}), IPv${family}`,
        value: mbits(s) / mbits(b),
        unit: "×",
      });
    }
    for (const [who, r] of [["Serin", s], [`Linux ${cc}`, l], [`Linux ${other}`, b]] as const) {
      if (r) {
        console.log(
          `  IPv${family} ${who}: ${(r.got / 1e6).toFixed(1)} MB echoed in ${
            r.seconds.toFixed(1)
          } s; client's TCP ${JSON.stringify(r.linux)}`,
        );
      }
    }
  }
  console.log(
    `note: ${impairment} on one cable, both directions; goodput = echoed bytes / wall time`,
  );
  report("lossy echo", rows);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      mb: { type: "string" },
      family: { type: "string" },
      seed: { type: "string" },
      faults: { type: "string" },
      cc: { type: "string" },
    },
  });
  const families: Array<4 | 6> = values.family === "4" ? [4] : values.family === "6" ? [6] : [4, 6];
  await benchLossyEcho({
    mb: values.mb ? Number(values.mb) : undefined,
    families,
    seed: values.seed ? Number(values.seed) : undefined,
    faults: values.faults,
    cc: values.cc,
  });
}
