/**
 * Linux TAP devices as ports of a {@link VirtualSwitch}: Serin as a link emulator between real
 * Linux hosts. Each TAP is opened with {@link openTap} (the same descriptor `--tap` uses, without
 * offloads: frames stay MTU-sized so faults hit single segments), its cable wrapped in faults as a
 * host's cable is, and plugged into the switch next to Serin hosts' ports. Linux namespaces whose
 * TAPs are ports of one switch then talk through it, impaired per port direction.
 *
 * A TAP whose device disappears while the switch runs (`ip link del`, its namespace destroyed)
 * is not an error: its receive loop sees POLLERR/POLLHUP and stops (counted in
 * `stats.readErrors`), and frames the switch hands it afterwards are dropped and counted
 * (`stats.drops.closed`). The other ports go on.
 *
 * @example
 * const sw = new VirtualSwitch({ clock });
 * const a = await plugTap(sw, "tapA", { clock, faults: "loss=0.05,delay=5ms" });
 * const b = await plugTap(sw, "tapB", { clock });
 */

import type { Clock } from "../../kernel/clock.ts";
import { withFaults } from "./faults.ts";
import type { LinkPort } from "./port.ts";
import type { VirtualSwitch } from "./switch.ts";
import { openTap, type TapLink } from "./tap.ts";
import { segmentingPort } from "./gso_segment.ts";

/** Options for {@link plugTap}. */
export interface TapPortOptions {
  /** Time source of the fault injector. */
  clock: Clock;
  /** Fault spec of the TAP's cable, both directions; none when undefined or empty. */
  faults?: string;
  /** A last wrapper around the cable (a pcap capture), applied outside the faults. */
  wrap?: (cable: LinkPort) => LinkPort;
}

/**
 * Open the TAP `name` (creating it if missing) and plug it into `sw`. Returns the TAP link, whose
 * counters tell what reached Linux and what was dropped. Throws an ErrnoError when the TAP
 * cannot be opened.
 */
export async function plugTap(
  sw: VirtualSwitch,
  name: string,
  opts: TapPortOptions,
): Promise<TapLink> {
  const tap = await openTap(name);
  let cable: LinkPort = tap;
  if (opts.faults) cable = withFaults(cable, opts.faults, opts.clock);
  if (opts.wrap) cable = opts.wrap(cable);
  // A super-segment from a TSO host on the switch is cut here, so faults hit single segments.
  cable = segmentingPort(cable, 1500);
  const port = sw.connect();
  port.onFrame((f) => cable.send(f));
  cable.onFrame((f) => port.send(f));
  return tap;
}
