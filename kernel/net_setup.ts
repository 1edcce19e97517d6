/**
 * Starting the network side of a system: one netstack worker per host and one hardware worker
 * holding the links (virtual switches, TAP devices, captures, fault injection). Each netstack
 * gets its own MessagePort to the kernel and one per interface to the hardware worker; after
 * start-up nothing passes through the kernel or the main thread.
 */
import { portEndpoint } from "./bus/endpoint.ts";
import type { Kernel } from "./kernel.ts";
import type { WorkerFactory } from "./worker_host.ts";

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
}

/** The network part of a boot configuration. */
export interface NetSetup {
  hosts: HostSetup[];
  /** Fault spec applied to every link, e.g. "loss=0.05,delay=10ms,seed=1". */
  faults?: string;
  /** Write every frame crossing every link to this pcap file. */
  pcap?: string;
}

/** What a netstack worker receives at start-up. */
export interface HostBoot {
  name: string;
  index: number;
  ifaces: Array<Required<Omit<IfaceSetup, "link">> & { link: MessagePort }>;
  routes: RouteSetup[];
  forwarding: boolean;
}

/** What the hardware worker receives at start-up. */
export interface HardwareBoot {
  ports: Array<{ link: string; port: MessagePort; label: string }>;
  faults?: string;
  pcap?: string;
}

/** A locally administered MAC for interface `i` of host `h`. */
export function defaultMac(h: number, i: number): string {
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return `02:00:00:00:${hex(h & 255)}:${hex(i & 255)}`;
}

/** Start and attach the netstacks and links described by `setup`. */
export function attachNetstacks(kernel: Kernel, setup: NetSetup, factory: WorkerFactory): void {
  const hw: HardwareBoot = { ports: [], faults: setup.faults, pcap: setup.pcap };
  const hwTransfer: Transferable[] = [];
  setup.hosts.forEach((h, hi) => {
    const boot: HostBoot = {
      name: h.name,
      index: hi + 1,
      ifaces: [],
      routes: h.routes ?? [],
      forwarding: h.forwarding ?? false,
    };
    const transfer: Transferable[] = [];
    (h.ifaces ?? []).forEach((f, fi) => {
      const ch = new MessageChannel();
      const name = f.name ?? `eth${fi}`;
      boot.ifaces.push({
        name,
        driver: f.driver ?? "wire",
        mac: f.mac ?? defaultMac(hi + 1, fi),
        mtu: f.mtu ?? 1500,
        addrs: f.addrs ?? [],
        link: ch.port1,
      });
      transfer.push(ch.port1);
      hw.ports.push({ link: f.link, port: ch.port2, label: `${h.name}/${name}` });
      hwTransfer.push(ch.port2);
    });
    const bus = new MessageChannel();
    factory.create(
      {
        name: `netstack ${h.name}`,
        url: new URL("../netstack/netstack_main.ts", import.meta.url).href,
        permissions: "none",
      },
      bus.port2,
      (message) => kernel.log(`netstack ${h.name} crashed: ${message}`),
      { data: boot, transfer },
    );
    kernel.attachNet(h.name, portEndpoint(bus.port1));
  });
  if (hw.ports.length === 0) return;
  const taps = hw.ports.some((p) => p.link.startsWith("tap:"));
  const bus = new MessageChannel();
  factory.create(
    {
      name: "hardware",
      url: new URL("../drivers/hw_main.ts", import.meta.url).href,
      permissions: taps || setup.pcap
        ? { ffi: taps, write: setup.pcap ? [setup.pcap] : false, read: false }
        : "none",
    },
    bus.port2,
    (message) => kernel.log(`hardware crashed: ${message}`),
    { data: hw, transfer: hwTransfer },
  );
  bus.port1.close();
}
