/**
 * The attack suite's bystander: a two-host lab and a well-behaved program (ping and a 1 MB TCP
 * echo, alpha → beta) that must keep working while an attack runs on the same system.
 */
import assert from "node:assert/strict";
import { boot, type BootConfig, type System } from "../../kernel/mod.ts";

/** The path of the attack suite's program NAME (tests/security/programs/NAME.ts). */
export const program = (name: string): string =>
  new URL(`./programs/${name}.ts`, import.meta.url).pathname;

/** How attackers run: uid 1000 on alpha, no capabilities. */
export const ATTACKER = { host: "alpha", uid: 1000 };

/** How the victims run: root on alpha. */
export const ROOT = { host: "alpha", uid: 0 };

/** Where the bystander's echo client lives. */
const ECHO = new URL("./programs/bystander_echo.ts", import.meta.url).pathname;

/** The most a bystander ping may take at the 99th percentile while an attack runs. */
export const PING_P99_MS = 50;

/**
 * Boot hosts "alpha" (10.0.0.1/24) and "beta" (10.0.0.2/24) on switch "lan", with the echo
 * service on beta (TCP port 7). Console output of every process is dropped unless `output` says.
 */
export async function bootLab(config: Omit<BootConfig, "net"> = {}): Promise<System> {
  const sys = await boot({
    output: () => {},
    ...config,
    net: {
      hosts: [
        { name: "alpha", ifaces: [{ link: "lan", driver: "wire", addrs: ["10.0.0.1/24"] }] },
        { name: "beta", ifaces: [{ link: "lan", driver: "wire", addrs: ["10.0.0.2/24"] }] },
      ],
    },
  });
  await sys.start("echo", ["-p", "7"], { host: "beta", uid: 0, caps: ["net_bind_service"] });
  // The echo service is up once a connection is answered.
  for (let i = 0;; i++) {
    const r = await sys.run(ECHO, ["10.0.0.2", "7", "16"], { host: "alpha", uid: 0 });
    if (r.status === 0) return sys;
    if (i === 100) {
      await sys.shutdown();
      throw new Error(`the lab's echo service never answered: ${r.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A lab (see {@link bootLab}) that keeps every process's console output, by pid. */
export interface WatchedLab {
  sys: System;
  /** What `pid` printed so far (stdout and stderr). */
  out: (pid: number) => string;
  /** Wait until `pid` printed `line` (15 s at most). */
  waitFor: (pid: number, line: string | RegExp) => Promise<void>;
}

/** Boot {@link bootLab}'s hosts, keeping each process's console output. */
export async function watchedLab(
  config: Omit<BootConfig, "net" | "output"> = {},
): Promise<WatchedLab> {
  const lines = new Map<number, string>();
  const dec = new TextDecoder();
  const sys = await bootLab({
    ...config,
    output: (pid, _fd, data) => lines.set(pid, (lines.get(pid) ?? "") + dec.decode(data)),
  });
  const out = (pid: number) => lines.get(pid) ?? "";
  const waitFor = async (pid: number, line: string | RegExp) => {
    const deadline = Date.now() + 15_000;
    const seen = () => typeof line === "string" ? out(pid).includes(line) : line.test(out(pid));
    while (!seen()) {
      if (Date.now() > deadline) throw new Error(`pid ${pid} never printed ${line}: ${out(pid)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { sys, out, waitFor };
}

/** What the bystander saw during an attack. */
export interface BystanderReport {
  pings: number[];
  p99: number;
  echoMs: number;
}

/** How long an attack and its bystander may take together before the test fails. */
export const ATTACK_LIMIT_MS = 90_000;

/**
 * `work`, or a failure naming `what` and showing the process table and kernel counts once `ms`
 * have passed: a test that would hang fails instead, with what was still running.
 */
export async function within<T>(
  sys: System,
  work: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const ps = await sys.ps().catch(() => []);
      const stats = await sys.stats().catch(() => ({}));
      reject(
        new Error(
          `${what} did not finish within ${ms / 1000} s; still running: ` +
            ps.map((p) => `${p.pid} ${p.name} (uid ${p.uid}, ${p.fds} fds)`).join(", ") +
            `; kernel: ${JSON.stringify(stats)}`,
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The p-th percentile (0–100) of `xs`. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Infinity;
}

/**
 * Run the echo, then ping, from alpha to beta; resolve with what they measured. (One after the
 * other: pings queued behind the bystander's own megabyte would measure the bystander.)
 */
export async function bystander(sys: System, count = 100): Promise<BystanderReport> {
  const echo = await sys.run(ECHO, ["10.0.0.2", "7", String(1 << 20)], { host: "alpha", uid: 0 });
  assert.equal(echo.status, 0, `bystander echo failed: ${echo.stderr}${echo.stdout}`);
  const ping = await sys.run("ping", ["-c", String(count), "-i", "0.01", "-W", "2", "10.0.0.2"], {
    host: "alpha",
    uid: 0,
    caps: ["net_raw"],
  });
  const pings = [...ping.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  assert.equal(pings.length, count, `bystander ping lost replies:\n${ping.stdout}${ping.stderr}`);
  return {
    pings,
    p99: percentile(pings, 99),
    echoMs: Number(/echo ok \d+ ([\d.]+)/.exec(echo.stdout)?.[1] ?? NaN),
  };
}

/**
 * Run `attack` while the bystander works alongside it on the same system; fail unless the
 * bystander's ping p99 stays under {@link PING_P99_MS} and its echo completes. The attack's own
 * result (errnos, checks) is returned.
 */
export async function underAttack<T>(
  sys: System,
  attack: () => Promise<T>,
): Promise<{ result: T; report: BystanderReport }> {
  const attacking = attack();
  // Let the attack get going before measuring, then measure while it runs.
  await new Promise((r) => setTimeout(r, 50));
  const [result, report] = await within(
    sys,
    Promise.all([attacking, bystander(sys)]),
    ATTACK_LIMIT_MS,
    "the attack and the bystander",
  );
  console.log(
    `bystander: ping p99 ${report.p99.toFixed(2)} ms (max ${
      Math.max(...report.pings).toFixed(2)
    }), 1 MB echo ${report.echoMs.toFixed(0)} ms`,
  );
  assert.ok(
    report.p99 < PING_P99_MS,
    `bystander ping p99 ${report.p99} ms ≥ ${PING_P99_MS} ms during the attack`,
  );
  return { result, report };
}
