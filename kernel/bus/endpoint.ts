/**
 * The minimal transport every component speaks through: post a message, listen for messages,
 * learn when the other side is gone. Implementations: a MessagePort or Worker carrying CBOR
 * ({@link portEndpoint}) and an in-thread pair for tests and simulation ({@link localPair}).
 */
import { decodeMessage, encodeMessage } from "./codec.ts";

/** One end of a bidirectional message channel. */
export interface Endpoint {
  /** Send a message; silently dropped once closed. */
  post(msg: unknown): void;
  /** Set the handler for incoming messages; `bad` gets undecodable input (never throws). */
  listen(handler: (msg: unknown) => void, bad?: (err: unknown) => void): void;
  /** Set the handler called once when either side closes. */
  onClose(handler: () => void): void;
  /** Close this end and tell the other side. */
  close(): void;
  /** True once closed. */
  readonly closed: boolean;
}

/** Anything with postMessage/onmessage: a MessagePort, a Worker, or a worker's `self`. */
export interface PortLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  close?: () => void;
}

const BYE = "__bye__";

/** Options of {@link portEndpoint}. */
export interface PortEndpointOptions {
  /**
   * Receives structured-clone messages that are not CBOR (objects carrying transferred
   * MessagePorts or SharedArrayBuffers, which CBOR cannot carry). Without it they count as bad.
   */
  onRaw?: (data: unknown) => void;
}

/** Wrap a MessagePort/Worker/self as an Endpoint that carries CBOR-encoded messages. */
export function portEndpoint(port: PortLike, opts: PortEndpointOptions = {}): Endpoint {
  let handler: ((msg: unknown) => void) | undefined;
  let badHandler: ((err: unknown) => void) | undefined;
  const early: unknown[] = [];
  const closers: Array<() => void> = [];
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    port.onmessage = null;
    for (const c of closers.splice(0)) c();
  };
  port.onmessage = (ev: MessageEvent) => {
    if (ev.data === BYE) {
      finish();
      port.close?.();
      return;
    }
    if (!(ev.data instanceof ArrayBuffer)) {
      // Only a transferred ArrayBuffer is ours alone. Anything else (a SharedArrayBuffer above
      // all: its sender could rewrite a message after posting it) is raw or refused.
      if (opts.onRaw) opts.onRaw(ev.data);
      else badHandler?.(new TypeError("Message is not a transferred ArrayBuffer"));
      return;
    }
    let msg: unknown;
    try {
      msg = decodeMessage(ev.data as ArrayBuffer, true); // transferred to us: ours alone
    } catch (err) {
      badHandler?.(err);
      return;
    }
    if (handler) handler(msg);
    else early.push(msg);
  };
  return {
    post(msg) {
      if (closed) return;
      const buf = encodeMessage(msg);
      port.postMessage(buf, [buf]);
    },
    listen(h, bad) {
      handler = h;
      badHandler = bad;
      for (const m of early.splice(0)) h(m);
    },
    onClose(h) {
      if (closed) h();
      else closers.push(h);
    },
    close() {
      if (closed) return;
      try {
        port.postMessage(BYE, []);
      } catch {
        // The other side is already gone.
      }
      finish();
      port.close?.();
    },
    get closed() {
      return closed;
    },
  };
}

/**
 * Two connected endpoints in one thread. Messages go through CBOR like the real thing and are
 * delivered on a microtask, never synchronously inside `post`.
 */
export function localPair(): [Endpoint, Endpoint] {
  const make = () => ({
    handler: undefined as ((m: unknown) => void) | undefined,
    early: [] as unknown[],
    closers: [] as Array<() => void>,
    closed: false,
  });
  const sides = [make(), make()];
  const end = (me: number): Endpoint => {
    const self = sides[me];
    const other = sides[1 - me];
    const finish = () => {
      for (const s of sides) {
        if (s.closed) continue;
        s.closed = true;
        for (const c of s.closers.splice(0)) c();
      }
    };
    return {
      post(msg) {
        if (self.closed) return;
        const bytes = encodeMessage(msg);
        queueMicrotask(() => {
          if (other.closed) return;
          const m = decodeMessage(bytes, true);
          if (other.handler) other.handler(m);
          else other.early.push(m);
        });
      },
      listen(h) {
        self.handler = h;
        for (const m of self.early.splice(0)) h(m);
      },
      onClose(h) {
        if (self.closed) h();
        else self.closers.push(h);
      },
      close() {
        queueMicrotask(finish);
        self.closed = true;
        for (const c of self.closers.splice(0)) c();
      },
      get closed() {
        return self.closed;
      },
    };
  };
  return [end(0), end(1)];
}
