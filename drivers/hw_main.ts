/**
 * The hardware worker: the "physical" side of a system. It holds the virtual switches and TAP
 * devices, and joins each interface's cable to them, with fault injection and pcap capture
 * wrapped around every cable when asked.
 */
import { receiveStart } from "../kernel/worker_port.ts";
import type { HardwareBoot } from "../kernel/net_setup.ts";
import { RealClock } from "../kernel/clock.ts";
import { messagePortLink } from "./link/message_link.ts";
import type { LinkPort } from "./link/port.ts";
import { VirtualSwitch } from "./link/switch.ts";
import { withFaults } from "./link/faults.ts";
import { openTap } from "./link/tap.ts";
import { openCapture } from "./link/capture_file.ts";

const { extra } = await receiveStart();
const boot = extra as HardwareBoot;
const clock = new RealClock();
const switches = new Map<string, VirtualSwitch>();
const capture = boot.pcap ? await openCapture(boot.pcap) : undefined;

/** Join two cable ends so frames flow both ways. */
function join(a: LinkPort, b: LinkPort): void {
  a.onFrame((f) => b.send(f));
  b.onFrame((f) => a.send(f));
}

for (const p of boot.ports) {
  let cable: LinkPort = messagePortLink(p.port);
  // Each frame is captured once: as it leaves a host ("in" on the host's cable), and for a TAP
  // also as it arrives from Linux.
  const tap = p.link.startsWith("tap:");
  if (capture) cable = capture.wrap(cable, tap ? ["in", "out"] : ["in"]);
  if (boot.faults) cable = withFaults(cable, boot.faults, clock);
  if (tap) {
    join(cable, await openTap(p.link.slice(4)));
    continue;
  }
  let sw = switches.get(p.link);
  if (!sw) switches.set(p.link, sw = new VirtualSwitch({ clock }));
  join(cable, sw.connect());
}
