/**
 * For the tools' tests: a booted system that collects each process's output, so a server
 * started in the background can be waited on ("listening on …") and its log read.
 */
import assert from "node:assert/strict";
import { boot, type System } from "../kernel/mod.ts";

/** A booted system plus its processes' collected stdout and stderr. */
export interface CollectingSystem {
  sys: System;
  /** What `pid` has written so far (stdout and stderr together). */
  output(pid: number): string;
  /** Wait until `pid` wrote `want` (fails after 10 s, showing what it wrote). */
  waitFor(pid: number, want: string): Promise<void>;
  /** Run a program to its end; assert it exited 0 and return its stdout. */
  runOk(prog: string, args: string[]): Promise<string>;
}

/** Boot a system (loopback only) that collects every process's output. */
export async function bootCollecting(): Promise<CollectingSystem> {
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const sys = await boot({
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  const output = (pid: number) => out.get(pid) ?? "";
  return {
    sys,
    output,
    async waitFor(pid, want) {
      const deadline = Date.now() + 10_000;
      while (!output(pid).includes(want)) {
        if (Date.now() > deadline) {
          throw new Error(`pid ${pid} never wrote ${want}: ${output(pid)}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async runOk(prog, args) {
      const r = await sys.run(prog, args);
      assert.equal(r.status, 0, `${prog} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
  };
}
