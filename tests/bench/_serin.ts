/**
 * Benchmark harness around a booted Serin system: start programs with their output collected
 * per pid, wait for a line, read the JSON line a benchmark program prints last.
 */
import { boot, type System } from "../../kernel/mod.ts";
import type { IfaceSetup, NetSetup } from "../../kernel/net_setup.ts";

/** The NIC model of an interface, as the NetSetup spells it. */
export type Driver = NonNullable<IfaceSetup["driver"]>;

/** A booted system whose programs' output is kept per pid. */
export interface BenchSystem extends AsyncDisposable {
  sys: System;
  /** Start `program` on `host`; resolves to its pid. */
  start(host: string, program: string, args: string[]): Promise<number>;
  /** Resolve once `pid` printed `text`; reject after `ms` or when it exits first. */
  waitFor(pid: number, text: string, ms?: number): Promise<void>;
  /**
   * Wait for `pid` to exit 0 and parse the last line it printed that starts with "{"; rejects
   * after `ms` (default 120 s) so a stalled transfer cannot hang the whole benchmark run.
   */
  result<T>(pid: number, ms?: number): Promise<T>;
  /** Everything `pid` printed so far. */
  output(pid: number): string;
}

/** Two hosts, a (10.0.0.1) and b (10.0.0.2), on one virtual switch with `driver` NICs. */
export function twoHosts(driver: Driver, link = "lan"): NetSetup {
  const host = (name: string, addr: string) => ({
    name,
    ifaces: [{ link, driver, addrs: [addr] }],
  });
  return { hosts: [host("a", "10.0.0.1/24"), host("b", "10.0.0.2/24")] };
}

/** Boot `net` (default: one host "local") with collected output. */
export async function bootBench(net?: NetSetup): Promise<BenchSystem> {
  const out = new Map<number, string>();
  const exited = new Set<number>();
  let crash: string | undefined;
  let onCrash: (err: Error) => void = () => {};
  const crashed = new Promise<never>((_, reject) => (onCrash = reject));
  crashed.catch(() => {}); // observed through the races below
  const sys = await boot({
    net,
    // A crashed netstack or hardware worker never answers: fail fast instead of timing out.
    log: (line) => {
      if (crash === undefined && line.includes("crashed")) {
        crash = line;
        onCrash(new Error(`Serin ${line}`));
      }
    },
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(data)),
  });
  const self: BenchSystem = {
    sys,
    async start(host, program, args) {
      const pid = await sys.start(program, args, { host });
      sys.wait(pid).then(() => exited.add(pid), () => exited.add(pid));
      return pid;
    },
    async waitFor(pid, text, ms = 30_000) {
      const deadline = performance.now() + ms;
      while (!(out.get(pid) ?? "").includes(text)) {
        if (crash !== undefined) throw new Error(`Serin ${crash}`);
        if (exited.has(pid) || performance.now() > deadline) {
          throw new Error(`pid ${pid} never printed ${text}: ${out.get(pid) ?? ""}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async result<T>(pid: number, ms = 120_000): Promise<T> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`pid ${pid} still running after ${ms} ms`)), ms);
      });
      const status = await Promise.race([sys.wait(pid), crashed, late]).finally(() =>
        clearTimeout(timer)
      );
      const text = out.get(pid) ?? "";
      const line = text.split("\n").findLast((l) => l.startsWith("{"));
      if (status !== 0 || line === undefined) {
        throw new Error(`pid ${pid} exited ${status}: ${text}`);
      }
      return JSON.parse(line) as T;
    },
    output: (pid) => out.get(pid) ?? "",
    async [Symbol.asyncDispose]() {
      await sys.shutdown();
    },
  };
  return self;
}
