/** Inside a worker: the bus port the creator sends as the first message (`{ port }`). */

/** The worker global scope, typed for what Serin uses of it. */
export const workerScope = self as unknown as {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

/** Resolve with the bus port; later messages on `self` go to `rest`. */
export function receivePort(rest?: (data: unknown) => void): Promise<MessagePort> {
  return new Promise((resolve) => {
    let got = false;
    workerScope.onmessage = (e: MessageEvent) => {
      const port = (e.data as { port?: unknown })?.port;
      if (!got && port instanceof MessagePort) {
        got = true;
        resolve(port);
        return;
      }
      rest?.(e.data);
    };
  });
}
