/**
 * Serin as a link emulator between two Linux hosts: network namespaces A and B, each holding a
 * TAP device that is a port of Serin's virtual switch "sw1" (the topology's `"switches"`), with
 * Serin's faults on the cables, and optionally a Serin host on the same switch.
 *
 * Layout (a random N, only inside namespaces this lab creates):
 *   namespace A: TAP sA… 10.78.N.1/24, fd00:78::1/64 ─┐
 *   namespace B: TAP sB… 10.78.N.2/24, fd00:78::2/64 ─┼─ Serin switch sw1
 *   Serin host "serin" (optional): 10.78.N.3/24, fd00:78::3/64 ─┘
 *
 * Serin creates the TAPs when it boots (no `ip tuntap add`: the boot returns once the hardware
 * worker holds them open), then the lab moves each into its namespace. Disposal shuts Serin down
 * (which removes the TAPs) and deletes the namespaces.
 *
 * @example
 * await using lab = await SwitchLab.create({ faults: "loss=0.05,seed=1" });
 * await lab.exec(lab.a, ["ping", "-c", "1", lab.b.addr]);
 */
import { boot, type System } from "../../kernel/mod.ts";
import type { NetSetup, SwitchTapSetup } from "../../kernel/net_setup.ts";
import { cmd, type CmdOptions, type CmdResult, mustRun } from "./_lab.ts";

/** One Linux end: its namespace, its TAP and its addresses. */
export interface LinuxSide {
  ns: string;
  tap: string;
  addr: string;
  addr6: string;
}

/** Options for {@link SwitchLab.create}. */
export interface SwitchLabOptions {
  /** Faults of every cable into the switch (both TAP ports and the Serin host's), both ways. */
  faults?: string;
  /** Faults of TAP A's cable only, in place of `faults` there. */
  faultsA?: string;
  /** Put a Serin host "serin" on the switch too. Default false. */
  serinHost?: boolean;
}

/** The switch's name in the topology. */
export const SWITCH = "sw1";
/** The Serin host's name, when there is one. */
export const SWITCH_HOST = "serin";

function suffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Two namespaces whose TAPs are ports of Serin's switch (see the module comment). */
export class SwitchLab implements AsyncDisposable {
  /** Kernel log lines (a hardware or netstack crash shows up here). */
  readonly log: string[] = [];
  /** The Serin host's IPv4 and IPv6 addresses (used only with `serinHost`). */
  readonly serinAddr: string;
  /** See {@link serinAddr}. */
  readonly serinAddr6 = "fd00:78::3";
  #sys: System | undefined;
  #made: string[] = [];

  private constructor(readonly a: LinuxSide, readonly b: LinuxSide, subnet: number) {
    this.serinAddr = `10.78.${subnet}.3`;
  }

  /** The booted Serin system. */
  get sys(): System {
    if (!this.#sys) throw new Error("SwitchLab: Serin is not booted");
    return this.#sys;
  }

  /** The topology the lab boots: switch sw1 with both TAPs, and the Serin host if asked. */
  net(opts: SwitchLabOptions): NetSetup {
    const tapA: SwitchTapSetup = { name: this.a.tap };
    if (opts.faultsA !== undefined) tapA.faults = opts.faultsA;
    const subnet = this.serinAddr.split(".")[2];
    return {
      hosts: opts.serinHost
        ? [{
          name: SWITCH_HOST,
          ifaces: [{ link: SWITCH, addrs: [`10.78.${subnet}.3/24`, `${this.serinAddr6}/64`] }],
        }]
        : [],
      switches: {
        [SWITCH]: { taps: [tapA, { name: this.b.tap }], faults: opts.faults },
      },
    };
  }

  /**
   * Names and addresses for a lab, nothing created yet: for booting Serin some other way (the
   * command line with {@link net} as its config), then {@link enterNamespaces}.
   */
  static plan(): SwitchLab {
    const id = suffix();
    const subnet = 1 + (crypto.getRandomValues(new Uint8Array(1))[0] % 254);
    const side = (x: string, n: number): LinuxSide => ({
      ns: `serin-${id}${x.toLowerCase()}`, // the interop README's clean-up pattern matches it
      tap: `s${x}${id}`,
      addr: `10.78.${subnet}.${n}`,
      addr6: `fd00:78::${n}`,
    });
    return new SwitchLab(side("A", 1), side("B", 2), subnet);
  }

  /** Boot Serin with the switch, move each TAP into its namespace and configure Linux's side. */
  static async create(opts: SwitchLabOptions = {}): Promise<SwitchLab> {
    const lab = SwitchLab.plan();
    try {
      lab.#sys = await boot({ net: lab.net(opts), log: (l) => lab.log.push(l) });
      await lab.enterNamespaces();
    } catch (err) {
      await lab[Symbol.asyncDispose]();
      throw err;
    }
    return lab;
  }

  /**
   * Once Serin holds both TAPs open (created them): move each into a namespace of its own with
   * its addresses, loopback and link up.
   */
  async enterNamespaces(): Promise<void> {
    for (const s of [this.a, this.b]) {
      await mustRun(["ip", "netns", "add", s.ns]);
      this.#made.push(s.ns);
      await mustRun(["ip", "link", "set", s.tap, "netns", s.ns]);
      const ipIn = (...args: string[]) => mustRun(["ip", "-n", s.ns, ...args]);
      await ipIn("link", "set", "lo", "up");
      await ipIn("addr", "add", `${s.addr}/24`, "dev", s.tap);
      await ipIn("-6", "addr", "add", `${s.addr6}/64`, "dev", s.tap, "nodad");
      await ipIn("link", "set", s.tap, "up");
    }
  }

  /** Run `argv` inside `side`'s namespace. */
  exec(side: LinuxSide, argv: readonly string[], opts: CmdOptions = {}): Promise<CmdResult> {
    return cmd(["ip", "netns", "exec", side.ns, ...argv], opts);
  }

  /** Start `argv` inside `side`'s namespace with piped output. */
  spawn(side: LinuxSide, argv: readonly string[]): Deno.ChildProcess {
    return new Deno.Command("ip", {
      args: ["netns", "exec", side.ns, ...argv],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  }

  /** Shut Serin down if the lab booted it (its TAPs go with it) and delete the namespaces. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#sys?.shutdown();
    for (const ns of this.#made) await cmd(["ip", "netns", "del", ns]);
  }
}
