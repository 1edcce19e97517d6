/**
 * Ring transport: RPC request/reply round trips over `ringEndpoint` (for several spin lengths)
 * next to the same over `portEndpoint`, one-way throughput of 1500-byte messages on both, and
 * the CPU an idle ring pair burns, all measured in one run between this thread and a worker.
 */
import {
  createRingChannel,
  DEFAULT_SPIN_US,
  ringEndpoint,
} from "../../kernel/bus/ring_endpoint.ts";
import { type Endpoint, portEndpoint } from "../../kernel/bus/endpoint.ts";
import { RpcPeer } from "../../kernel/bus/rpc.ts";
import process from "node:process";
import { allocRing, ByteRing } from "../../kernel/bus/ring.ts";
import { percentile, report, type Row } from "./_stats.ts";
import type { RingBenchSetup } from "./_ring_worker.ts";

type Transport = {
  ep: Endpoint;
  setup: (mode: RingBenchSetup["mode"]) => RingBenchSetup;
  transfer: Transferable[];
};

function ringTransport(spinUs: number, alwaysSpin = false): Transport {
  const { a, b } = createRingChannel({ spinUs, alwaysSpin });
  return { ep: ringEndpoint(a), setup: (mode) => ({ mode, ring: b }), transfer: [] };
}

function portTransport(): Transport {
  const ch = new MessageChannel();
  return {
    ep: portEndpoint(ch.port1),
    setup: (mode) => ({ mode, port: ch.port2 }),
    transfer: [ch.port2],
  };
}

async function roundTrips(w: Worker, t: Transport, n: number): Promise<number[]> {
  w.postMessage(t.setup("echo"), t.transfer);
  const peer = new RpcPeer(t.ep);
  const body = { op: "getsockopt", fd: 3, level: 1, name: 3 };
  const times: number[] = [];
  for (let i = 0; i < n + n / 5; i++) {
    const start = performance.now();
    await peer.call(body);
    if (i >= n / 5) times.push((performance.now() - start) * 1000);
  }
  peer.close();
  return times;
}

async function throughput(w: Worker, t: Transport, n: number): Promise<number> {
  const ackEvery = 1000;
  w.postMessage({ ...t.setup("sink"), ackEvery }, t.transfer);
  let acked = 0;
  let wake: (() => void) | undefined;
  t.ep.listen((m) => {
    acked = m as number;
    wake?.();
  });
  const msg = { data: new Uint8Array(1500) };
  const start = performance.now();
  let sent = 0;
  while (acked < n) {
    while (sent < n && sent - acked < 16 * ackEvery) {
      t.ep.post(msg);
      sent++;
    }
    await new Promise<void>((r) => (wake = r));
  }
  const secs = (performance.now() - start) / 1000;
  t.ep.close();
  return n / secs;
}

async function rawThroughput(w: Worker, n: number): Promise<number> {
  const sab = allocRing();
  const ring = new ByteRing(sab);
  const done = new Promise((r) => (w.onmessage = r));
  w.postMessage({ mode: "raw", raw: sab, count: n } satisfies RingBenchSetup);
  const frame = new Uint8Array(1500);
  const start = performance.now();
  for (let i = 0; i < n;) {
    if (ring.tryWrite(frame)) {
      i++;
      continue;
    }
    const token = ring.armSpace(() => ring.fits(frame.length));
    if (token !== undefined) await ring.waitSpace(token);
  }
  await done;
  w.onmessage = null;
  return n / ((performance.now() - start) / 1000);
}

async function idleCpuMs(w: Worker): Promise<number> {
  const t = ringTransport(DEFAULT_SPIN_US);
  w.postMessage(t.setup("echo"), t.transfer);
  const peer = new RpcPeer(t.ep);
  await peer.call("warm");
  await new Promise((r) => setTimeout(r, 50));
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 1000));
  const after = process.cpuUsage();
  peer.close();
  return (after.user - before.user + after.system - before.system) / 1000;
}

/** Run the benchmark and print its table and JSON line. */
export async function benchRing(n = 10000): Promise<void> {
  const w = new Worker(new URL("./_ring_worker.ts", import.meta.url), { type: "module" });
  const rows: Row[] = [];
  const us = "µs";
  const spins: Array<[number, boolean]> = [[0, false], [5, false], [20, false], [50, false]];
  spins.push([5, true], [20, true], [50, true]);
  for (const [spin, always] of spins) {
    const ts = await roundTrips(w, ringTransport(spin, always), n);
    const label = spin === 0 ? "no spin" : `spin ${spin} µs${always ? " always" : ""}`;
    rows.push({ name: `ring rpc p50 (${label})`, value: percentile(ts, 50), unit: us });
    rows.push({ name: `ring rpc p99 (${label})`, value: percentile(ts, 99), unit: us });
  }
  const pts = await roundTrips(w, portTransport(), n);
  const ref = "portEndpoint, same run";
  rows.push({ name: "port rpc p50", value: percentile(pts, 50), unit: us, reference: ref });
  rows.push({ name: "port rpc p99", value: percentile(pts, 99), unit: us, reference: ref });
  const m = 100000;
  rows.push({
    name: "ring 1500 B one way",
    value: await throughput(w, ringTransport(DEFAULT_SPIN_US), m),
    unit: "msg/s",
  });
  rows.push({
    name: "port 1500 B one way",
    value: await throughput(w, portTransport(), m),
    unit: "msg/s",
    reference: ref,
  });
  rows.push({
    name: "bare ByteRing 1500 B one way",
    value: await rawThroughput(w, 1000000),
    unit: "msg/s",
    reference: "no CBOR, no Endpoint",
  });
  rows.push({ name: "idle ring pair, 1 s", value: await idleCpuMs(w), unit: "ms CPU" });
  w.terminate();
  report("ring transport", rows);
}

if (import.meta.main) await benchRing();
