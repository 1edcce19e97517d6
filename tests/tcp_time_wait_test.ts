/**
 * TIME-WAIT never keeps new connections out: 10,000 connections closed actively by one host
 * leave at most the TIME-WAIT budget (Linux's tcp_max_tw_buckets) waiting, the rest close at
 * once (counted as TCPTimeWaitOverflow), and a new connection still succeeds. Virtual time.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import { DEFAULT_MAX_TIME_WAIT } from "../netstack/tcp/mod.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { Sim } from "./sim.ts";

const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });

/** Open `n` connections from `a` to the listener at once, then close them client first. */
async function closeBatch(sim: Sim, a: NetworkTask, l: TcpSocket, n: number): Promise<void> {
  const ctx = { signal: sim.signal };
  const clients = Array.from({ length: n }, () => {
    return a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  });
  const accepted = Array.from({ length: n }, () => l.accept(ctx));
  await sim.until(Promise.all(clients.map((c) => c.connect(in4("10.0.0.2", 5001), ctx))));
  const servers = await sim.until(Promise.all(accepted));
  for (const c of clients) c.release(); // the client closes first: it waits in TIME-WAIT
  for (const s of servers) s.socket.release();
  await sim.run(1);
}

Deno.test("TIME-WAIT: after 10,000 actively closed connections a new connect succeeds", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  const ctx = { signal: sim.signal };
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 5001));
  l.listen(128);
  const total = 10_000;
  const t0 = sim.clock.now();
  for (let i = 0; i < total; i += 100) await closeBatch(sim, a, l, 100);
  assert.ok(sim.clock.now() - t0 < 60_000, "all within one 2*MSL");
  const overflow = a.counters.get("tcp: TCPTimeWaitOverflow") ?? 0;
  assert.equal(overflow, total - DEFAULT_MAX_TIME_WAIT);
  assert.equal(a.counters.get("tcp: time-wait now"), DEFAULT_MAX_TIME_WAIT);
  const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  const accepted = l.accept(ctx);
  await sim.until(c.connect(in4("10.0.0.2", 5001), ctx));
  const { socket } = await sim.until(accepted);
  await sim.until(c.sendmsg(new Uint8Array([1, 2, 3]), 0, undefined, ctx));
  assert.deepEqual((await sim.until(socket.recvmsg(10, 0, ctx))).data, new Uint8Array([1, 2, 3]));
  // 2*MSL later every bucket is free: the next 100 closes all wait in TIME-WAIT again.
  await sim.run(61_000);
  await closeBatch(sim, a, l, 100);
  assert.equal(a.counters.get("tcp: TCPTimeWaitOverflow") ?? 0, overflow);
  assert.equal(a.counters.get("tcp: time-wait now"), 100);
});

Deno.test("TIME-WAIT: the same client port reconnects at once to a server in TIME-WAIT (RFC 6191)", async () => {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  const ctx = { signal: sim.signal };
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 5001));
  l.listen(8);
  for (let round = 0; round < 3; round++) {
    const c = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
    c.setsockopt(abi.SOL_SOCKET, abi.SO_REUSEADDR, 1);
    c.bind(in4("10.0.0.1", 40000));
    const accepted = l.accept(ctx);
    const t0 = sim.clock.now();
    await sim.until(c.connect(in4("10.0.0.2", 5001), ctx));
    assert.ok(sim.clock.now() - t0 < 100, `round ${round}: no SYN retransmission needed`);
    const { socket } = await sim.until(accepted);
    socket.release(); // the server closes first: it holds TIME-WAIT for 10.0.0.1:40000
    await sim.run(10);
    c.release();
    await sim.run(10);
    assert.equal(b.counters.get("tcp: time-wait now"), 1);
  }
});
