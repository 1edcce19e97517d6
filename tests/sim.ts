/**
 * A deterministic in-thread network for tests: NetworkTasks on virtual switches under one
 * ManualClock. `run(ms)` advances time in small steps and lets promises settle between them, so
 * socket calls (which are async) make progress exactly as the virtual clock allows.
 */
import { ManualClock } from "../kernel/clock.ts";
import { VirtualSwitch } from "../drivers/link/switch.ts";
import type { LinkPort } from "../drivers/link/port.ts";
import { NetworkTask } from "../netstack/network_task.ts";
import { parseCidr4 } from "../netstack/wire/addr.ts";
import type { NetInterface } from "../netstack/link/interface.ts";
import { runNetctl } from "../netstack/netctl.ts";

/** A simulated network. */
export class Sim {
  readonly clock = new ManualClock(1000);
  readonly switches = new Map<string, VirtualSwitch>();
  readonly hosts = new Map<string, NetworkTask>();
  readonly signal = new AbortController().signal;

  /** Add a host with interfaces on named switches, e.g. `{ eth0: ["lan", "10.0.0.1/24"] }`. */
  host(
    name: string,
    ifaces: Record<string, [string, string?]>,
    opts: {
      forwarding?: boolean;
      wrap?: (p: LinkPort) => LinkPort;
      mtu?: number;
      syncookies?: 0 | 1 | 2;
    } = {},
  ): NetworkTask {
    const t = new NetworkTask({
      clock: this.clock,
      name,
      forwarding: opts.forwarding,
      syncookies: opts.syncookies,
      seed: this.hosts.size + 1,
    });
    let n = 0;
    for (const [ifname, [sw, cidr]] of Object.entries(ifaces)) {
      let s = this.switches.get(sw);
      if (!s) this.switches.set(sw, s = new VirtualSwitch({ clock: this.clock }));
      const port = opts.wrap ? opts.wrap(s.connect()) : s.connect();
      const iface: NetInterface = t.addInterface({
        name: ifname,
        driver: "wire",
        mac: Uint8Array.of(2, 0, 0, 0, this.hosts.size + 1, n++),
        mtu: opts.mtu ?? 1500,
        port,
      });
      if (cidr) {
        const c = parseCidr4(cidr)!;
        t.ipv4.addAddress(iface, c.addr, c.prefixLen);
      }
    }
    this.hosts.set(name, t);
    return t;
  }

  /** Add a route on a host. */
  route(host: string, dest: string, gateway: string): void {
    runNetctl(this.hosts.get(host)!, { op: "route", action: "add", dest, gateway });
  }

  /** Advance virtual time by `ms` in steps of `step` ms, letting promises run in between. */
  async run(ms: number, step = 1): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      await flush();
      this.clock.advance(Math.min(step, end - this.clock.now()));
    }
    await flush();
  }

  /** Run until `p` settles (or `limitMs` of virtual time pass) and return its result. */
  async until<T>(p: Promise<T>, limitMs = 60_000, step = 1): Promise<T> {
    let done = false;
    const guarded = p.finally(() => (done = true));
    const end = this.clock.now() + limitMs;
    while (!done && this.clock.now() < end) {
      await flush();
      if (done) break;
      this.clock.advance(step);
    }
    await flush();
    if (!done) throw new Error(`did not settle within ${limitMs} ms of virtual time`);
    return await guarded;
  }
}

/** Let every pending promise reaction and zero-delay clock wake-up run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
