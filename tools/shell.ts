/**
 * The interactive shell of `deno task run --shell`: a line-editing prompt per host (`alpha$ `)
 * that runs Serin programs as processes. Built-ins: `hosts`, `use HOST`, `ps`, `kill PID [SIG]`,
 * `link show|set` (tools/_link_cmd.ts), `history`, `help`, `exit`. Ctrl-C interrupts the running program, not the system; Ctrl-D on
 * an empty line leaves. A trailing `&` runs a program in the background.
 *
 * The shell is the console's login shell: it is not a process itself, and every program it starts
 * runs as its user (`uid`, 1000 unless `--root`) with its capabilities (`caps`, from `--caps`)
 * plus the program's file capabilities, as from a shell on Linux. Its `kill` follows kill(2):
 * another user's processes are refused unless the shell is root.
 */
import type { System } from "../kernel/mod.ts";
import type { LinkInfo } from "../kernel/bus/messages.ts";
import { formatLinks, parseLinkCommand } from "./_link_cmd.ts";

const HELP = `Built-ins:
  hosts              list the hosts
  use HOST           run programs on HOST from now on
  ps                 the process table
  kill PID [SIG]     signal a process (default 15)
  link show [NAME]   the links (switches, TAPs): carrier, impairments, counters
  link set NAME ...  change a link while it runs, as ip link / tc netem (needs net_admin):
                     up|down, loss 5%, delay 20ms 5ms, dup 1%, reorder 5%, corrupt 0.1%,
                     rate 10mbit, loss gemodel 1% 30%, clear
  history            earlier command lines
  help               this text
  exit               leave (Ctrl-D too)
Anything else runs a program on the current host, e.g. "ping -c 3 10.0.0.2", "ifconfig",
"nc -l -p 7000", "httpd -p 80 &". Ctrl-C interrupts the program in the foreground.`;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Options of the shell. */
export interface ShellOptions {
  hosts: string[];
  /** The user programs run as (default 1000). */
  uid?: number;
  /** Capabilities every program gets besides its file capabilities. */
  caps: string[];
  /** Input (default stdin) and output (default stdout) for tests. */
  input?: ReadableStream<Uint8Array>;
  write?: (text: string) => void;
  /** Use raw mode line editing (default: when stdin is a terminal). */
  raw?: boolean;
}

/** Run a `link` command line; returns what to print. */
export async function linkCommand(sys: System, args: string[], admin: boolean): Promise<string> {
  const parsed = parseLinkCommand(args);
  if ("error" in parsed) return parsed.error + "\n";
  try {
    if (parsed.req.op !== "links") {
      if (!admin) return "link: Operation not permitted (needs net_admin: --caps net_admin)\n";
      await sys.link(parsed.req);
      return "";
    }
    const links = await sys.link(parsed.req) as LinkInfo[];
    const shown = parsed.only ? links.filter((l) => l.name === parsed.only) : links;
    if (parsed.only && !shown.length) return `link: no link named ${parsed.only}\n`;
    return formatLinks(shown);
  } catch (err) {
    return `link: ${(err as Error).message}\n`;
  }
}

/** Run the shell until `exit` or end of input. Returns the last exit status. */
export async function runShell(sys: System, opts: ShellOptions): Promise<number> {
  const raw = opts.raw ?? (opts.input === undefined && Deno.stdin.isTerminal());
  const write = opts.write ??
    ((t: string) => Deno.stdout.writeSync(enc.encode(raw ? toTerminal(t) : t)));
  const reader = (opts.input ?? Deno.stdin.readable).getReader();
  // Full raw mode: Ctrl-C arrives as a byte for the shell to handle, not as SIGINT.
  if (raw) Deno.stdin.setRaw(true);
  let host = opts.hosts[0];
  const uid = opts.uid ?? 1000;
  const history: string[] = [];
  let status = 0;
  let foreground: number | undefined;
  let pending = "";
  const keys = new KeyQueue(reader, (k) => {
    if (k === "\x03" && foreground !== undefined) {
      write("^C\n");
      sys.kill(foreground, 2).catch(() => {});
      return true;
    }
    return false;
  });
  try {
    for (;;) {
      const line = raw
        ? await editLine(keys, `${host}$ `, history, write)
        : await readPlainLine(keys, () => pending, (p) => (pending = p), `${host}$ `, write);
      if (line === undefined) break;
      const text = line.trim();
      if (!text) continue;
      if (history.at(-1) !== text) history.push(text);
      const [cmd, ...args] = text.split(/\s+/);
      switch (cmd) {
        case "exit":
          return status;
        case "help":
          write(HELP + "\n");
          continue;
        case "hosts":
          write(opts.hosts.map((h) => (h === host ? `* ${h}` : `  ${h}`)).join("\n") + "\n");
          continue;
        case "use":
          if (!opts.hosts.includes(args[0])) write(`use: no host ${args[0] ?? ""}\n`);
          else host = args[0];
          continue;
        case "history":
          write(history.map((h, i) => `${String(i + 1).padStart(4)}  ${h}`).join("\n") + "\n");
          continue;
        case "ps":
          for (const p of await sys.ps()) {
            write(
              `${String(p.pid).padStart(5)} ${p.host.padEnd(8)} ${
                p.name.padEnd(12)
              } fds=${p.fds}\n`,
            );
          }
          continue;
        case "link":
          write(await linkCommand(sys, args, uid === 0 || opts.caps.includes("net_admin")));
          continue;
        case "kill":
          try {
            const target = (await sys.ps()).find((p) => p.pid === Number(args[0]));
            if (target && uid !== 0 && target.uid !== uid) {
              throw new Error(`(${target.pid}) - Operation not permitted`);
            }
            await sys.kill(Number(args[0]), Number(args[1] ?? 15));
          } catch (err) {
            write(`kill: ${(err as Error).message}\n`);
          }
          continue;
      }
      const background = args.at(-1) === "&";
      if (background) args.pop();
      try {
        const pid = await sys.start(cmd, args, { host, uid, caps: opts.caps });
        if (background) {
          write(`[${pid}]\n`);
          sys.wait(pid).then((s) => write(`[${pid}] done, status ${s}\n`));
          continue;
        }
        foreground = pid;
        status = await sys.wait(pid);
      } catch (err) {
        write(`${cmd}: ${(err as Error).message}\n`);
        status = 127;
      } finally {
        foreground = undefined;
      }
    }
    return status;
  } finally {
    keys.stop();
    if (raw) Deno.stdin.setRaw(false);
    reader.releaseLock();
  }
}

