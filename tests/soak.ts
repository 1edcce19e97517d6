/**
 * The soak run: two hosts on one switch whose every link injects faults (loss, duplication,
 * reordering, corruption, delay), with concurrent TCP transfers and UDP request/ack exchanges
 * checked by SHA-256 end to end, for N minutes:
 * `deno run -A tests/soak.ts --minutes N [--seed S]`. Prints a summary; exit status 1 when any
 * transfer was corrupted or failed.
 */
import { boot, type System } from "../kernel/mod.ts";

const PEER = "tests/programs/hostile_soak_peer.ts";
const TCP_PORT = 5001;
const UDP_PORT = 5002;

/** Options for {@link soak}. */
export interface SoakOptions {
  /** How long to keep starting transfers, in seconds. */
  seconds: number;
  /** Seed for the fault injector and the data. Default 1. */
  seed?: number;
  /** Fault spec without the seed. Default "loss=0.02,dup=0.01,reorder=0.02,corrupt=0.001,delay=2ms". */
  faults?: string;
  /** TCP transfers running at once. Default 2. */
  tcpStreams?: number;
  /** UDP request/ack clients running at once. Default 1. */
  udpClients?: number;
  /** Print progress lines. Default false. */
  verbose?: boolean;
}

/** What a soak run reports. */
export interface SoakResult {
  seconds: number;
  tcpOk: number;
  tcpBytes: number;
  udpOk: number;
  udpDatagrams: number;
  udpRetries: number;
  /** Corrupted or failed transfers, with their output. */
  failures: string[];
  /** NIC driver workers killed (and restarted by the kernel) during the run. */
  driverKills: number;
}

/** How often a NIC driver worker is killed during the soak (the kernel restarts it). */
export const DRIVER_KILL_EVERY_MS = 5000;
const NICS = ["h1/eth0", "h2/eth0"];

/**
 * Between transfer rounds, every few seconds, kill one host's NIC driver worker (alternating):
 * the kernel restarts it, and the transfers in flight must survive (their bytes are checked).
 */
export async function restartDrivers(sys: System, r: SoakResult, state: { last: number }) {
  if (Date.now() - state.last < DRIVER_KILL_EVERY_MS) return;
  state.last = Date.now();
  await sys.killDriver(NICS[r.driverKills++ % NICS.length]);
}

/** Run the soak for a while. */
export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const seed = opts.seed ?? 1;
  const faults = `${
    opts.faults ?? "loss=0.02,dup=0.01,reorder=0.02,corrupt=0.001,delay=2ms"
  },seed=${seed}`;
  const out = new Map<number, string>();
  await using sys = await boot({
    net: {
      hosts: [
        { name: "h1", ifaces: [{ link: "lan", driver: "e1000", addrs: ["10.0.0.1/24"] }] },
        { name: "h2", ifaces: [{ link: "lan", driver: "virtio", addrs: ["10.0.0.2/24"] }] },
      ],
      faults,
    },
    output: (pid, _fd, d) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(d)),
  });
  const servers = [
    await sys.start(PEER, ["tcp-server", String(TCP_PORT)], { host: "h2" }),
    await sys.start(PEER, ["udp-server", String(UDP_PORT)], { host: "h2" }),
  ];
  for (const pid of servers) {
    const deadline = Date.now() + 20_000;
    while (!(out.get(pid) ?? "").includes("ready")) {
      if (Date.now() > deadline) throw new Error(`soak server ${pid}: ${out.get(pid)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  const kills = { last: Date.now() };
  const r: SoakResult = {
    seconds: 0,
    tcpOk: 0,
    tcpBytes: 0,
    udpOk: 0,
    udpDatagrams: 0,
    udpRetries: 0,
    failures: [],
    driverKills: 0,
  };
  const start = Date.now();
  const end = start + opts.seconds * 1000;
  let n = 0;
  const worker = async (kind: "tcp" | "udp") => {
    while (Date.now() < end) {
      const dataSeed = seed * 100_000 + n++;
      const size = kind === "tcp" ? 64 * 1024 * (1 + (dataSeed % 8)) : 20 + (dataSeed % 30);
      const pid = await sys.start(
        PEER,
        [
          `${kind}-client`,
          "10.0.0.2",
          String(kind === "tcp" ? TCP_PORT : UDP_PORT),
          String(size),
          String(dataSeed),
        ],
        { host: "h1" },
      );
      const status = await sys.wait(pid);
      const text = out.get(pid) ?? "";
      out.delete(pid);
      if (status !== 0) {
        r.failures.push(`${kind} client (seed ${dataSeed}) exited ${status}: ${text.trim()}`);
        continue;
      }
      if (kind === "tcp") {
        r.tcpOk++;
        r.tcpBytes += size;
      } else {
        r.udpOk++;
        r.udpDatagrams += size;
        r.udpRetries += Number(text.match(/retries (\d+)/)?.[1] ?? 0);
      }
      if (opts.verbose) {
        console.log(`${((Date.now() - start) / 1000).toFixed(0)} s: ${text.trim()}`);
      }
      await restartDrivers(sys, r, kills);
    }
  };
  await Promise.all([
    ...Array.from({ length: opts.tcpStreams ?? 2 }, () => worker("tcp")),
    ...Array.from({ length: opts.udpClients ?? 1 }, () => worker("udp")),
  ]);
  r.seconds = (Date.now() - start) / 1000;
  for (const pid of servers) await sys.kill(pid, 9);
  return r;
}

/** One line per figure, for people. */
export function formatSoak(r: SoakResult): string {
  return [
    `soak: ${r.seconds.toFixed(0)} s`,
    `  tcp: ${r.tcpOk} transfers, ${(r.tcpBytes / 1048576).toFixed(1)} MiB, ` +
    `${(r.tcpBytes / 1048576 / r.seconds).toFixed(2)} MiB/s, all SHA-256 checked`,
    `  udp: ${r.udpOk} clients, ${r.udpDatagrams} datagrams acked, ${r.udpRetries} retries`,
    `  NIC driver workers killed and restarted: ${r.driverKills}`,
    `  failures: ${r.failures.length}`,
    ...r.failures.map((f) => `    ${f}`),
  ].join("\n");
}

if (import.meta.main) {
  let minutes = 1;
  let seed = 1;
  for (let i = 0; i < Deno.args.length; i += 2) {
    const [k, v] = [Deno.args[i], Number(Deno.args[i + 1])];
    if (k === "--minutes" && v > 0) minutes = v;
    else if (k === "--seed" && Number.isSafeInteger(v)) seed = v;
    else {
      console.error(
        `soak: bad argument '${k}'\nUsage: deno run -A tests/soak.ts --minutes N [--seed S]`,
      );
      Deno.exit(2);
    }
  }
  const r = await soak({ seconds: minutes * 60, seed, verbose: true });
  console.log(formatSoak(r));
  Deno.exit(r.failures.length ? 1 : 0);
}
