/** TCP sockets between simulated hosts under a manual clock. */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import type { ErrnoError } from "../kernel/errno.ts";
import { Sim } from "../tests/sim.ts";
import type { TcpSocket } from "./sockets/tcp_socket.ts";
import { withFaults } from "../drivers/link/faults.ts";

const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });

function setup(wrapSpec?: string) {
  const sim = new Sim();
  const wrap = wrapSpec
    ? (p: Parameters<typeof withFaults>[0]) => withFaults(p, wrapSpec, sim.clock)
    : undefined;
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] }, { wrap });
  return { sim, a, b, ctx: { signal: sim.signal } };
}

async function sha(d: Uint8Array): Promise<string> {
  return Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", d.slice())),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

async function transfer(wrapSpec: string | undefined, size: number, reverse = false) {
  const { sim, a, b, ctx } = setup(wrapSpec);
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 5001));
  l.listen(8);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5001), ctx));
  const { socket: s, addr } = await sim.until(accepted);
  assert.deepEqual(addr, in4("10.0.0.1", c.localPort));
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 9)) & 255;
  const [tx, rx] = reverse ? [s as TcpSocket, c] : [c, s as TcpSocket];
  const t0 = sim.clock.now();
  const sending = (async () => {
    let off = 0;
    while (off < size) off += await tx.sendmsg(data.subarray(off, off + 65536), 0, undefined, ctx);
    tx.shutdown(abi.SHUT_WR);
  })();
  const received: Uint8Array[] = [];
  let total = 0;
  const receiving = (async () => {
    for (;;) {
      const r = await rx.recvmsg(65536, 0, ctx);
      if (r.data.length === 0) break;
      received.push(r.data);
      total += r.data.length;
    }
  })();
  await sim.until(Promise.all([sending, receiving]), 600_000);
  const got = new Uint8Array(total);
  let o = 0;
  for (const p of received) {
    got.set(p, o);
    o += p.length;
  }
  assert.equal(total, size);
  assert.equal(await sha(got), await sha(data));
  const goodputMbit = (size * 8) / ((sim.clock.now() - t0) * 1000);
  return { sim, a, b, c, s: s as TcpSocket, ctx, goodputMbit, tx };
}

Deno.test("TCP: connect, accept, 1 MB one way byte-identical, FIN, then both sides close", async () => {
  const { sim, a, b, c, s, ctx } = await transfer(undefined, 1 << 20);
  const info = c.getsockopt(abi.IPPROTO_TCP, abi.TCP_INFO) as {
    state: string;
    retransmits: number;
  };
  assert.equal(info.state, "FIN-WAIT-2");
  assert.equal(info.retransmits, 0);
  s.release();
  c.release();
  await sim.run(100);
  assert.equal(c.stateName(), "TIME_WAIT");
  await sim.run(61_000);
  assert.equal(a.ipv4.tcp && (a.ipv4.tcp as unknown as { connections: number }).connections, 0);
  assert.equal((b.ipv4.tcp as unknown as { connections: number }).connections, 0);
  void ctx;
});

const IMPAIRED = "loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=10ms,seed=7";

for (const reverse of [false, true]) {
  Deno.test(`TCP: 20 MB ${reverse ? "server to client" : "client to server"} over a 5% loss, 1% dup, 5% reorder, 0.1% corrupt, 10 ms link`, async () => {
    const { tx, goodputMbit } = await transfer(IMPAIRED, 20 << 20, reverse);
    const info = tx.getsockopt(abi.IPPROTO_TCP, abi.TCP_INFO) as { retransmits: number };
    assert.ok(info.retransmits > 0);
    console.log(
      `  goodput ${goodputMbit.toFixed(1)} Mbit/s of virtual time, ${info.retransmits} retransmits`,
    );
  });
}

Deno.test("TCP: connecting to a closed port is refused (RST)", async () => {
  const { sim, a, ctx } = setup();
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await assert.rejects(
    sim.until(c.connect(in4("10.0.0.2", 81), ctx)),
    (e: ErrnoError) => e.code === "ECONNREFUSED",
  );
});

Deno.test("TCP: after a refused connect the same socket can connect again (as on Linux)", async () => {
  const { sim, a, b, ctx } = setup();
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await assert.rejects(
    sim.until(c.connect(in4("10.0.0.2", 5002), ctx)),
    (e: ErrnoError) => e.code === "ECONNREFUSED",
  );
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 5002));
  l.listen(1);
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5002), ctx));
  const { addr } = await sim.until(accepted);
  assert.deepEqual(addr, in4("10.0.0.1", c.localPort));
});

