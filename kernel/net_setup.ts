/**
 * Starting the network side of a system: one netstack worker per host (with its adapters), each
 * connected to the kernel by its own MessagePort. Until the netstack lands, hosts have no INET
 * sockets and calls get EAFNOSUPPORT.
 */
import type { Kernel } from "./kernel.ts";
import type { WorkerFactory } from "./worker_host.ts";

/** The network part of a boot configuration, as passed to the kernel. */
export interface NetSetup {
  hosts: Array<{ name: string }>;
}

/** Start and attach the netstacks described by `setup`. */
export async function attachNetstacks(
  _kernel: Kernel,
  _setup: NetSetup,
  _factory: WorkerFactory,
): Promise<void> {
}
