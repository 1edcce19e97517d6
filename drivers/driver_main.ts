/**
 * A driver worker: one NIC driver, with no Deno permissions. It programs its device model (in
 * the hardware worker) only through the registers and DMA memory it was given, and exchanges
 * frames with its host's netstack over a MessagePort. If it dies, the kernel starts a fresh one
 * on the same device, which re-initialises the hardware; the netstack's sockets carry on.
 */
import { receiveStart } from "../kernel/worker_port.ts";
import { messagePortLink } from "./link/message_link.ts";
import type { DeviceResources } from "./hw/resources.ts";
import { runDriverLoop } from "./hw/loops.ts";
import { createDriver } from "./nic_models.ts";

/** What a driver worker receives at start-up. */
export interface DriverBoot {
  label: string;
  resources: DeviceResources;
  /** Frames to and from the netstack. */
  link: MessagePort;
}

/** Most frames held while the TX ring is full; beyond that the oldest are dropped and counted. */
const TX_BACKLOG = 1024;

const { extra } = await receiveStart();
const boot = extra as DriverBoot;
const driver = createDriver(boot.resources);
driver.init();
const link = messagePortLink(boot.link, { shared: true });
const backlog: Uint8Array[] = [];
let backlogDrops = 0;

// A driver that can batch stages every frame of a burst and notifies the device once at its end.
const stage = driver.stage && driver.kick ? driver.stage.bind(driver) : undefined;
const put = stage ?? ((f: Uint8Array) => driver.transmit(f));
const kick = () => driver.kick?.();

function drainBacklog() {
  let moved = false;
  while (backlog.length && put(backlog[0])) {
    backlog.shift();
    moved = true;
  }
  if (moved && stage) kick();
}

link.onFrame((frame) => {
  if (backlog.length === 0 && put(frame)) return;
  backlog.push(frame);
  if (backlog.length > TX_BACKLOG) {
    backlog.shift();
    backlogDrops++;
  }
});
if (stage) link.onBurstEnd?.(kick);
driver.onReceive((frames) => {
  for (const f of frames) link.send(f);
  drainBacklog();
});
// TX completions raise the interrupt line too: after servicing it, retry what waited.
const service = driver.handleInterrupt.bind(driver);
driver.handleInterrupt = () => {
  service();
  drainBacklog();
};
await runDriverLoop(driver, boot.resources.control, new AbortController().signal);
void backlogDrops;
