/**
 * Starting the network side of a system: one netstack worker per host and one hardware worker
 * holding the links (virtual switches, TAP devices, captures, fault injection). Each netstack
 * gets its own MessagePort to the kernel and one per interface to the hardware worker; after
 * start-up nothing passes through the kernel or the main thread.
 */
import { portEndpoint } from "./bus/endpoint.ts";
import { RpcPeer } from "./bus/rpc.ts";
import type { Kernel } from "./kernel.ts";
import type { WorkerFactory } from "./worker_host.ts";
import type { DeviceResources } from "../drivers/hw/resources.ts";
import { isNicModel, type NicModel } from "../drivers/nic_models.ts";
import type { DriverBoot } from "../drivers/driver_main.ts";
import { memoryCap } from "./memory_cap.ts";
import { labHosts } from "./lab_names.ts";
import type { HostEntry } from "./bus/messages.ts";

/** One interface of a host. */
export interface IfaceSetup {
  /** Default eth0, eth1, … */
  name?: string;
  /** The NIC model; "wire" is a plain cable with no device model. Default "wire". */
  driver?: "wire" | "e1000" | "rtl8139" | "virtio";
  /** Default: a locally administered address derived from host and interface numbers. */
  mac?: string;
  /** Default 1500. */
  mtu?: number;
  /** The switch (by name) the interface is plugged into, or `tap:IFNAME` for a Linux TAP. */
  link: string;
  /** Addresses in CIDR form, e.g. "10.0.0.1/24". */
  addrs?: string[];
}

/** One route of a host. */
export interface RouteSetup {
  /** "default" or CIDR. */
  dest: string;
  gateway?: string;
  iface?: string;
  metric?: number;
}

/** One host: a netstack with interfaces. */
export interface HostSetup {
  name: string;
  ifaces?: IfaceSetup[];
  routes?: RouteSetup[];
  /** Forward IPv4 between interfaces (a router). Default false. */
  forwarding?: boolean;
  /** DNS servers and search domains (resolv.conf's); default none (the hosts table only). */
  resolver?: { nameservers?: string[]; search?: string[] };
}

/** A Linux TAP device plugged into a switch as one of its ports. */
export interface SwitchTapSetup {
  /** The TAP interface name; opened if it exists, created (and gone at shutdown) if not. */
  name: string;
  /** Fault spec of this TAP's cable, in place of the switch's and the network's. */
  faults?: string;
}

/** A switch declared by name: Linux TAP devices as ports, and faults for its cables. */
export interface SwitchSetup {
  /** Linux TAP devices plugged in as ports, next to the hosts' interfaces linked to it. */
  taps?: SwitchTapSetup[];
  /** Fault spec of every cable into this switch (TAP ports and hosts' ports), in place of the
   * network-wide `faults`. */
  faults?: string;
}

/** The network part of a boot configuration. */
export interface NetSetup {
  hosts: HostSetup[];
  /** Switches with TAP ports or faults of their own, by name (the name hosts' `link` uses). */
  switches?: Record<string, SwitchSetup>;
  /** Fault spec applied to every link, e.g. "loss=0.05,delay=10ms,seed=1". */
  faults?: string;
  /** Write every frame crossing every link to this pcap file. */
  pcap?: string;
}

/** What a netstack worker receives at start-up. */
export interface HostBoot {
  name: string;
  index: number;
  ifaces: Array<
    Required<Omit<IfaceSetup, "link">> & {
      link: MessagePort;
      /** The link takes TCP super-segments (a TAP with offloads): TCP may send up to 64 KB. */
      gso: boolean;
    }
  >;
  routes: RouteSetup[];
  forwarding: boolean;
  /** The system memory cap in bytes, for the netstack's `setMemoryCap` (kernel/memory_cap.ts). */
  memoryCap?: number;
  /** The hosts table: every host of the topology by name (kernel/lab_names.ts). */
  hosts?: HostEntry[];
  /** DNS servers and search domains from the host's setup. */
  resolver?: HostSetup["resolver"];
}

