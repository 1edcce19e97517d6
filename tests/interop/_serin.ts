/**
 * Booting Serin for the interop suites: one host on the lab's TAP, process output collected per
 * pid, and the TAP moved into its namespace once the hardware worker has opened it.
 */
import { boot, type RunResult, type SpawnOptions, type System } from "../../kernel/mod.ts";
import { delay, type NicModel, type TapLab, within } from "./_lab.ts";

/** A booted Serin on a lab's TAP, with every started process's output kept by pid. */
export interface SerinOnTap extends AsyncDisposable {
  sys: System;
  /** Everything process `pid` printed so far (stdout and stderr, in order). */
  output(pid: number): string;
  /** Kernel log lines so far (netstack or hardware crashes show up here). */
  log: string[];
  /** Run a program to completion, failing after `timeoutMs` (default 30 s). */
  run(program: string, args: string[], opts?: SpawnOptions, timeoutMs?: number): Promise<RunResult>;
  /** Wait for process `pid` to exit, failing after `timeoutMs` (default 30 s). */
  wait(pid: number, timeoutMs?: number): Promise<number>;
  /** Wait until process `pid` has printed `text`; throw after `timeoutMs` with what it did print. */
  waitFor(pid: number, text: string, timeoutMs?: number): Promise<void>;
}

/** Options for {@link bootOnTap}. */
export interface BootOnTapOptions {
  /** Serin's NIC model. Default e1000. */
  driver?: NicModel;
  /** Serin's fault injection on the TAP cable, both directions (e.g. "loss=0.02,seed=7"). */
  faults?: string;
}

/**
 * Boot Serin on `lab`'s TAP, wait for it to open the TAP, and move the TAP into the namespace.
 * Disposing shuts Serin down (dispose it before the lab).
 */
export async function bootOnTap(lab: TapLab, opts: BootOnTapOptions = {}): Promise<SerinOnTap> {
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const log: string[] = [];
  const sys = await boot({
    net: lab.serinNet(opts.driver, opts.faults ? { faults: opts.faults } : {}),
    log: (line) => log.push(line),
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  try {
    await lab.waitAttached();
    await lab.enterNamespace();
  } catch (err) {
    await sys.shutdown();
    throw new Error(`${(err as Error).message}; kernel log: ${log.join(" | ") || "(empty)"}`, {
      cause: err,
    });
  }
  const output = (pid: number) => out.get(pid) ?? "";
  const diag = () => (log.length ? `; kernel log: ${log.join(" | ")}` : "");
  return {
    sys,
    output,
    log,
    run(program, args, opts = {}, timeoutMs = 30_000) {
      return within(
        sys.run(program, args, opts),
        timeoutMs,
        `${program} ${args.join(" ")}${diag()}`,
      );
    },
    wait(pid, timeoutMs = 30_000) {
      return within(
        sys.wait(pid),
        timeoutMs,
        () => `pid ${pid} (printed: ${output(pid)})${diag()}`,
      );
    },
    async waitFor(pid, text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!output(pid).includes(text)) {
        if (Date.now() > deadline) {
          throw new Error(`pid ${pid} never printed "${text}"; it printed: ${output(pid)}`);
        }
        await delay(10);
      }
    },
    [Symbol.asyncDispose]: () => sys.shutdown(),
  };
}