Deno.test("TCP: nonblocking connect returns EINPROGRESS, then becomes writable", async () => {
  const { sim, a, b, ctx } = setup();
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 80));
  l.listen(1);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  c.nonblock = true;
  await assert.rejects(
    c.connect(in4("10.0.0.2", 80), ctx),
    (e: ErrnoError) => e.code === "EINPROGRESS",
  );
  assert.equal(c.readiness() & abi.POLLOUT, 0);
  await sim.run(10);
  assert.equal(c.readiness() & abi.POLLOUT, abi.POLLOUT);
  assert.equal(c.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), 0);
  assert.equal(l.readiness() & abi.POLLIN, abi.POLLIN);
});

Deno.test("TCP: bind conflicts give EADDRINUSE unless SO_REUSEADDR on both", () => {
  const { a } = setup();
  const x = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  x.bind(in4("0.0.0.0", 8080));
  const y = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  assert.throws(() => y.bind(in4("0.0.0.0", 8080)), (e: ErrnoError) => e.code === "EADDRINUSE");
  assert.throws(() => y.bind(in4("10.9.9.9", 8081)), (e: ErrnoError) => e.code === "EADDRNOTAVAIL");
});

Deno.test("TCP: a smaller MTU behind a router (ICMP fragmentation needed) lowers the MSS and the transfer completes", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["left", "10.1.0.2/24"] });
  const r = sim.host("r", { eth0: ["left", "10.1.0.1/24"], eth1: ["right", "10.2.0.1/24"] }, {
    forwarding: true,
  });
  const c = sim.host("c", { eth0: ["right", "10.2.0.2/24"] });
  r.iface("eth1")!.mtu = 1000;
  sim.route("a", "default", "10.1.0.1");
  sim.route("c", "default", "10.2.0.1");
  const ctx = { signal: sim.signal };
  const l = c.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 9000));
  l.listen(1);
  const accepted = l.accept(ctx);
  const s = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(s.connect(in4("10.2.0.2", 9000), ctx));
  const peer = (await sim.until(accepted)).socket as TcpSocket;
  const data = new Uint8Array(200_000).map((_, i) => i % 251);
  const sending = (async () => {
    let off = 0;
    while (off < data.length) off += await s.sendmsg(data.subarray(off), 0, undefined, ctx);
    s.shutdown(abi.SHUT_WR);
  })();
  let got = 0;
  const receiving = (async () => {
    for (;;) {
      const m = await peer.recvmsg(65536, 0, ctx);
      if (m.data.length === 0) return;
      got += m.data.length;
    }
  })();
  await sim.until(Promise.all([sending, receiving]), 120_000);
  assert.equal(got, data.length);
  assert.ok((a.counters.get("tcp: mss-lowered") ?? 0) >= 1);
  assert.ok((s.getsockopt(abi.IPPROTO_TCP, abi.TCP_MAXSEG) as number) <= 960);
});

Deno.test("TCP: data for a closed socket is answered with RST; the sender in CLOSE-WAIT sees EPIPE", async () => {
  const { sim, a, b, ctx } = setup();
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 80));
  l.listen(1);
  const acc = l.accept(ctx);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(c.connect(in4("10.0.0.2", 80), ctx));
  const s = (await sim.until(acc)).socket as TcpSocket;
  c.release(); // nothing unread: a FIN goes out
  await sim.run(20);
  assert.equal(s.stateName(), "CLOSE_WAIT");
  await s.sendmsg(new Uint8Array(1000), 0, undefined, ctx);
  await sim.run(20);
  // A RST in CLOSE-WAIT: EPIPE, as Linux's tcp_reset (scenario rst_close_wait.pkt).
  await assert.rejects(
    s.sendmsg(new Uint8Array(10), 0, undefined, ctx),
    (e: ErrnoError) => e.code === "EPIPE",
  );
});

Deno.test("TCP: a reset is reported once (ECONNRESET), then reads see EOF and writes EPIPE", async () => {
  const { sim, a, b, ctx } = setup();
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 80));
  l.listen(1);
  const acc = l.accept(ctx);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(c.connect(in4("10.0.0.2", 80), ctx));
  const s = (await sim.until(acc)).socket as TcpSocket;
  c.setsockopt(abi.SOL_SOCKET, abi.SO_LINGER, { onoff: 1, linger: 0 });
  c.release(); // SO_LINGER 0: a RST
  await sim.run(20);
  assert.ok(s.readiness() & abi.POLLERR);
  // Linux's sock_error hands the error out once (scenario rst_established_exact.pkt).
  await assert.rejects(s.recvmsg(100, 0, ctx), (e: ErrnoError) => e.code === "ECONNRESET");
  assert.equal(s.readiness() & abi.POLLERR, 0);
  assert.equal((await s.recvmsg(100, 0, ctx)).data.length, 0);
  await assert.rejects(
    s.sendmsg(new Uint8Array(1), 0, undefined, ctx),
    (e: ErrnoError) => e.code === "EPIPE",
  );
  assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), 0);
});
