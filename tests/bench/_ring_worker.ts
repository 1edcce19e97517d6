// Peer for tests/bench/ring.ts: serves echo RPC or sinks a stream, over a ring endpoint or a
// MessagePort, once per setup message.
import { ringEndpoint, type RingInit } from "../../kernel/bus/ring_endpoint.ts";
import { type Endpoint, portEndpoint } from "../../kernel/bus/endpoint.ts";
import { RpcPeer } from "../../kernel/bus/rpc.ts";
import { ByteRing, type RingRecord } from "../../kernel/bus/ring.ts";

/** One benchmark setup: the transport and what to do on it. */
export interface RingBenchSetup {
  mode: "echo" | "sink" | "raw";
  /** raw: a bare ByteRing to drain `count` records from, then post "done" to the parent. */
  raw?: SharedArrayBuffer;
  count?: number;
  ring?: RingInit;
  port?: MessagePort;
  /** sink: acknowledge every this many messages. */
  ackEvery?: number;
}

const scope = self as unknown as {
  postMessage(msg: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

async function drainRaw(sab: SharedArrayBuffer, count: number) {
  const ring = new ByteRing(sab);
  const out: RingRecord[] = [];
  let n = 0;
  while (n < count) {
    out.length = 0;
    n += ring.drain(out);
    if (out.length > 0) continue;
    const token = ring.armData();
    if (token !== undefined) await ring.waitData(token);
  }
  scope.postMessage("done");
}

scope.onmessage = (e) => {
  const s = e.data as RingBenchSetup;
  if (s.mode === "raw") return void drainRaw(s.raw!, s.count!);
  const ep: Endpoint = s.ring ? ringEndpoint(s.ring) : portEndpoint(s.port!);
  if (s.mode === "echo") {
    new RpcPeer(ep, { serve: (body) => body });
    return;
  }
  let n = 0;
  const every = s.ackEvery ?? 1000;
  ep.listen(() => {
    if (++n % every === 0) ep.post(n);
  });
};
