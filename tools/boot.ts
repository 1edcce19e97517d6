/**
 * `deno task run`: boot Serin. With no arguments, a two-host network and a short demonstration;
 * with `-- PROG ARGS`, run one program as a process on the first host and exit with its status.
 *
 * Programs run as an unprivileged user, uid {@link USER_UID}, with no capabilities, as a login
 * shell's programs do on Linux. Serin's tools that need a capability carry it
 * (kernel/file_caps.ts: ping and traceroute `net_raw`, httpd, echo, discard and dnsd
 * `net_bind_service`), services started with `--exec` get `net_bind_service`, `--caps LIST` adds
 * capabilities to everything started, and `--root` runs everything as uid 0 with all of them.
 */
import { parseArgs } from "node:util";
import { CAPABILITIES, SIGTERM } from "../kernel/abi.ts";
import { boot, type System } from "../kernel/mod.ts";
import type { HostSetup, NetSetup } from "../kernel/net_setup.ts";
import { runShell, toTerminal } from "./shell.ts";
import { parseTopology, type Topology, TopologyError } from "../kernel/topology.ts";
import { parseFaultSpec } from "../drivers/link/faults.ts";
import { serveUi, type Ui } from "./ui/server.ts";
import { buildPage } from "./ui/bundle.ts";

const HELP = `Usage: deno task run [options] [-- PROGRAM [ARGS...]]

Boots a Serin system. With no options: two hosts, alpha (10.0.0.1) and beta (10.0.0.2), on a
virtual switch, and a short demonstration. Programs run as permission-less processes.

Topology:
  --config FILE.json    hosts, interfaces, links, addresses, routes, switches (with Linux
                        TAP devices as ports) and boot programs (see README.md, "Topology files")
  --tap IFNAME          one host, "serin", attached to an existing Linux TAP device
    --driver NAME       its NIC: wire (default: the fast path, TAP threads with TSO and
                        checksum offload), virtio (virtio-net model with the same offloads),
                        e1000 (TSO contexts) or rtl8139: device models, slower
    --addr CIDR|dhcp    its IPv4 address, e.g. 10.77.0.2/24, or "dhcp": run the DHCP client
                        (dhcpc) and wait for its lease before the program runs
    --addr6 CIDR        its IPv6 address
    --gw IP             its default gateway
  --pcap FILE           capture every link to FILE (open it with Wireshark)
  --faults SPEC         impair every link in both directions (a switch's own faults win), e.g.
                        loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=10ms,seed=1

Web view:
  --ui [PORT]           serve a live view of hosts, links and TCP connections on
                        http://127.0.0.1:PORT (default 8080; the printed URL carries a token);
                        the demo waits for a page, and the system stays up after it
  --ui-listen ADDR      listen on ADDR instead of 127.0.0.1 (reachable from other machines)

Programs:
  --exec "PROG ARGS"    start a program at boot (repeatable); PROG is a tool name (ping, httpd,
                        nc, ...) or a module path; it runs on the first host with
                        net_bind_service (it may listen on ports below 1024)
  --host NAME           run --exec and -- programs on this host instead of the first
  --for SECONDS         with --exec: stay up this long (default: until Ctrl-C)
  --shell               an interactive shell (alpha$ ...): run programs on any host, ps, kill
  -- PROGRAM ARGS       run PROGRAM in the foreground and exit with its status

Privileges (programs run as uid 1000 with no capabilities; ping and traceroute carry net_raw,
httpd, echo, discard and dnsd net_bind_service, as setcap gives them on Linux):
  --caps LIST           also grant these capabilities, comma-separated: net_bind_service,
                        net_raw, net_admin (net_admin changes addresses, routes, neighbours)
  --root                run as root (uid 0) with every capability

  -h, --help            show this help
`;

/** The default network: two hosts on one switch. */
export const DEFAULT_NET: NetSetup = {
  hosts: [
    { name: "alpha", ifaces: [{ link: "lan", driver: "e1000", addrs: ["10.0.0.1/24"] }] },
    { name: "beta", ifaces: [{ link: "lan", driver: "virtio", addrs: ["10.0.0.2/24"] }] },
  ],
};

/** The uid programs run as unless `--root`: the first user of a Linux system. */
export const USER_UID = 1000;

/** Who programs run as: uid and the capabilities they are given (besides file capabilities). */
interface Privileges {
  uid: number;
  caps: string[];
}

