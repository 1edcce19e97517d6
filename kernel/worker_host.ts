/**
 * Creating workers. Deno delivers messages from a nested worker to its parent worker late (about
 * 500 ms when the parent is idle, measured here), so every worker is created by the main thread,
 * and the kernel asks for them: it hands a MessagePort to the new worker through the main thread,
 * after which the two talk directly and the main thread is out of the path.
 */
import { checkProgram } from "./module_check.ts";

/** What worker to start, with which Deno permissions. */
export interface WorkerSpec {
  /** Shown in stack traces and crash reports. */
  name: string;
  /** Module URL (file: or data:). */
  url: string;
  /** Deno permissions; "none" for client processes. */
  permissions: "none" | "inherit" | Record<string, unknown>;
  /**
   * A program's module URL to check first (kernel/module_check.ts): the worker starts only if
   * every module it loads at start is allowed, else `onError` gets why, with status 126.
   */
  check?: string;
}

/** A started worker. */
export interface WorkerHandle {
  terminate(): void;
}

/** Start-up data beyond the bus port: structured-cloned, with ports/buffers to transfer. */
export interface WorkerExtra {
  data: unknown;
  transfer: Transferable[];
}

/** Starts workers; the first message each gets is `{ port, extra }`: its bus port and start-up data. */
export interface WorkerFactory {
  create(
    spec: WorkerSpec,
    port: MessagePort,
    onError: (message: string, status?: number) => void,
    extra?: WorkerExtra,
  ): WorkerHandle;
}

/** Creates workers in this thread (the main thread), checking programs' code first. */
export class DirectWorkerFactory implements WorkerFactory {
  create(
    spec: WorkerSpec,
    port: MessagePort,
    onError: (message: string, status?: number) => void,
    extra?: WorkerExtra,
  ): WorkerHandle {
    let w: Worker | undefined;
    let dead = false;
    const start = () => {
      if (dead) return;
      w = new Worker(spec.url, {
        type: "module",
        name: spec.name,
        deno: { permissions: spec.permissions as Deno.PermissionOptions },
      });
      w.onerror = (e) => {
        e.preventDefault();
        if (!dead) onError(`${spec.name}: ${e.message}`);
      };
      w.onmessageerror = () => onError(`${spec.name}: undeliverable message`);
      w.postMessage({ port, extra: extra?.data }, [port, ...(extra?.transfer ?? [])]);
    };
    if (spec.check === undefined) start();
    else {
      checkProgram(spec.check).then(start, (err) => {
        port.close();
        for (const t of extra?.transfer ?? []) if (t instanceof MessagePort) t.close();
        // Like a shell's "cannot execute": status 126.
        if (!dead) onError(err instanceof Error ? err.message : String(err), 126);
      });
    }
    return {
      terminate: () => {
        dead = true;
        w?.terminate();
      },
    };
  }
}

/** Requests between the kernel worker and the main thread about workers (structured clone). */
export type WorkerHostMessage =
  | { wh: "create"; id: number; spec: WorkerSpec; port: MessagePort; extra?: WorkerExtra }
  | { wh: "terminate"; id: number }
  | { wh: "error"; id: number; message: string; status?: number };

/** Inside the kernel worker: asks the main thread to create workers. */
export class RelayWorkerFactory implements WorkerFactory {
  #nextId = 1;
  #errors = new Map<number, (message: string, status?: number) => void>();

  constructor(readonly post: (msg: WorkerHostMessage, transfer: Transferable[]) => void) {}

  create(
    spec: WorkerSpec,
    port: MessagePort,
    onError: (message: string, status?: number) => void,
    extra?: WorkerExtra,
  ): WorkerHandle {
    const id = this.#nextId++;
    this.#errors.set(id, onError);
    this.post({ wh: "create", id, spec, port, extra }, [port, ...(extra?.transfer ?? [])]);
    return {
      terminate: () => {
        if (!this.#errors.delete(id)) return;
        this.post({ wh: "terminate", id }, []);
      },
    };
  }

  /** Feed a message from the main thread; returns false if it was not for us. */
  receive(msg: unknown): boolean {
    const m = msg as WorkerHostMessage;
    if (m?.wh !== "error") return false;
    this.#errors.get(m.id)?.(m.message, m.status);
    return true;
  }
}

/** On the main thread: serve worker requests coming from the kernel worker. */
export class WorkerHost {
  #workers = new Map<number, WorkerHandle>();
  #direct = new DirectWorkerFactory();

  constructor(readonly reply: (msg: WorkerHostMessage) => void) {}

  /** Handle one message; returns false if it was not a worker-host message. */
  receive(msg: unknown): boolean {
    const m = msg as WorkerHostMessage;
    switch (m?.wh) {
      case "create": {
        const h = this.#direct.create(m.spec, m.port, (message, status) => {
          this.reply({ wh: "error", id: m.id, message, status });
        }, m.extra);
        this.#workers.set(m.id, h);
        return true;
      }
      case "terminate":
        this.#workers.get(m.id)?.terminate();
        this.#workers.delete(m.id);
        return true;
      case "error":
        return true;
      default:
        return false;
    }
  }

  /** Number of live workers. */
  get size(): number {
    return this.#workers.size;
  }

  /** Terminate everything. */
  terminateAll(): void {
    for (const h of this.#workers.values()) h.terminate();
    this.#workers.clear();
  }
}
