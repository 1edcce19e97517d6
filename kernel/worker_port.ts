/** Inside a worker: the bus port the creator sends as the first message (`{ port }`). */

/** The worker global scope, typed for what Serin uses of it. */
export const workerScope = self as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

/** Resolve with the bus port; later messages on `self` go to `rest`. */
export async function receivePort(rest?: (data: unknown) => void): Promise<MessagePort> {
  return (await receiveStart(rest)).port;
}

/** Resolve with the bus port and the start-up data sent with it. */
export function receiveStart(
  rest?: (data: unknown) => void,
): Promise<{ port: MessagePort; extra: unknown }> {
  return new Promise((resolve) => {
    let got = false;
    workerScope.onmessage = (e: MessageEvent) => {
      const { port, extra } = (e.data ?? {}) as { port?: unknown; extra?: unknown };
      if (!got && port instanceof MessagePort) {
        got = true;
        resolve({ port, extra });
        return;
      }
      rest?.(e.data);
    };
  });
}
