/**
 * Starts each process as a Deno Worker with no permissions at all: its bus port is its world.
 * The program's code is checked first, by the thread that creates the worker
 * (kernel/module_check.ts): Deno loads a worker's static
 * imports with its creator's permissions, so nothing outside Serin's tree and the program's own
 * directory may be among them.
 */
import { portEndpoint } from "./bus/endpoint.ts";
import type { ProcessInit } from "./bus/messages.ts";
import type { ProcessRuntime, Spawner } from "./process.ts";
import type { WorkerFactory } from "./worker_host.ts";

/** The {@link Spawner} used outside tests: one permission-less Worker per process. */
export class WorkerSpawner implements Spawner {
  readonly netPorts = true;
  constructor(readonly factory: WorkerFactory) {}

  start(
    init: ProcessInit,
    onCrash: (message: string, status?: number) => void,
    net?: MessagePort,
  ): ProcessRuntime {
    // The program is a static import of the worker's main module: loading it needs no
    // permission inside the worker, while a dynamic import there would need read access.
    const main = new URL("./process_main.ts", import.meta.url).href;
    const src = `import { start } from ${JSON.stringify(main)};\n` +
      `import program from ${JSON.stringify(init.module)};\nstart(program);\n`;
    const ch = new MessageChannel();
    const handle = this.factory.create(
      {
        name: `pid ${init.pid}`,
        url: `data:application/javascript,${encodeURIComponent(src)}`,
        permissions: "none",
        check: init.module,
      },
      ch.port2,
      onCrash,
      net ? { data: { net }, transfer: [net] } : undefined,
    );
    return {
      endpoint: portEndpoint(ch.port1),
      terminate: () => handle.terminate(),
    };
  }
}
