/**
 * The runtime of every process worker: connect libc to the kernel port (and to its host's
 * netstack, when the kernel handed it a port there), route console output
 * through fd 1/2, wait for the kernel's init message, run the program's default export, then
 * exit with its status. The worker's main module imports this and the program, then calls
 * {@link start}. The first import locks the worker's global scope down before any module of the
 * program runs.
 */
import { started } from "./lockdown.ts";
import { portEndpoint } from "./bus/endpoint.ts";
import type { ProcessInit, ProcessSignal } from "./bus/messages.ts";
import { RpcPeer } from "./bus/rpc.ts";
import { _attachKernel, _attachNet, _deliverSignal, _writeConsole, exit } from "../libc/mod.ts";

/** A client program: a module whose default export is this function. */
export type Program = (args: string[]) => number | void | Promise<number | void>;

let program: Program | undefined;
let init: ProcessInit | undefined;

const { port, extra } = await started;
const net = (extra as { net?: unknown } | undefined)?.net;
if (net instanceof MessagePort) _attachNet(new RpcPeer(portEndpoint(net)), net);
const ep = portEndpoint(port);
const rpc = new RpcPeer(ep, {
  onEvent: (body) => {
    const msg = body as ProcessInit | ProcessSignal;
    if (msg?.kind === "signal") return _deliverSignal(msg.signal);
    if (msg?.kind !== "init" || init) return;
    init = msg;
    maybeRun();
  },
});
_attachKernel(rpc, port);

for (
  const [name, fd] of [["log", 1], ["info", 1], ["debug", 1], ["warn", 2], ["error", 2]] as const
) {
  console[name] = (...args: unknown[]) => _writeConsole(fd, args);
}

/** Register the program to run once the kernel's init message has arrived. */
export function start(main: unknown): void {
  if (typeof main !== "function") {
    _writeConsole(2, ["program has no default export function"]);
    exit(127);
    return;
  }
  program = main as Program;
  maybeRun();
}

async function maybeRun() {
  if (!program || !init) return;
  let status = 0;
  try {
    const r = await program(init.args);
    status = typeof r === "number" && Number.isInteger(r) ? r & 255 : 0;
  } catch (err) {
    _writeConsole(2, [err instanceof Error ? (err.stack ?? err.message) : String(err)]);
    status = 1;
  }
  await exit(status);
}
