/**
 * Resource limits under flood: each limit holds while a well-behaved peer is still served.
 * Network limits run in one thread under a ManualClock (tests/sim.ts); kernel limits run
 * through real processes (tests/programs/hostile_limits.ts) on a booted system. Heap use is
 * printed before and after each flood.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import { boot } from "../kernel/mod.ts";
import { LOCAL_MAX_DGRAM_QUEUE } from "../kernel/local/local_socket.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import type { InetSocket } from "../netstack/sockets/socket.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { DEFAULT_NEIGHBOUR_OPTIONS } from "../netstack/ip/neighbour_cache.ts";
import { encodeArp } from "../netstack/wire/arp.ts";
import { pseudoHeaderSum4 } from "../netstack/wire/checksum.ts";
import { encodeEthernet } from "../netstack/wire/ethernet.ts";
import type { Ipv4Repr } from "../netstack/wire/ipv4.ts";
import { encodeTcp, TcpFlag } from "../netstack/wire/tcp.ts";
import { Rng } from "./fuzz/rng.ts";
import { Sim } from "./sim.ts";
import { ipv4Datagram } from "./_packets.ts";
import { MAX_INFLIGHT_PER_PROCESS } from "../kernel/local/local_socket.ts";

const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const B_IP = 0x0a000002;
const P = "tests/programs";

function heapMiB(): number {
  return Deno.memoryUsage().heapUsed / (1 << 20);
}

function report(what: string, before: number) {
  console.log(`${what}: heap ${before.toFixed(1)} → ${heapMiB().toFixed(1)} MiB`);
}

function twoHosts() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  return { sim, a, b, ctx: { signal: sim.signal }, iface: b.iface("eth0")! };
}

function ipv4Frame(b: NetworkTask, ip: Partial<Ipv4Repr> & { src: number; payload: Uint8Array }) {
  return encodeEthernet({
    dst: b.iface("eth0")!.mac,
    src: Uint8Array.of(2, 0xee, 0, 0, 0, 1),
    ethertype: 0x0800,
    payload: ipv4Datagram({ dst: B_IP, ...ip }),
  });
}

/** Send `n` bytes from c to s and check they arrive. */
async function exchange(sim: Sim, c: InetSocket, s: InetSocket, n: number) {
  const ctx = { signal: sim.signal };
  const data = new Uint8Array(n).map((_, i) => i & 255);
  await sim.until(c.sendmsg(data, 0, undefined, ctx));
  let got = 0;
  while (got < n) got += (await sim.until(s.recvmsg(65536, 0, ctx))).data.length;
  assert.equal(got, n);
}

// ---- in-thread (netstack) limits ----

Deno.test("UDP receive buffer: a 10,000-datagram flood is dropped and counted, not queued", async () => {
  const { sim, a, b, ctx } = twoHosts();
  const rx = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  rx.bind(in4("0.0.0.0", 7000));
  const tx = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  const before = heapMiB();
  const payload = new Uint8Array(1000);
  for (let i = 0; i < 10_000; i++) {
    await tx.sendmsg(payload, 0, in4("10.0.0.2", 7000), ctx);
    if (i % 100 === 99) await sim.run(1);
  }
  await sim.run(10);
  report("UDP flood", before);
  const queued = rx.queues().recvQ;
  assert.ok(queued <= rx.opts.rcvbuf + 1000, `queued ${queued} > rcvbuf ${rx.opts.rcvbuf}`);
  const drops = b.counters.get("udp: rcvbuf-full") ?? 0;
  assert.ok(drops > 9000, `only ${drops} drops counted`);
  // Drain, then a well-behaved datagram is still delivered.
  let drained = 0;
  while (rx.queues().recvQ > 0) drained += (await rx.recvmsg(2000, 0, ctx)).data.length;
  assert.equal(drained + drops * 1000, 10_000 * 1000, "every datagram was queued or counted");
  await tx.sendmsg(new TextEncoder().encode("hello"), 0, in4("10.0.0.2", 7000), ctx);
  const got = await sim.until(rx.recvmsg(2000, 0, ctx));
  assert.equal(new TextDecoder().decode(got.data), "hello");
});

