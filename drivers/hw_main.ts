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
import { createDevice } from "./nic_models.ts";
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
const bootFaults: FaultOptions | undefined = boot.faults ? parseFaultSpec(boot.faults) : undefined;

/** Join two cable ends so frames flow both ways. */
function join(a: LinkPort, b: LinkPort): void {
  a.onFrame((f) => b.send(f));
  b.onFrame((f) => a.send(f));
}

/** The far end of a cable: a switch port or a TAP device. */
async function farEnd(link: string): Promise<LinkPort> {
  if (link.startsWith("tap:")) return await openTap(link.slice(4));
  let sw = switches.get(link);
  if (!sw) switches.set(link, sw = new VirtualSwitch({ clock }));
  return sw.connect();
}

for (const p of boot.ports) {
  // A TAP straight to a netstack, with nothing in between: its own threads, no event loop.
  if ("port" in p && p.link.startsWith("tap:") && !boot.faults && !capture) {
    await attachTapThreads(p.link.slice(4), p.port, { mtu: p.mtu }).ready;
    links.plugFast(p.link, p.label);
    continue;
  }
  // Each frame is captured once: as it leaves a host, and for a TAP also as Linux sends it.
  const tap = p.link.startsWith("tap:");
  let cable = links.plug(p.link, p.label, await farEnd(p.link), tap ? "tap" : "switch", bootFaults);
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
const control = new MessageChannel();
new RpcPeer(portEndpoint(control.port1), { serve: (body) => links.serve(body as LinkCtl) });
bus.postMessage({ resources, control: control.port2 } satisfies HardwareReady, [control.port2]);
