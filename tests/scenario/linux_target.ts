/**
 * The Linux kernel as the endpoint under test, in real time: a TAP device (opened here, so its
 * frames are the runner's) moved into a namespace of its own (tests/interop/_lab.ts TapLab) with
 * the endpoint's address on Linux's side, the peer's neighbour entry pinned, offloads off (one
 * frame per segment), and the runner's sysctl defaults set. Socket calls run in
 * linux_helper.py inside the namespace. Needs root, `ip` and `python3` (see {@link LINUX_TOOLS}).
 */
import { openTap } from "../../drivers/link/tap.ts";
import { parseMac } from "../../netstack/wire/addr.ts";
import { cmd, mustRun, TapLab } from "../interop/_lab.ts";
import type { Call, CallResult } from "./calls.ts";
import type { ScriptOptions } from "./script.ts";
import { ENDPOINT_PORT, PEER_PORT, type Target } from "./target.ts";

/** Commands the Linux target needs besides root and `ip`. */
export const LINUX_TOOLS: readonly string[] = ["python3"];

/** Extra timing tolerance on a real clock, ms (added to the script's). */
export const LINUX_SLACK_MS = 75;

/**
 * sysctls set in every namespace before a script runs, so runs are reproducible: the options a
 * 6.x kernel offers by default, no metrics cached between connections, no ECN, no fast open,
 * SYN retransmissions backing off from the first (unknown names are skipped on older kernels).
 */
export const LINUX_SYSCTLS: Readonly<Record<string, string>> = {
  "net.ipv4.tcp_timestamps": "1",
  "net.ipv4.tcp_sack": "1",
  "net.ipv4.tcp_window_scaling": "1",
  "net.ipv4.tcp_syncookies": "1",
  "net.ipv4.tcp_ecn": "0",
  "net.ipv4.tcp_no_metrics_save": "1",
  "net.ipv4.tcp_fastopen": "0",
  // Linux 6.5+ retransmits a SYN 4 times at 1 s before backing off; RFC 6298 §5.5 doubles.
  "net.ipv4.tcp_syn_linear_timeouts": "0",
  "net.ipv6.conf.all.accept_dad": "0",
  "net.ipv6.conf.default.router_solicitations": "0",
};

const HELPER = new URL("./linux_helper.py", import.meta.url).pathname;

/**
 * A fresh Linux endpoint (namespace, TAP, helper) for one script. Few processes are started (one
 * `ip -batch` configures the namespace; the helper sets the sysctls and reads the MAC), since
 * each costs a lot on a loaded machine. A TAP without a virtio-net header has no TSO or GRO, so
 * every segment is its own frame.
 */
export async function linuxTarget(opts: ScriptOptions): Promise<Target> {
  const lab = await TapLab.create();
  const cleanup: Array<() => PromiseLike<unknown>> = [() => lab[Symbol.asyncDispose]()];
  try {
    const tap = await openTap(lab.tap);
    cleanup.unshift(() => tap[Symbol.asyncDispose]());
    await mustRun(["ip", "netns", "add", lab.ns]);
    cleanup.push(() => cmd(["ip", "netns", "del", lab.ns]));
    await mustRun(["ip", "link", "set", lab.tap, "netns", lab.ns]);
    const six = opts.ip === "ipv6";
    const endpoint = six ? lab.linuxAddr6 : lab.linuxAddr;
    const peer = six ? lab.serinAddr6 : lab.serinAddr;
    const dev = lab.tap;
    const batch = [
      "link set lo up",
      `link set ${dev} mtu ${opts.mtu}`,
      `addr add ${lab.linuxAddr}/24 dev ${dev}`,
      `addr add ${lab.linuxAddr6}/64 dev ${dev} nodad`,
      `link set ${dev} up`,
      `neigh replace ${lab.serinAddr} lladdr ${lab.serinMac} dev ${dev} nud permanent`,
      `neigh replace ${lab.serinAddr6} lladdr ${lab.serinMac} dev ${dev} nud permanent`,
    ];
    await mustRun(["ip", "-n", lab.ns, "-batch", "-"], { stdin: batch.join("\n") + "\n" });
    const sysctls = { ...LINUX_SYSCTLS, ...prefixed(opts.sysctls) };
    const helper = new Helper(lab.ns, [
      opts.ip,
      endpoint,
      peer,
      String(ENDPOINT_PORT),
      String(PEER_PORT),
      dev,
      JSON.stringify(sysctls),
    ]);
    cleanup.unshift(() => helper.close());
    const endpointMac = parseMac(await helper.ready)!;
    // Let the link settle (IPv6 join reports and the like go out before time 0).
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    const now = () => performance.now() - start;
    let handler: (f: Uint8Array, at: number) => void = () => {};
    tap.onFrame((f) => handler(f, now()));
    return {
      name: "linux",
      addrs: { family: opts.ip, endpoint, peer, peerMac: parseMac(lab.serinMac)! },
      endpointMac,
      slackMs: LINUX_SLACK_MS,
      callGraceMs: 1000,
      now,
      async waitUntil(t, stop) {
        while (!stop() && now() < t) {
          await new Promise((r) => setTimeout(r, Math.min(2, Math.max(0, t - now()))));
        }
      },
      inject: (frame) => tap.send(frame),
      onFrame: (h) => (handler = h),
      call: (c) => helper.call(c),
      async [Symbol.asyncDispose]() {
        for (const f of cleanup) await Promise.resolve(f()).catch(() => {});
      },
    };
  } catch (e) {
    for (const f of cleanup) await Promise.resolve(f()).catch(() => {});
    throw e;
  }
}

/** `tcp_syncookies=2` in a script means net.ipv4.tcp_syncookies. */
function prefixed(s: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s).map(([k, v]) => [k.includes(".") ? k : `net.ipv4.${k}`, v]),
  );
}

/** linux_helper.py running in the namespace, spoken to in JSON lines. */
class Helper {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiting = new Map<number, (r: CallResult) => void>();
  #nextId = 1;
  #stderr = "";
  /** Resolves once the helper has set the sysctls, with the interface's MAC. */
  readonly ready: Promise<string>;

  constructor(ns: string, args: string[]) {
    const child = this.#child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, "python3", "-I", "-S", "-u", HELPER, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    let started = (_mac: string) => {};
    this.ready = new Promise((r) => (started = r));
    void (async () => {
      for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += t;
      }
    })();
    void (async () => {
      let buf = "";
      for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += t;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (msg.ready) started(msg.mac);
          else this.#waiting.get(msg.id)?.(msg), this.#waiting.delete(msg.id);
        }
      }
    })();
  }

  /** Run one call in the namespace. */
  call(c: Call): Promise<CallResult> {
    const id = this.#nextId++;
    const p = new Promise<CallResult>((resolve, reject) => {
      this.#waiting.set(id, (r) => {
        if (r.errno === "EHELPER") reject(new Error(`linux_helper.py: ${JSON.stringify(r)}`));
        else resolve(r);
      });
    });
    void this.#writer.write(new TextEncoder().encode(JSON.stringify({ id, call: c }) + "\n"));
    return p;
  }

  /** Stop the helper (closing its sockets with it). */
  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    if (this.#waiting.size && this.#stderr) console.error(this.#stderr);
  }
}
