/**
 * The hardware worker: the "physical" side of a system. It holds the virtual switches and TAP
 * devices, the NIC device models (E1000, RTL8139, virtio-net: their registers and DMA memory are
 * SharedArrayBuffers their driver workers program), and joins every cable, with fault injection
 * and pcap capture wrapped around each when asked. Its links can be changed while it runs
 * (link/link_table.ts): the kernel calls it on the control port it sends back when ready.
 */
import { receiveStart } from "../kernel/worker_port.ts";
import type { HardwareBoot, HardwareReady } from "../kernel/net_setup.ts";
import { RealClock } from "../kernel/clock.ts";
import { messagePortLink } from "./link/message_link.ts";
import type { LinkPort } from "./link/port.ts";
import { VirtualSwitch } from "./link/switch.ts";
import { type FaultOptions, parseFaultSpec } from "./link/faults.ts";
import { LinkTable } from "./link/link_table.ts";
import { portEndpoint } from "../kernel/bus/endpoint.ts";
import { RpcPeer } from "../kernel/bus/rpc.ts";
import type { LinkCtl } from "../kernel/bus/messages.ts";
import { openTap } from "./link/tap.ts";
import { attachTapThreads } from "./link/tap_threads.ts";
import { openCapture } from "./link/capture_file.ts";
import { createDevice, takesSuperSegments } from "./nic_models.ts";
import { segmentingPort } from "./link/gso_segment.ts";
import { runDeviceLoop } from "./hw/loops.ts";
import type { DeviceResources } from "./hw/resources.ts";
import { parseMac } from "../netstack/wire/addr.ts";

const { port: bus, extra } = await receiveStart();
const boot = extra as HardwareBoot;
const clock = new RealClock();
const switches = new Map<string, VirtualSwitch>();
const capture = boot.pcap ? await openCapture(boot.pcap) : undefined;
const resources: Record<string, DeviceResources> = {};
const stop = new AbortController();
const links = new LinkTable(clock);

/** Join two cable ends so frames flow both ways. */
function join(a: LinkPort, b: LinkPort): void {
  a.onFrame((f) => b.send(f));
  b.onFrame((f) => a.send(f));
}

/** The switch named `name`, created on first use. */
function switchNamed(name: string): VirtualSwitch {
  let sw = switches.get(name);
  if (!sw) switches.set(name, sw = new VirtualSwitch({ clock }));
  return sw;
}

/** The far end of a cable: a switch port or a TAP device. */
async function farEnd(link: string): Promise<LinkPort> {
  if (link.startsWith("tap:")) return await openTap(link.slice(4));
  return switchNamed(link).connect();
}

/** The faults of a cable into `link`: its switch's own, else the network's. */
function faultsOf(link: string): string | undefined {
  return boot.switches?.[link]?.faults ?? boot.faults;
}

/** A fault spec as options; none for undefined or empty. */
function parsed(spec: string | undefined): FaultOptions | undefined {
  return spec ? parseFaultSpec(spec) : undefined;
}

/** Plug every cable in: switches' TAP ports first, then every host interface. */
async function plugAll(): Promise<void> {
  // Linux TAP devices as switch ports: each cable impaired by its own faults, its switch's or the
  // network's, and captured both ways, as a TAP linked to a host is.
  for (const [name, s] of Object.entries(boot.switches ?? {})) {
    for (const t of s.taps ?? []) {
      // Plugged as a host's cable is (the link table's faults, carrier and recording), Linux
      // standing where the host would.
      const tap = await openTap(t.name);
      const faults = parsed(t.faults ?? faultsOf(name));
      let cable = links.plug(
        name,
        `linux:${t.name}`,
        switchNamed(name).connect(),
        "switch",
        faults,
      );
      if (capture) cable = capture.wrap(cable, ["in", "out"]);
      // A super-segment from a TSO host on the switch is cut before it reaches Linux.
      join(segmentingPort(tap, 1500), cable);
    }
  }

  for (const p of boot.ports) {
    // A TAP straight to a netstack, with nothing in between: its own threads, no event loop.
    if ("port" in p && p.link.startsWith("tap:") && !boot.faults && !capture) {
      await attachTapThreads(p.link.slice(4), p.port, { mtu: p.mtu }).ready;
      links.plugFast(p.link, p.label);
      continue;
    }
    const tap = p.link.startsWith("tap:");
    // A NIC model straight to a TAP: the same threads, with offloads when the model takes
    // super-segments (virtio-net), so they cross to Linux whole.
    if (!("port" in p) && tap && !boot.faults && !capture) {
      const ch = new MessageChannel();
      await attachTapThreads(p.link.slice(4), ch.port1, {
        mtu: 1500,
        offload: takesSuperSegments(p.model),
      }).ready;
      const mac = parseMac(p.mac) ?? new Uint8Array(6);
      const device = createDevice(p.model, messagePortLink(ch.port2), mac);
      links.plugFast(p.link, p.label);
      links.watchCarrier(p.link, (up) => device.setLink(up));
      resources[p.label] = device.resources;
      runDeviceLoop(device, stop.signal);
      continue;
    }
    // Each frame is captured once: as it leaves a host, and for a TAP also as Linux sends it.
    let far = await farEnd(p.link);
    // A TAP without offloads takes no super-segments: Linux's GSO, in software.
    if (tap) far = segmentingPort(far, 1500);
    let cable = links.plug(p.link, p.label, far, tap ? "tap" : "switch", parsed(faultsOf(p.link)));
    if (capture) cable = capture.wrap(cable, tap ? ["in", "out"] : ["out"]);
    if ("port" in p) {
      join(messagePortLink(p.port, { shared: true }), cable);
      continue;
    }
    const device = createDevice(p.model, cable, parseMac(p.mac) ?? new Uint8Array(6));
    links.watchCarrier(p.link, (up) => device.setLink(up));
    resources[p.label] = device.resources;
    runDeviceLoop(device, stop.signal);
  }
}

// A cable that cannot be plugged in (a TAP that cannot be opened) fails the boot with its reason
// instead of leaving the kernel waiting for an answer that never comes.
try {
  await plugAll();
  const control = new MessageChannel();
  new RpcPeer(portEndpoint(control.port1), { serve: (body) => links.serve(body as LinkCtl) });
  bus.postMessage({ resources, control: control.port2 } satisfies HardwareReady, [control.port2]);
} catch (err) {
  stop.abort();
  bus.postMessage({ resources: {}, error: (err as Error).message } satisfies HardwareReady);
}
