/**
 * Child processes for benchmarks: start `deno run` (or any command) with stdout read line by
 * line, so the harness can wait for a "ready" line and then for the last JSON line.
 */

/** A running child whose stdout is split into lines. */
export interface Child extends AsyncDisposable {
  /** The next stdout line (rejects on EOF). */
  line(): Promise<string>;
  /**
   * Wait for exit; the last stdout line starting with "{" parsed, or throws on failure. Kills
   * the child and throws after `ms` (default 180 s).
   */
  result<T>(ms?: number): Promise<T>;
  /** Kill (SIGKILL) if still running. */
  kill(): void;
}

/** Start `cmd args` with piped stdout (stderr inherited). */
export function startChild(cmd: string, args: string[], env?: Record<string, string>): Child {
  const proc = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit", env }).spawn();
  const lines: string[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const pump = (async () => {
    let rest = "";
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
      wake?.();
    }
    if (rest) lines.push(rest);
    ended = true;
    wake?.();
  })();
  let read = 0;
  let done = false;
  const self: Child = {
    async line() {
      while (read >= lines.length) {
        if (ended) throw new Error(`${cmd} ${args.join(" ")} ended before printing a line`);
        await new Promise<void>((r) => (wake = r));
      }
      return lines[read++];
    },
    async result<T>(ms = 180_000) {
      const timer = setTimeout(() => self.kill(), ms);
      const status = await proc.status.finally(() => clearTimeout(timer));
      done = true;
      await pump;
      const json = lines.findLast((l) => l.startsWith("{"));
      if (!status.success || json === undefined) {
        throw new Error(`${cmd} ${args.join(" ")} failed (${status.code}): ${lines.join("\n")}`);
      }
      return JSON.parse(json) as T;
    },
    kill() {
      if (done) return;
      try {
        proc.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    },
    async [Symbol.asyncDispose]() {
      self.kill();
      await proc.status;
      done = true;
      await pump.catch(() => {});
    },
  };
  proc.status.then(() => (done = true));
  return self;
}

/** Options for {@link startDeno}. */
export interface DenoChildOptions {
  /** V8 flags, e.g. ["--expose-gc"]. */
  v8Flags?: string[];
  /** Run inside this Linux network namespace (`ip netns exec NS …`; needs root). */
  netns?: string;
}

/** `deno run -A` of a module next to this file, with a started child. */
export function startDeno(module: string, args: string[], opts: DenoChildOptions = {}): Child {
  const url = new URL(module, import.meta.url);
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const v8 = opts.v8Flags ?? [];
  const flags = v8.length ? [`--v8-flags=${v8.join(",")}`] : [];
  const deno = [Deno.execPath(), ...denoArgs(url.pathname, config, flags, args)];
  return opts.netns
    ? startChild("ip", ["netns", "exec", opts.netns, ...deno])
    : startChild(deno[0], deno.slice(1));
}

function denoArgs(path: string, config: string, flags: string[], args: string[]): string[] {
  return [
    "run",
    "-A",
    "--config",
    config,
    ...flags,
    path,
    ...args,
  ];
}