Deno.test("ARP cache: a flood of random senders stays bounded and resolved neighbours survive", async () => {
  const { sim, a, b, ctx, iface } = twoHosts();
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0);
  l.bind(in4("0.0.0.0", 5001));
  l.listen(8);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0);
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5001), ctx));
  const { socket: s } = await sim.until(accepted);
  const rng = new Rng(7);
  const before = heapMiB();
  for (let i = 0; i < 20_000; i++) {
    const mac = rng.bytes(6);
    mac[0] &= 0xfe;
    const sender = rng.chance(0.5) ? ((0x0a000000 | rng.int(1 << 16)) >>> 0) : rng.u32();
    if (sender === 0x0a000001) continue;
    const arp = encodeArp({
      op: rng.range(1, 2),
      senderMac: mac,
      senderIp: sender,
      targetMac: new Uint8Array(6),
      targetIp: B_IP,
    });
    b.input(iface, encodeEthernet({ dst: iface.mac, src: mac, ethertype: 0x0806, payload: arp }));
    if (i % 1000 === 0) await sim.run(100, 50);
  }
  report("ARP flood", before);
  const table = b.ipv4.neighbourList();
  const max = DEFAULT_NEIGHBOUR_OPTIONS.maxEntries;
  assert.ok(table.length <= max, `ARP table ${table.length} > ${max}`);
  const peer = table.find((e) => e.addr === "10.0.0.1");
  assert.ok(peer?.mac, "the resolved neighbour 10.0.0.1 survived the flood");
  await exchange(sim, s, c, 10_000);
  assert.equal([...b.counters.keys()].filter((k) => k.startsWith("bug")).length, 0);
});

Deno.test("reassembly: a flood of never-completed fragments holds bounded bytes; real ones still reassemble", async () => {
  const { sim, a, b, ctx, iface } = twoHosts();
  const rx = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  rx.bind(in4("0.0.0.0", 7001));
  const rng = new Rng(11);
  const before = heapMiB();
  const r = b.ipv4.reassembly;
  let peak = 0;
  for (let i = 0; i < 20_000; i++) {
    b.input(
      iface,
      ipv4Frame(b, {
        src: (0x0a000000 | rng.int(1 << 16)) >>> 0,
        ident: i & 0xffff,
        moreFragments: true,
        fragmentOffset: rng.int(64) * 8,
        payload: rng.bytes(1400),
      }),
    );
    peak = Math.max(peak, r.bytesHeld);
    assert.ok(r.bytesHeld <= r.opts.maxBytes, `holds ${r.bytesHeld} > ${r.opts.maxBytes}`);
    assert.ok(r.size <= r.opts.maxDatagrams);
  }
  report(`reassembly flood (peak ${peak} bytes held)`, before);
  // A real 4000-byte datagram is fragmented by a and reassembled by b despite the pressure.
  const tx = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  const big = new Uint8Array(4000).map((_, i) => i & 255);
  await sim.until(tx.sendmsg(big, 0, in4("10.0.0.2", 7001), ctx));
  const got = await sim.until(rx.recvmsg(65536, 0, ctx));
  assert.deepEqual(got.data, big);
  await sim.run(31_000, 1000);
  assert.equal(r.bytesHeld, 0, "everything held timed out after 30 s");
});

Deno.test("TCP SYN flood: 10,000 spoofed SYNs keep half-open bounded; a real client connects", async () => {
  const { sim, a, b, ctx, iface } = twoHosts();
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 5001));
  l.listen(128);
  const rng = new Rng(3);
  const before = heapMiB();
  const listener = l.listener!;
  let peak = 0;
  for (let i = 0; i < 10_000; i++) {
    const src = rng.chance(0.5) ? ((0x0a000000 | rng.range(3, 254)) >>> 0) : rng.u32();
    const srcPort = rng.range(1024, 65535);
    const seg = encodeTcp(
      {
        srcPort,
        dstPort: 5001,
        seq: rng.u32(),
        ack: 0,
        flags: TcpFlag.SYN,
        window: 65535,
        urgent: 0,
        options: { mss: 1460 },
        payload: new Uint8Array(0),
      },
      { pseudoSum: pseudoHeaderSum4(src, B_IP, 6, 24) },
    );
    b.input(iface, ipv4Frame(b, { src, protocol: 6, ident: i, payload: seg }));
    peak = Math.max(peak, listener.halfOpen);
    if (i % 500 === 0) await sim.run(20, 5);
  }
  report(`SYN flood (peak ${peak} half-open)`, before);
  assert.ok(peak <= listener.maxHalfOpen, `${peak} half-open > ${listener.maxHalfOpen}`);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0);
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5001), ctx), 120_000);
  const { socket: s } = await sim.until(accepted, 120_000);
  await exchange(sim, c, s, 20_000);
  assert.ok(listener.halfOpen <= listener.maxHalfOpen);
  assert.equal([...b.counters.keys()].filter((k) => k.startsWith("bug")).length, 0);
});

// ---- kernel limits, through real processes ----

