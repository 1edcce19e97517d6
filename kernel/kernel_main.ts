/**
 * The kernel worker's entry point: serve control requests from the boot code over its bus port,
 * report output and exits as events, and ask the main thread to create the workers it needs.
 */
import { portEndpoint } from "./bus/endpoint.ts";
import { RpcPeer } from "./bus/rpc.ts";
import { RealClock } from "./clock.ts";
import { Kernel } from "./kernel.ts";
import { resolveProgram } from "./programs.ts";
import { WorkerSpawner } from "./worker_spawner.ts";
import { attachNetstacks, type NetSetup } from "./net_setup.ts";
import { RelayWorkerFactory, type WorkerHostMessage } from "./worker_host.ts";
import { receivePort, workerScope } from "./worker_port.ts";
import { setMemoryCap } from "./memory_cap.ts";

const factory = new RelayWorkerFactory((msg: WorkerHostMessage, transfer: Transferable[]) =>
  workerScope.postMessage(msg, transfer)
);
const ep = portEndpoint(await receivePort((data) => factory.receive(data)));
let kernel: Kernel | undefined;
const rpc: RpcPeer = new RpcPeer(ep, {
  serve: async (body) => {
    const b = body as {
      op?: string;
      setup?: NetSetup;
      cwd?: string;
      limits?: { processLimit?: number; processMemory?: number; memoryCap?: number };
    };
    if (b?.op === "boot") {
      if (kernel) throw new Error("kernel already booted");
      if (b.limits?.memoryCap !== undefined) setMemoryCap(b.limits.memoryCap);
      kernel = new Kernel({
        processLimit: b.limits?.processLimit,
        processMemory: b.limits?.processMemory,
        clock: new RealClock(),
        spawner: new WorkerSpawner(factory),
        emit: (ev) => rpc.emit(ev),
        resolveProgram: (name, fromProcess) => resolveProgram(name, b.cwd, fromProcess),
      });
      if (b.setup) await attachNetstacks(kernel, b.setup, factory, kernel.drivers);
      return null;
    }
    if (!kernel) throw new Error("kernel not booted");
    return await kernel.control(body);
  },
});
ep.onClose(() => kernel?.shutdown());
