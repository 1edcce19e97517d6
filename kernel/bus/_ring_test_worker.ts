// Test worker for ring_endpoint_test.ts: streams seeded messages over a ring endpoint while
// checking the peer's stream, or serves RPC, as the first message from the test says.
import { ringEndpoint, type RingInit } from "./ring_endpoint.ts";
import { RpcPeer } from "./rpc.ts";

/** Commands the test sends. */
export type RingWorkerCommand =
  | { mode: "stream"; ring: RingInit; seed: number; peerSeed: number; n: number }
  | { mode: "serve"; ring: RingInit };

/** Seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const patterns = new Map<number, Uint8Array>();

/** The payload of message `seq` in the stream seeded `seed`: 1 B .. 64 KiB, log-uniform. */
export function payload(seed: number, seq: number): Uint8Array {
  let table = patterns.get(seed);
  if (!table) {
    const r = prng(seed);
    table = new Uint8Array(2 * 65536);
    for (let i = 0; i < table.length; i++) table[i] = (r() * 256) | 0;
    patterns.set(seed, table);
  }
  const r = prng(seed ^ Math.imul(seq + 1, 0x9e3779b1));
  const size = Math.min(65536, Math.floor(Math.exp(r() * Math.log(65536))));
  const at = ((r() * 65536) | 0) & ~3;
  return table.subarray(at, at + Math.max(1, size));
}

/** Stream messages use this window (unacknowledged messages in flight). */
export const WINDOW = 512;

const scope = self as unknown as {
  postMessage(msg: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
};

type StreamMsg = { k: "d"; seq: number; data: Uint8Array } | { k: "ack"; upTo: number };

function stream(cmd: Extract<RingWorkerCommand, { mode: "stream" }>) {
  const ep = ringEndpoint(cmd.ring);
  let sent = 0;
  let acked = 0;
  let received = 0;
  let errors = 0;
  let firstError = "";
  let reported = false;
  const pump = () => {
    while (sent < cmd.n && sent - acked < WINDOW) {
      ep.post({ k: "d", seq: sent, data: payload(cmd.seed, sent) } satisfies StreamMsg);
      sent++;
    }
  };
  const maybeDone = () => {
    if (reported || received < cmd.n || acked < cmd.n) return;
    reported = true;
    scope.postMessage({ received, errors, firstError });
  };
  ep.listen((raw) => {
    const m = raw as StreamMsg;
    if (m.k === "ack") {
      acked = m.upTo;
      pump();
      return maybeDone();
    }
    const want = payload(cmd.peerSeed, received);
    if (m.seq !== received || !equalBytes(m.data, want)) {
      errors++;
      firstError ||= `message ${received}: got seq ${m.seq}, ${m.data?.length} bytes`;
    }
    received++;
    if (received % (WINDOW / 4) === 0 || received === cmd.n) {
      ep.post({ k: "ack", upTo: received } satisfies StreamMsg);
    }
    maybeDone();
  }, () => errors++);
  pump();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || a.length !== b.length) return false;
  const words = a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 ? a.length >> 2 : 0;
  const a32 = new Int32Array(a.buffer, a.byteOffset, words);
  const b32 = new Int32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (a32[i] !== b32[i]) return false;
  for (let i = words * 4; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function serve(cmd: Extract<RingWorkerCommand, { mode: "serve" }>) {
  const ep = ringEndpoint(cmd.ring);
  new RpcPeer(ep, {
    serve: (body) => {
      const b = body as { op: string };
      if (b.op === "close") {
        setTimeout(() => ep.close(), 0);
        return "closing";
      }
      if (b.op === "hang") return new Promise(() => {});
      return body;
    },
  });
  scope.postMessage("ready");
}

if (import.meta.main) {
  scope.onmessage = (e) => {
    const cmd = e.data as RingWorkerCommand;
    switch (cmd.mode) {
      case "stream":
        return stream(cmd);
      case "serve":
        return serve(cmd);
      default: {
        const never: never = cmd;
        throw new Error(`Unknown command ${JSON.stringify(never)}`);
      }
    }
  };
}