/** The privileges `--root` and `--caps LIST` ask for, or an error message. */
export function privileges(root: boolean, caps: string | undefined): Privileges | string {
  if (root) return { uid: 0, caps: [...CAPABILITIES] };
  const list = caps === undefined ? [] : caps.split(",").map((c) => c.trim()).filter(Boolean);
  const bad = list.find((c) => !(CAPABILITIES as readonly string[]).includes(c));
  if (bad !== undefined) {
    return `--caps: unknown capability ${bad} (one of ${CAPABILITIES.join(", ")})`;
  }
  return { uid: USER_UID, caps: [...new Set(list)] };
}

/** What a service started with `--exec` (or a topology's "exec") gets: it may bind ports < 1024. */
function serviceOf(p: Privileges): Privileges {
  return { uid: p.uid, caps: [...new Set([...p.caps, "net_bind_service"])] };
}

/** Parse the command line and run. Returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const opts = dash >= 0 ? argv.slice(0, dash) : argv;
  const prog = dash >= 0 ? argv.slice(dash + 1) : [];
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: uiDefaultPort(opts),
      allowPositionals: true,
      options: {
        help: { type: "boolean", short: "h" },
        config: { type: "string" },
        tap: { type: "string" },
        driver: { type: "string" },
        addr: { type: "string" },
        addr6: { type: "string" },
        gw: { type: "string" },
        pcap: { type: "string" },
        faults: { type: "string" },
        exec: { type: "string", multiple: true },
        host: { type: "string" },
        for: { type: "string" },
        shell: { type: "boolean" },
        root: { type: "boolean" },
        caps: { type: "string" },
        ui: { type: "string" },
        "ui-listen": { type: "string" },
      },
    }));
  } catch (err) {
    console.error(`serin: ${(err as Error).message}\nTry --help.`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length && !prog.length) prog.push(...positionals);
  const user = privileges(values.root === true, values.caps);
  if (typeof user === "string") {
    console.error(`serin: ${user}`);
    return 2;
  }
  let topo: Topology;
  try {
    topo = await topology(values);
  } catch (err) {
    if (
      err instanceof TopologyError || err instanceof SyntaxError ||
      err instanceof Deno.errors.NotFound
    ) {
      console.error(`serin: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const uiPort = values.ui === undefined ? undefined : Number(values.ui);
  if (uiPort !== undefined && !(Number.isInteger(uiPort) && uiPort >= 0 && uiPort < 65536)) {
    console.error(`serin: --ui takes a port number, not ${values.ui}`);
    return 2;
  }
  if (topo.net.hosts.length === 0 && (prog.length || values.exec?.length || values.shell)) {
    console.error("serin: the topology has no hosts to run programs on (only switches)");
    return 2;
  }
  const host = values.host ?? topo.net.hosts[0]?.name;
  if (topo.net.hosts.length > 0 && !topo.net.hosts.some((h) => h.name === host)) {
    console.error(`serin: --host: no host named ${host}`);
    return 2;
  }
  const t0 = performance.now();
  // The shell puts the terminal in raw mode: program output then needs "\r\n" line ends.
  const rawTerminal = values.shell && Deno.stdin.isTerminal();
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  const ready = new ServicesReady();
  const leases = new LeaseWatch();
  const booted = await boot({
    net: topo.net,
    log: (l) => console.error(`[kernel] ${l}`),
    output: (pid, fd, data) => {
      ready.heard(pid);
      leases.heard(pid, data);
      const out = rawTerminal ? enc.encode(toTerminal(dec.decode(data))) : data;
      (fd === 2 ? Deno.stderr : Deno.stdout).writeSync(out);
    },
  }).catch((err: Error) => err);
  if (booted instanceof Error) {
    // A cable that cannot be plugged in, e.g. a TAP that cannot be opened.
    console.error(`serin: cannot boot: ${booted.message}`);
    return 1;
  }
  await using sys = booted;
  const bootMs = performance.now() - t0;
  await using dhcp = await startDhcp(sys, topo, leases);
  await using ui = uiPort === undefined
    ? undefined
    : await startUi(sys, uiPort, values["ui-listen"] ?? "127.0.0.1");
  if (ui === null) return 1;
  const service = serviceOf(user);
  const services: number[] = [];
  for (const e of topo.exec) {
    services.push(await sys.start(...splitCmd(e.cmd), { host: e.host, ...service }));
  }
  for (const line of values.exec ?? []) {
    services.push(await sys.start(...splitCmd(line), { host, ...service }));
  }
  await dhcp.wait();
  await ready.wait(sys, services);
  if (prog.length) return await sys.spawn(prog[0], prog.slice(1), { host, ...user });
  if (values.shell) {
    const hosts = [host, ...topo.net.hosts.map((h) => h.name).filter((h) => h !== host)];
    console.log(`serin: ${hosts.length} hosts up in ${bootMs.toFixed(0)} ms; type "help"`);
    return await runShell(sys, { hosts, ...user });
  }
  if (values.exec?.length || topo.exec.length || values.tap || values.config || ui) {
    if (ui && !values.exec?.length && !topo.exec.length && !values.tap && !values.config) {
      await waitForPage(ui);
      const status = await demo(sys, bootMs, user);
      console.error(`serin: demo done (status ${status}); the page stays live, Ctrl-C to stop`);
    }
    const secs = values.for === undefined ? Infinity : Number(values.for);
    if (!(secs >= 0)) {
      console.error("serin: --for takes a number of seconds");
      return 2;
    }
    const parts = [
      ...topo.net.hosts.map((h) => h.name),
      ...Object.entries(topo.net.switches ?? {}).filter(([, s]) => s.taps?.length).map((
        [name, s],
      ) => `switch ${name}: ${s.taps?.map((t) => t.name).join(" ")}`),
    ];
    console.error(
      `serin: up (${parts.join(", ")}); ${secs === Infinity ? "Ctrl-C to stop" : `for ${secs} s`}`,
    );
    await waitFor(secs);
    return 0;
  }
  return await demo(sys, bootMs, user);
}

/** How long a service started with --exec gets to say it is up before the program runs anyway. */
const SERVICE_READY_MS = 3000;
/** How long boot waits for DHCP leases before the program runs anyway. */
const DHCP_WAIT_MS = 30_000;
/** How long a DHCP client gets to send its RELEASE at shutdown. */
const DHCP_RELEASE_MS = 2500;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Start a DHCP client (tools/dhcpc.ts) on each interface the topology configures with DHCP;
 * `wait()` waits for their leases (after the services start: one of them may be the server).
 * They run as root runs dhclient: they change the configuration (net_admin) and bind port 68
 * (net_bind_service). Disposing stops them with SIGTERM, on which they send their RELEASE
 * (RFC 2131 §4.4.6) before the system goes down.
 */