async function bootCollecting() {
  const out = new Map<number, string>();
  const sys = await boot({
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(data)),
  });
  const waitFor = async (pid: number, want: string) => {
    const deadline = Date.now() + 20_000;
    while (!(out.get(pid) ?? "").includes(want)) {
      if (Date.now() > deadline) {
        throw new Error(`pid ${pid} never printed ${want}: ${out.get(pid)}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { sys, out, waitFor };
}

/** The three-process handle-passing exchange of tests/kernel_processes_test.ts. */
async function wellBehaved(
  sys: Awaited<ReturnType<typeof boot>>,
  waitFor: (p: number, w: string) => Promise<void>,
  tag: string,
) {
  const b = await sys.start(`${P}/fdpass_server.ts`, [`/run/${tag}b`, "speak"]);
  const c = await sys.start(`${P}/fdpass_server.ts`, [`/run/${tag}c`, "answer"]);
  await waitFor(b, "ready");
  await waitFor(c, "ready");
  const a = await sys.start(`${P}/fdpass_client.ts`, [`/run/${tag}b`, `/run/${tag}c`]);
  const sa = await sys.wait(a);
  if (sa !== 0) {
    // The servers would wait forever for their end: stop them.
    for (const pid of [b, c]) await sys.kill(pid, 9).catch(() => {});
  }
  return [sa, await sys.wait(b), await sys.wait(c)];
}

Deno.test("fds per process: EMFILE at 1024 while other processes are still served", async () => {
  const { sys, out, waitFor } = await bootCollecting();
  try {
    const base = await sys.stats();
    const before = heapMiB();
    const h = await sys.start(`${P}/hostile_limits.ts`, ["fds"]);
    await waitFor(h, "holding");
    assert.match(out.get(h)!, /^fds 1019 EMFILE$/m, "3 stdio + 2 socketpair ends + 1019 = 1024");
    assert.equal((await sys.ps()).find((p) => p.pid === h)?.fds, 1024);
    assert.deepEqual(await wellBehaved(sys, waitFor, "f"), [0, 0, 0]);
    await sys.kill(h, 9);
    await sys.wait(h);
    report("fd flood", before);
    const after = await sys.stats();
    assert.deepEqual({ ...after, localPaths: 0 }, { ...base, localPaths: 0 });
  } finally {
    await sys.shutdown();
  }
});

Deno.test("AF_LOCAL datagrams: a receiver's queue holds at 128, then EAGAIN", async () => {
  const { sys, out, waitFor } = await bootCollecting();
  try {
    const base = await sys.stats();
    const h = await sys.start(`${P}/hostile_limits.ts`, ["dgram", "/run/sink"]);
    await waitFor(h, "holding");
    assert.match(out.get(h)!, new RegExp(`^dgram ${LOCAL_MAX_DGRAM_QUEUE} EAGAIN$`, "m"));
    assert.deepEqual(await wellBehaved(sys, waitFor, "d"), [0, 0, 0]);
    await sys.kill(h, 9);
    await sys.wait(h);
    const after = await sys.stats();
    assert.deepEqual({ ...after, localPaths: 0 }, { ...base, localPaths: 0 });
  } finally {
    await sys.shutdown();
  }
});

Deno.test("SCM_RIGHTS: handles in flight stop at the cap with ENOBUFS and are reclaimed", async () => {
  const { sys, out, waitFor } = await bootCollecting();
  try {
    const base = await sys.stats();
    const h = await sys.start(`${P}/hostile_limits.ts`, ["rights"]);
    await waitFor(h, "holding");
    const m = out.get(h)!.match(/^rights (\d+) (\w+)$/m);
    assert.ok(m, out.get(h));
    assert.equal(m[2], "ENOBUFS");
    const held = (await sys.stats()).inflightHandles;
    assert.equal(held, MAX_INFLIGHT_PER_PROCESS, `in flight ${held}, sent ${m[1]}`);
    assert.equal(Number(m[1]), MAX_INFLIGHT_PER_PROCESS);
    await sys.kill(h, 9);
    await sys.wait(h);
    const after = await sys.stats();
    assert.equal(after.inflightHandles, 0);
    assert.deepEqual({ ...after, localPaths: 0 }, { ...base, localPaths: 0 });
  } finally {
    await sys.shutdown();
  }
});

// The in-flight cap is per sending process (MAX_INFLIGHT_PER_PROCESS), so one process holding
// its whole quota in flight cannot stop another's handle passing.
Deno.test({
  name: "SCM_RIGHTS: another process can still pass handles while one holds the in-flight cap",
  fn: async () => {
    const { sys, waitFor } = await bootCollecting();
    try {
      const h = await sys.start(`${P}/hostile_limits.ts`, ["rights"], { uid: 4242 });
      await waitFor(h, "holding");
      assert.deepEqual(await wellBehaved(sys, waitFor, "r"), [0, 0, 0]);
      await sys.kill(h, 9);
      await sys.wait(h);
    } finally {
      await sys.shutdown();
    }
  },
});
