// Reference for the syscall benchmark: a worker that echoes whatever arrives on its port.
const scope = self as unknown as { onmessage: ((e: MessageEvent) => void) | null };
scope.onmessage = (e) => {
  const port = (e.data as { port: MessagePort }).port;
  port.onmessage = (m) => port.postMessage(m.data);
};
