/**
 * The syscall fuzzer: a booted system where tests/programs/hostile_syscalls.ts (as another uid,
 * without capabilities) sends random and mutated system calls while well-behaved programs keep
 * exchanging data over AF_LOCAL (handle passing) and UDP. Afterwards the kernel's `stats()`
 * must be back at its baseline: every fd, socket, in-flight handle and pending call of the
 * hostile process reclaimed.
 */
import { boot, type System } from "../../kernel/mod.ts";
import type { KernelStats } from "../../kernel/kernel.ts";

const P = "tests/programs";

/** Options for {@link runSyscallFuzz}. */
export interface SyscallFuzzOptions {
  /** Wall-clock budget of the hostile program, in seconds. */
  seconds: number;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Most calls the hostile program sends (default: unlimited, the time budget rules). */
  maxCalls?: number;
}

/** What a syscall fuzz run reports. */
export interface SyscallFuzzResult {
  seed: number;
  calls: number;
  errnos: number;
  ok: number;
  pending: number;
  raw: number;
  seconds: number;
  execsPerSecond: number;
  /** Well-behaved exchanges completed while the fuzzer ran. */
  goodRounds: number;
  /** What went wrong (empty when nothing did). */
  failures: string[];
}

/** A saved failing syscall run, as stored under tests/fuzz/regressions/. */
export interface SyscallRegression {
  kind: "syscalls";
  seed: number;
  calls: number;
  message: string;
}

function collect() {
  const out = new Map<number, string>();
  const output = (pid: number, _fd: number, data: Uint8Array) =>
    out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(data));
  return { out, output };
}

async function waitFor(out: Map<number, string>, pid: number, want: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(out.get(pid) ?? "").includes(want)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} never printed ${want}: ${out.get(pid)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function tail(s = ""): string {
  return s.slice(-500);
}

/** One round of well-behaved traffic; throws when it fails. */
async function goodRound(sys: System, out: Map<number, string>, round: number): Promise<void> {
  const b = await sys.start(`${P}/fdpass_server.ts`, [`/run/wb${round}`, "speak"]);
  const c = await sys.start(`${P}/fdpass_server.ts`, [`/run/wc${round}`, "answer"]);
  await waitFor(out, b, "ready");
  await waitFor(out, c, "ready");
  const a = await sys.start(`${P}/fdpass_client.ts`, [`/run/wb${round}`, `/run/wc${round}`]);
  const port = String(9400 + (round % 50));
  const srv = await sys.start(`${P}/udp_echo_server.ts`, [port, "5"]);
  await waitFor(out, srv, "ready");
  const cli = await sys.start(`${P}/udp_echo_client.ts`, ["127.0.0.1", port, "5"]);
  const status = await Promise.all([a, b, c, srv, cli].map((p) => sys.wait(p)));
  if (status.some((s) => s !== 0)) {
    throw new Error(`well-behaved round ${round} failed: status ${status}: ${out.get(cli)}`);
  }
  if (!(out.get(b) ?? "").includes(`reply: ${c} heard "hello from ${b}"`)) {
    throw new Error(`handle passing broken in round ${round}: ${out.get(b)}`);
  }
  if ((out.get(cli) ?? "").split("\n").filter((l) => l.startsWith("echo from")).length !== 5) {
    throw new Error(`UDP echo broken in round ${round}: ${out.get(cli)}`);
  }
}

/** Compare stats, bound AF_LOCAL paths included (a path goes with its socket). */
export function statsDiff(base: KernelStats, now: KernelStats): string | undefined {
  const keys = Object.keys(base) as Array<keyof KernelStats>;
  const diff = keys.filter((k) => base[k] !== now[k]);
  return diff.length
    ? `stats not back to baseline: ${diff.map((k) => `${k} ${base[k]} → ${now[k]}`).join(", ")}`
    : undefined;
}

/** Run the syscall fuzzer once. */
export async function runSyscallFuzz(opts: SyscallFuzzOptions): Promise<SyscallFuzzResult> {
  const seed = opts.seed ?? 1;
  const { out, output } = collect();
  const failures: string[] = [];
  await using sys = await boot({ output });
  const base = await sys.stats();
  const ms = Math.round(opts.seconds * 1000);
  const start = performance.now();
  const hostile = await sys.start(
    `${P}/hostile_syscalls.ts`,
    [String(opts.maxCalls ?? 1e12), String(seed), String(ms)],
    { uid: 4242 },
  );
  let done = false;
  const hostileExit = sys.wait(hostile).finally(() => (done = true));
  let goodRounds = 0;
  try {
    while (!done) {
      await goodRound(sys, out, goodRounds);
      goodRounds++;
    }
  } catch (err) {
    failures.push(err instanceof Error ? err.message : String(err));
  }
  const status = await hostileExit;
  const seconds = (performance.now() - start) / 1000;
  if (status !== 0) failures.push(`hostile program exited ${status}: ${tail(out.get(hostile))}`);
  const line = (out.get(hostile) ?? "").split("\n").find((l) => l.includes("calls ")) ?? "";
  const m = line.match(/calls (\d+) errnos (\d+) ok (\d+) pending (\d+) raw (\d+)/);
  if (!m) failures.push(`hostile program printed no summary: ${tail(out.get(hostile))}`);
  // A well-behaved round after the storm, then nothing of the hostile process may be left.
  try {
    await goodRound(sys, out, 999);
  } catch (err) {
    failures.push(`after the fuzzer: ${err instanceof Error ? err.message : err}`);
  }
  let diff: string | undefined;
  for (let i = 0; i < 100; i++) {
    diff = statsDiff(base, await sys.stats());
    if (!diff) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (diff) failures.push(diff);
  const [calls, errnos, ok, pending, raw] = (m ?? []).slice(1).map(Number);
  return {
    seed,
    calls: calls ?? 0,
    errnos: errnos ?? 0,
    ok: ok ?? 0,
    pending: pending ?? 0,
    raw: raw ?? 0,
    seconds,
    execsPerSecond: Math.round((calls ?? 0) / seconds),
    goodRounds,
    failures,
  };
}
