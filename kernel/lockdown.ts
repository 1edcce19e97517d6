/**
 * The first thing a process worker runs, before any of the program's own modules: it takes the
 * creator's start message, then removes from the worker's global scope everything that reaches
 * past the kernel without a permission check. A Worker with no Deno permissions still has the
 * terminal (Deno.std*, process.std*), signal listeners, a disk cache (caches), channels to other
 * workers (BroadcastChannel, navigator.locks, nested Workers, postMessage to the main thread),
 * the runtime's internals (Deno[Deno.internal].core) and ways to end the worker behind the
 * kernel's back (Deno.exit, process.exit, close). What is left is the language, timers, crypto,
 * encoding and streams; the README's "Security" section lists what goes and why.
 *
 * Code from strings (eval, the Function constructors, string timers) is disabled too: it could
 * write an `import()` the kernel's check never saw. A program that still calls `Deno.exit`,
 * `process.exit` or `close()` exits through the kernel, like a call to libc's exit.
 */
import { _exitNow } from "../libc/mod.ts";
import { receiveStart } from "./worker_port.ts";

/** The bus port and start-up data the creator sends first, taken before the scope is locked. */
export const started: Promise<{ port: MessagePort; extra: unknown }> = receiveStart();

/** Globals a process must not have. */
export const REMOVED_GLOBALS = [
  "BroadcastChannel",
  "Worker",
  "SharedWorker",
  "caches",
  "CacheStorage",
  "Cache",
  "LockManager",
  "Lock",
  "fetch",
  "WebSocket",
  "WebSocketStream",
  "EventSource",
  "postMessage",
  "onmessage",
  "process",
  "eval",
] as const;

/** Members of Node's `process` object (shared with `node:process`) that are taken away. */
const PROCESS_REMOVED = [
  "stdin",
  "stdout",
  "stderr",
  "openStdin",
  "_rawDebug",
  "abort",
  "reallyExit",
  "kill",
  "_kill",
  "binding",
  "dlopen",
  "send",
  "disconnect",
  "chdir",
  "getBuiltinModule",
  "_eval",
  "loadEnvFile",
  "setUncaughtExceptionCaptureCallback",
] as const;

/** The members of `Deno` a process keeps: none of them reaches outside the worker. */
const DENO_KEPT = ["version", "build", "errors", "inspect", "noColor"] as const;

/** End the process through the kernel, then stop this thread until the kernel ends the worker. */
function reap(status: unknown): never {
  const code = typeof status === "number" && Number.isInteger(status) ? status & 255 : 0;
  _exitNow(code);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  throw new Error("unreachable");
}

function refuseCode(): never {
  throw new EvalError("Code from strings is disabled in Serin processes");
}

function define(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: false, configurable: false });
}

/** Remove `key` wherever it is found on `target`'s prototype chain. */
function removeEverywhere(target: object, key: PropertyKey): void {
  for (let o: object | null = target; o; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, key)) {
      delete (o as Record<PropertyKey, unknown>)[key];
    }
  }
}

function lockDown(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const proc = g.process as Record<string, unknown> | undefined;
  if (proc) {
    for (const k of PROCESS_REMOVED) define(proc, k, undefined);
    define(proc, "exit", reap);
    // Signal listeners (SIGINT, SIGTERM…) would let a program ignore the system's own.
    const on = proc.on as (...a: unknown[]) => unknown;
    for (const k of ["on", "addListener", "once", "prependListener", "prependOnceListener"]) {
      const orig = proc[k] as (...a: unknown[]) => unknown;
      define(proc, k, function (this: unknown, event: unknown, ...rest: unknown[]) {
        if (typeof event === "string" && event.startsWith("SIG")) {
          throw new TypeError("Signal listeners are not available: use libc's signal()");
        }
        return (orig ?? on).call(this, event, ...rest);
      });
    }
  }
  const deno = g.Deno as Record<string, unknown>;
  const safe: Record<string, unknown> = { args: Object.freeze([]), exit: reap };
  for (const k of DENO_KEPT) safe[k] = deno[k];
  Object.defineProperty(globalThis, "Deno", {
    value: Object.freeze(safe),
    writable: false,
    configurable: false,
    enumerable: true,
  });
  for (const k of REMOVED_GLOBALS) removeEverywhere(globalThis, k);
  removeEverywhere(globalThis, "close");
  define(globalThis, "close", () => reap(0));
  const nav = g.navigator as object | undefined;
  if (nav) { for (const k of ["locks", "gpu"]) removeEverywhere(nav, k); }
  // No code from strings: Function constructors (reachable from any function) and string timers.
  const ctors = [
    Function,
    Object.getPrototypeOf(async function () {}).constructor,
    Object.getPrototypeOf(function* () {}).constructor,
    Object.getPrototypeOf(async function* () {}).constructor,
  ] as Array<{ prototype: object }>;
  for (const ctor of ctors) {
    const stub = function () {
      refuseCode();
    };
    stub.prototype = ctor.prototype;
    define(ctor.prototype, "constructor", stub);
    if (ctor === Function) {
      Object.defineProperty(globalThis, "Function", { value: stub, configurable: false });
    }
  }
  for (const name of ["setTimeout", "setInterval"]) {
    const orig = g[name] as (...a: unknown[]) => unknown;
    define(globalThis, name, (fn: unknown, ...rest: unknown[]) => {
      if (typeof fn !== "function") refuseCode();
      return orig(fn, ...rest);
    });
  }
}

lockDown();
