/**
 * Syscall round trip: a trivial getsockopt from a process to the kernel worker and back, and one
 * on an INET socket to the netstack over the process's direct port, next to a bare postMessage
 * round trip between two workers measured in the same run.
 */
import { boot } from "../../kernel/mod.ts";
import { encodeMessage } from "../../kernel/bus/codec.ts";
import { percentile, report } from "./_stats.ts";

/** Run the benchmark and print its table and JSON line. */
export async function benchSyscall(n = 20000): Promise<void> {
  let out = "";
  const sys = await boot({ output: (_p, _fd, d) => (out += new TextDecoder().decode(d)) });
  const status = await sys.spawn("tests/bench/syscall_prog.ts", [String(n)]);
  await sys.shutdown();
  if (status !== 0) throw new Error(`syscall benchmark failed: ${out}`);
  const { kernel: times, direct } = JSON.parse(out) as { kernel: number[]; direct: number[] };

  const w = new Worker(new URL("./_echo_worker.ts", import.meta.url), { type: "module" });
  const ch = new MessageChannel();
  w.postMessage({ port: ch.port2 }, [ch.port2]);
  const rtts: number[] = [];
  const msg = encodeMessage({
    t: "req",
    id: 1,
    body: { op: "getsockopt", fd: 3, level: 1, name: 3 },
  });
  for (let i = 0; i < n + 2000; i++) {
    const t = performance.now();
    const copy = msg.slice(0);
    ch.port1.postMessage(copy, [copy]);
    await new Promise((r) => (ch.port1.onmessage = r));
    if (i >= 2000) rtts.push(performance.now() - t);
  }
  w.terminate();
  ch.port1.close();
  const us = (ms: number) => ms * 1000;
  report("syscall round trip", [
    { name: "getsockopt p50", value: us(percentile(times, 50)), unit: "µs" },
    { name: "getsockopt p99", value: us(percentile(times, 99)), unit: "µs" },
    { name: "INET getsockopt, direct port p50", value: us(percentile(direct, 50)), unit: "µs" },
    { name: "INET getsockopt, direct port p99", value: us(percentile(direct, 99)), unit: "µs" },
    {
      name: "postMessage p50",
      value: us(percentile(rtts, 50)),
      unit: "µs",
      reference: "worker echo, same run",
    },
    {
      name: "postMessage p99",
      value: us(percentile(rtts, 99)),
      unit: "µs",
      reference: "worker echo, same run",
    },
  ]);
}

if (import.meta.main) await benchSyscall();