/** One cable end in the hardware worker: joined to a netstack directly, or to a NIC model. */
export type HardwarePort =
  | { link: string; label: string; port: MessagePort; mtu: number }
  | { link: string; label: string; model: NicModel; mac: string };

/** What the hardware worker receives at start-up. */
export interface HardwareBoot {
  ports: HardwarePort[];
  switches?: Record<string, SwitchSetup>;
  faults?: string;
  pcap?: string;
}

/** What the hardware worker sends back once its NIC models exist: their shared buffers. */
export interface HardwareReady {
  resources: Record<string, DeviceResources>;
  /** Where the kernel sends link control requests (`LinkCtl`); absent after an error. */
  control?: MessagePort;
  /** Set when a cable could not be plugged in (a TAP that cannot be opened): why. */
  error?: string;
}

/** A raw message to a netstack: plug a restarted driver's port in behind interface `iface`. */
export interface AttachLink {
  attach: { iface: string; port: MessagePort };
}

/** A locally administered MAC for interface `i` of host `h`. */
export function defaultMac(h: number, i: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return `02:00:00:00:${hex(h & 255)}:${hex(i & 255)}`;
}

/** The running driver workers of a system, by "host/iface", with a way to kill one (tests). */
export class DriverTable {
  readonly #drivers = new Map<string, { kill(): void; restarts: number }>();

  /** Register a driver. */
  set(label: string, d: { kill(): void; restarts: number }): void {
    this.#drivers.set(label, d);
  }

  /** Kill the driver of `label` as a crash would; the kernel restarts it. */
  kill(label: string): boolean {
    const d = this.#drivers.get(label);
    d?.kill();
    return d !== undefined;
  }

