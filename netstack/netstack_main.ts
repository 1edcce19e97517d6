/**
 * The netstack worker's entry point: one host's NetworkTask. It gets its kernel bus port and its
 * interfaces' cables at start-up, configures addresses and routes, then serves the kernel.
 * It runs with no Deno permissions at all.
 */
import { portEndpoint } from "../kernel/bus/endpoint.ts";
import { RpcPeer } from "../kernel/bus/rpc.ts";
import { RealClock } from "../kernel/clock.ts";
import type { AttachLink, HostBoot } from "../kernel/net_setup.ts";
import { SwitchablePort } from "../drivers/link/switchable.ts";
import { receiveStart } from "../kernel/worker_port.ts";
import { messagePortLink } from "../drivers/link/message_link.ts";
import { parseMac } from "./wire/addr.ts";
import { NetworkTask } from "./network_task.ts";
import { serveNet } from "./service.ts";
import { ProcessPorts } from "./process_ports.ts";
import type { NetAttach, NetRequest } from "../kernel/bus/messages.ts";
import { runNetctl } from "./netctl.ts";
import { setMemoryCap } from "../kernel/memory_cap.ts";

const { port, extra } = await receiveStart();
const boot = extra as HostBoot;
// The system memory cap the kernel was booted with: past it, new sockets and sends get ENOMEM.
if (boot.memoryCap) setMemoryCap(boot.memoryCap);
// No seed: ISN, timestamp and port secrets come from the CSPRNG at every boot.
const task = new NetworkTask({
  clock: new RealClock(),
  name: boot.name,
  forwarding: boot.forwarding,
});
const problems: string[] = [];
const cables = new Map<string, SwitchablePort>();
for (const f of boot.ifaces) {
  const cable = new SwitchablePort(messagePortLink(f.link));
  cables.set(f.name, cable);
  task.addInterface({
    name: f.name,
    driver: f.driver,
    mac: parseMac(f.mac) ?? new Uint8Array(6),
    mtu: f.mtu,
    port: cable,
    gsoMax: f.gso ? 65535 : 0,
  });
  for (const cidr of f.addrs) {
    try {
      runNetctl(task, { op: "ifaddr", iface: f.name, action: "add", cidr });
    } catch (err) {
      problems.push(`${f.name} ${cidr}: ${(err as Error).message}`);
    }
  }
}
for (const r of boot.routes) {
  try {
    runNetctl(task, { op: "route", action: "add", ...r });
  } catch (err) {
    problems.push(`route ${r.dest}: ${(err as Error).message}`);
  }
}
if (boot.hosts || boot.resolver) {
  try {
    task.resolver.set({ hosts: boot.hosts, ...boot.resolver });
  } catch (err) {
    problems.push(`resolver: ${(err as Error).message}`);
  }
}
const processes = new ProcessPorts(task, (what) => task.count(what));
// Ports arrive as raw (structured-clone) messages: a restarted driver worker's, or a new
// process's direct port.
const onRaw = (data: unknown) => {
  const a = (data as Partial<AttachLink>)?.attach;
  if (a?.port instanceof MessagePort) cables.get(a.iface)?.replace(messagePortLink(a.port));
  const p = data as Partial<NetAttach>;
  const pid = p?.process?.pid;
  if (p?.port instanceof MessagePort && Number.isSafeInteger(pid)) {
    const caps = Array.isArray(p.process?.caps) ? p.process.caps.map(String) : [];
    const onRaw = (d: unknown) => processes.raw(pid!, d);
    const memory = Number.isSafeInteger(p.process?.memory) ? p.process!.memory : undefined;
    processes.attach(pid!, caps, portEndpoint(p.port, { onRaw }), memory);
  }
};
const rpc = new RpcPeer(portEndpoint(port, { onRaw }), {
  serve: (body, ctx) => {
    const req = body as NetRequest;
    if (req?.op === "exited" && Number.isSafeInteger(req.pid)) processes.exited(req.pid);
    return serveNet(task, body, ctx);
  },
});
for (const p of problems) rpc.emit(`config: ${p}`);