async function startDhcp(
  sys: System,
  topo: Topology,
  leases: LeaseWatch,
): Promise<AsyncDisposable & { wait(): Promise<void> }> {
  const pids: number[] = [];
  for (const d of topo.dhcp ?? []) {
    const caps = ["net_admin", "net_bind_service"];
    pids.push(await sys.start("dhcpc", [d.iface], { host: d.host, uid: 0, caps }));
  }
  return {
    wait: () => leases.wait(sys, pids),
    [Symbol.asyncDispose]: async () => {
      await Promise.all(pids.map(async (pid) => {
        await sys.kill(pid, SIGTERM).catch(() => {});
        await Promise.race([sys.wait(pid).catch(() => {}), sleep(DHCP_RELEASE_MS)]);
      }));
    },
  };
}

/**
 * Waits for DHCP clients' leases: a client prints "leased …" once it has configured its
 * interface. After DHCP_WAIT_MS the program runs anyway (the clients keep trying and say so).
 */
class LeaseWatch {
  #leased = new Set<number>();
  #waiting = new Map<number, () => void>();
  #dec = new TextDecoder();

  /** `pid` wrote `data`. */
  heard(pid: number, data: Uint8Array): void {
    if (this.#leased.has(pid) || !/: leased /.test(this.#dec.decode(data))) return;
    this.#leased.add(pid);
    this.#waiting.get(pid)?.();
  }

  /** Wait until every pid in `pids` has a lease, exited, or DHCP_WAIT_MS passed. */
  async wait(sys: System, pids: number[]): Promise<void> {
    if (pids.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((r) => timer = setTimeout(r, DHCP_WAIT_MS));
    try {
      await Promise.all(pids.map((pid) => {
        if (this.#leased.has(pid)) return;
        const leased = new Promise<void>((r) => this.#waiting.set(pid, r));
        return Promise.race([leased, sys.wait(pid).then(() => {}, () => {}), deadline]);
      }));
      const missing = pids.filter((p) => !this.#leased.has(p));
      if (missing.length) {
        console.error(`serin: no DHCP lease after ${DHCP_WAIT_MS / 1000} s; going on without`);
      }
    } finally {
      clearTimeout(timer);
      this.#waiting.clear();
    }
  }
}

/**
 * The services started at boot are up before the program runs: each has printed its first line
 * (Serin's servers print "listening on …" once they listen), exited, or had SERVICE_READY_MS. A
 * program run straight away (`--exec "httpd -p 80" -- nc …`) otherwise raced the listen() and
 * could get "connection refused" on a loaded machine.
 */
class ServicesReady {
  #heard: Set<number> | undefined = new Set();
  #waiting = new Map<number, () => void>();

  /** `pid` wrote something. */
  heard(pid: number): void {
    this.#heard?.add(pid);
    this.#waiting.get(pid)?.();
  }

  /** Wait until every pid in `pids` is up (see above); stops tracking output afterwards. */
  async wait(sys: System, pids: number[]): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((r) => timer = setTimeout(r, SERVICE_READY_MS));
    try {
      await Promise.all(pids.map((pid) => {
        if (this.#heard?.has(pid)) return;
        const spoke = new Promise<void>((r) => this.#waiting.set(pid, r));
        return Promise.race([spoke, sys.wait(pid).then(() => {}, () => {}), deadline]);
      }));
    } finally {
      clearTimeout(timer);
      this.#waiting.clear();
      this.#heard = undefined;
    }
  }
}

/** The default run: show the hosts, ping, a TCP transfer, a handle pass, the counters. */
async function demo(sys: System, bootMs: number, user: Privileges): Promise<number> {
  const run = (host: string, prog: string, ...args: string[]) =>
    sys.spawn(prog, args, { host, ...user });
  console.log(`serin: kernel, 2 netstacks and the switch up in ${bootMs.toFixed(0)} ms`);
  await run("alpha", "demo", "ifaces");
  await run("beta", "demo", "ifaces");
  console.log("\n== ping from alpha to beta ==");
  let status = await run("alpha", "ping", "-c", "3", "-i", "0.2", "10.0.0.2");
  console.log("\n== TCP: 8 MB from alpha to beta ==");
  const sink = await sys.start("demo", ["tcp-sink", "5001"], { host: "beta", ...user });
  status ||= await run("alpha", "demo", "tcp-send", "10.0.0.2", "5001", "8");
  status ||= await sys.wait(sink);
  console.log("\n== LocalSocket: passing a socket between processes on alpha ==");
  status ||= await run("alpha", "demo", "local");
  console.log("\n== adapter counters ==");
  await run("alpha", "demo", "counters");
  await run("beta", "demo", "counters");
  return status;
}

async function topology(values: Record<string, unknown>): Promise<Topology> {
  let topo: Topology;
  if (typeof values.config === "string") {
    topo = parseTopology(JSON.parse(await Deno.readTextFile(values.config)));
  } else if (typeof values.tap === "string") {
    // The fast path by default (README, "Joining a real network through TAP").
    const driver = (values.driver as string | undefined) ?? "wire";
    const addrs = [values.addr, values.addr6].filter((a): a is string => typeof a === "string");
    const h: HostSetup = {
      name: "serin",
      ifaces: [{ link: `tap:${values.tap}`, driver: driver as "e1000", addrs }],
      routes: typeof values.gw === "string" ? [{ dest: "default", gateway: values.gw }] : [],
    };
    topo = parseTopology({ hosts: [h] });
  } else {
    topo = { net: structuredClone(DEFAULT_NET), exec: [] };
  }
  if (typeof values.pcap === "string") topo.net.pcap = values.pcap;
  if (typeof values.faults === "string") {
    try {
      parseFaultSpec(values.faults);
    } catch (err) {
      throw new TopologyError(`--faults: ${(err as Error).message}`);
    }
    topo.net.faults = values.faults;
  }
  return topo;
}

/** `--ui` with no port after it means port 8080: parseArgs needs the value spelled out. */
function uiDefaultPort(args: string[]): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    out.push(a);
    if (a === "--ui" && !/^\d+$/.test(args[i + 1] ?? "")) out.push("8080");
  });
  return out;
}

/** Bundle the page and serve it; null (after saying why) when it cannot. */
async function startUi(sys: System, port: number, hostname: string): Promise<Ui | null> {
  try {
    const ui = await serveUi(sys, { port, hostname, page: await buildPage() });
    console.error(`serin: web view at ${ui.url}`);
    return ui;
  } catch (err) {
    console.error(`serin: --ui: ${(err as Error).message}`);
    return null;
  }
}

/** Before the demo: wait (up to 60 s) for a page, so it sees the transfer as it happens. */
async function waitForPage(ui: Ui): Promise<void> {
  console.error("serin: the demo starts when a page opens (or in 60 s)");
  for (let i = 0; i < 600 && ui.sampler.watchers === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 500)); // the page's first samples
}

function splitCmd(line: string): [string, string[]] {
  const [name, ...args] = line.trim().split(/\s+/);
  return [name, args];
}

function waitFor(secs: number): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => resolve();
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    if (secs !== Infinity) setTimeout(stop, secs * 1000);
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