  /** How often each driver was restarted. */
  restarts(): Record<string, number> {
    return Object.fromEntries([...this.#drivers].map(([k, v]) => [k, v.restarts]));
  }
}

const url = (path: string) => new URL(path, import.meta.url).href;

/** Start and attach the netstacks, drivers and links described by `setup`. */
export async function attachNetstacks(
  kernel: Kernel,
  setup: NetSetup,
  factory: WorkerFactory,
  drivers: DriverTable,
): Promise<void> {
  const hw: HardwareBoot = {
    ports: [],
    switches: setup.switches,
    faults: setup.faults,
    pcap: setup.pcap,
  };
  const hwTransfer: Transferable[] = [];
  const names = labHosts(setup);
  const hosts = setup.hosts.map((h, hi) => {
    const boot: HostBoot = {
      name: h.name,
      index: hi + 1,
      ifaces: [],
      routes: h.routes ?? [],
      forwarding: h.forwarding ?? false,
      memoryCap: memoryCap(),
      hosts: names,
      resolver: h.resolver,
    };
    const transfer: Transferable[] = [];
    const nics: Array<{ label: string; iface: string; port: MessagePort }> = [];
    (h.ifaces ?? []).forEach((f, fi) => {
      const ch = new MessageChannel();
      const name = f.name ?? `eth${fi}`;
      const driver = f.driver ?? "wire";
      const mac = f.mac ?? defaultMac(hi + 1, fi);
      const label = `${h.name}/${name}`;
      const nic = isNicModel(driver);
      const mtu = nic ? Math.min(f.mtu ?? 1500, 1500) : f.mtu ?? 1500;
      boot.ifaces.push({
        name,
        driver,
        mac,
        mtu,
        addrs: f.addrs ?? [],
        link: ch.port1,
        // A TAP wired straight to the host runs with offloads (drivers/link/tap_threads.ts)
        // unless faults or a capture put the hardware worker in the path.
        // virtio-net and e1000 take super-segments anywhere (TSO: the e1000 model cuts them;
        // the virtio-net driver does when its device refuses TSO).
        gso: driver === "virtio" || driver === "e1000" ||
          (!nic && f.link.startsWith("tap:") && !setup.faults && !setup.pcap),
      });
      transfer.push(ch.port1);
      if (nic) {
        hw.ports.push({ link: f.link, label, model: driver, mac });
        nics.push({ label, iface: name, port: ch.port2 });
      } else {
        hw.ports.push({ link: f.link, label, port: ch.port2, mtu });
        hwTransfer.push(ch.port2);
      }
    });
    return { h, boot, transfer, nics };
  });

  // The hardware first: NIC models create the buffers their drivers need.
  let resources: Record<string, DeviceResources> = {};
  const switchTaps = Object.values(setup.switches ?? {}).some((s) => (s.taps ?? []).length > 0);
  if (hw.ports.length > 0 || switchTaps) {
    const taps = switchTaps || hw.ports.some((p) => p.link.startsWith("tap:"));
    const bus = new MessageChannel();
    const ready = new Promise<HardwareReady>((resolve) => {
      bus.port1.onmessage = (e) => resolve(e.data as HardwareReady);
    });
    factory.create(
      {
        name: "hardware",
        url: url("../drivers/hw_main.ts"),
        // TAPs need FFI, and read access to drivers/ (and the copy routine of the frame rings)
        // for the modules of their own threads.
        permissions: taps || setup.pcap
          ? {
            ffi: taps,
            write: setup.pcap ? [setup.pcap] : false,
            read: taps
              ? [
                new URL("../drivers/", import.meta.url).pathname,
                new URL("./bus/shared_copy.ts", import.meta.url).pathname,
              ]
              : false,
          }
          : "none",
      },
      bus.port2,
      (message) => kernel.log(`hardware crashed: ${message}`),
      { data: hw, transfer: hwTransfer },
    );
    const answer = await ready;
    bus.port1.close();
    if (answer.error !== undefined) throw new Error(answer.error);
    resources = answer.resources;
    if (answer.control) kernel.attachHardware(new RpcPeer(portEndpoint(answer.control)));
  }

  for (const { h, boot, transfer, nics } of hosts) {
    const bus = new MessageChannel();
    factory.create(
      { name: `netstack ${h.name}`, url: url("../netstack/netstack_main.ts"), permissions: "none" },
      bus.port2,
      (message) => kernel.log(`netstack ${h.name} crashed: ${message}`),
      { data: boot, transfer },
    );
    kernel.attachNet(h.name, portEndpoint(bus.port1), (msg, t) => bus.port1.postMessage(msg, t));
    for (const nic of nics) {
      startDriver(kernel, factory, drivers, nic.label, resources[nic.label], nic.port, (port) => {
        const msg: AttachLink = { attach: { iface: nic.iface, port } };
        bus.port1.postMessage(msg, [port]);
      });
    }
  }
}

/** Start the driver worker of one NIC, restarting it whenever it dies. */
function startDriver(
  kernel: Kernel,
  factory: WorkerFactory,
  drivers: DriverTable,
  label: string,
  resources: DeviceResources,
  firstPort: MessagePort,
  plugIn: (port: MessagePort) => void,
) {
  const entry = { restarts: 0, kill: () => {} };
  const start = (port: MessagePort) => {
    let dead = false;
    const restart = (why: string) => {
      if (dead) return;
      dead = true;
      handle.terminate();
      entry.restarts++;
      const ch = new MessageChannel();
      plugIn(ch.port1);
      kernel.log(`driver ${resources.kind} ${label} died (${why}); restarted (${entry.restarts})`);
      start(ch.port2);
    };
    const handle = factory.create(
      { name: `driver ${label}`, url: url("../drivers/driver_main.ts"), permissions: "none" },
      new MessageChannel().port2,
      (message) => restart(message),
      { data: { label, resources, link: port } satisfies DriverBoot, transfer: [port] },
    );
    entry.kill = () => restart("killed");
  };
  start(firstPort);
  drivers.set(label, entry);
}