/** Keystrokes from a reader; an interceptor sees each chunk first (Ctrl-C while a program runs). */
class KeyQueue {
  #buf = "";
  #waiters: Array<() => void> = [];
  #done = false;
  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, intercept: (k: string) => boolean) {
    (async () => {
      for (;;) {
        let r;
        try {
          r = await reader.read();
        } catch {
          break;
        }
        if (r.done) break;
        const s = dec.decode(r.value, { stream: true });
        if (intercept(s)) continue;
        this.#buf += s;
        this.#wake();
      }
      this.#done = true;
      this.#wake();
    })();
  }
  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }
  /** The next chunk of input, or undefined at end of input. */
  async next(): Promise<string | undefined> {
    while (!this.#buf && !this.#done) await new Promise<void>((r) => this.#waiters.push(r));
    if (!this.#buf) return undefined;
    const s = this.#buf;
    this.#buf = "";
    return s;
  }
  stop() {
    this.#done = true;
    this.#wake();
  }
}

async function readPlainLine(
  keys: KeyQueue,
  get: () => string,
  set: (s: string) => void,
  prompt: string,
  write: (t: string) => void,
): Promise<string | undefined> {
  write(prompt);
  for (;;) {
    const buf = get();
    const nl = buf.indexOf("\n");
    if (nl >= 0) {
      set(buf.slice(nl + 1));
      return buf.slice(0, nl).replace(/\r$/, "");
    }
    const more = await keys.next();
    if (more === undefined) {
      set("");
      return buf ? buf : undefined;
    }
    set(buf + more);
  }
}

/** Read one line with editing: arrows, backspace, history, Ctrl-A/E/U/C/D. */
async function editLine(
  keys: KeyQueue,
  prompt: string,
  history: string[],
  write: (t: string) => void,
): Promise<string | undefined> {
  let line = "";
  let cur = 0;
  let hi = history.length;
  const redraw = () =>
    write(`\r\x1b[K${prompt}${line}` + (cur < line.length ? `\x1b[${line.length - cur}D` : ""));
  write(prompt);
  for (;;) {
    const chunk = await keys.next();
    if (chunk === undefined) return undefined;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === "\r" || c === "\n") {
        write("\r\n");
        return line;
      }
      if (c === "\x04") {
        if (!line) {
          write("\r\n");
          return undefined;
        }
        continue;
      }
      if (c === "\x03") {
        write("^C\r\n");
        line = "";
        cur = 0;
        write(prompt);
        continue;
      }
      if (c === "\x7f" || c === "\b") {
        if (cur > 0) {
          line = line.slice(0, cur - 1) + line.slice(cur);
          cur--;
        }
      } else if (c === "\x01") cur = 0;
      else if (c === "\x05") cur = line.length;
      else if (c === "\x15") {
        line = line.slice(cur);
        cur = 0;
      } else if (c === "\x1b" && chunk[i + 1] === "[") {
        const k = chunk[i + 2];
        i += 2;
        if (k === "A" && hi > 0) line = history[--hi];
        else if (k === "B") {
          line = hi < history.length - 1 ? history[++hi] : (hi = history.length, "");
        } else if (k === "C") cur = Math.min(line.length, cur + 1);
        else if (k === "D") cur = Math.max(0, cur - 1);
        if (k === "A" || k === "B") cur = line.length;
      } else if (c >= " ") {
        line = line.slice(0, cur) + c + line.slice(cur);
        cur++;
      }
      redraw();
    }
  }
}

/** In raw mode the terminal does not turn "\n" into "\r\n": do it here. */
export function toTerminal(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}
