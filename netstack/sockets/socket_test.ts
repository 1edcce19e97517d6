/**
 * INET socket rules a hostile neighbour could otherwise abuse: buffer sizes capped as Linux caps
 * them, bind/listen conflicts (SO_REUSEADDR, SO_REUSEPORT within one uid, dual-stack), and the
 * most specific listener getting the connection.
 */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import type { ErrnoError } from "../../kernel/errno.ts";
import { Sim } from "../../tests/sim.ts";
import type { NetworkTask } from "../network_task.ts";
import type { TcpSocket } from "./tcp_socket.ts";

const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const in6 = (addr: string, port: number) => ({ family: 10 as const, addr, port });
const inUse = (e: ErrnoError) => e.code === "EADDRINUSE";

function host() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] });
  return { sim, a, ctx: { signal: sim.signal } };
}

function tcp(
  a: NetworkTask,
  opts: { uid?: number; v6?: boolean; reuseAddr?: boolean; reusePort?: boolean } = {},
) {
  const s = a.createSocket(opts.v6 ? abi.AF_INET6 : abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  s.uid = opts.uid ?? 0;
  if (opts.reuseAddr) s.setsockopt(abi.SOL_SOCKET, abi.SO_REUSEADDR, 1);
  if (opts.reusePort) s.setsockopt(abi.SOL_SOCKET, abi.SO_REUSEPORT, 1);
  return s;
}

Deno.test("SO_SNDBUF/SO_RCVBUF: capped at wmem_max/rmem_max and doubled, as Linux", () => {
  const { a } = host();
  for (const type of [abi.SOCK_STREAM, abi.SOCK_DGRAM]) {
    const s = a.createSocket(abi.AF_INET, type, 0);
    s.setsockopt(abi.SOL_SOCKET, abi.SO_SNDBUF, 16 << 20);
    s.setsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF, 16 << 20);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_SNDBUF), 425984);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF), 425984);
    s.setsockopt(abi.SOL_SOCKET, abi.SO_SNDBUF, 100_000);
    s.setsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF, 2 ** 31 - 1);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_SNDBUF), 200_000);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF), 425984);
    s.setsockopt(abi.SOL_SOCKET, abi.SO_SNDBUF, 1);
    s.setsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF, 0);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_SNDBUF), 4608); // SOCK_MIN_SNDBUF
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_RCVBUF), 2304); // SOCK_MIN_RCVBUF
  }
});

Deno.test("SO_REUSEPORT is its own option, not SO_REUSEADDR", () => {
  const { a } = host();
  const s = tcp(a, { reusePort: true });
  assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_REUSEPORT), 1);
  assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_REUSEADDR), 0);
});

Deno.test("TCP: two sockets never listen on one address and port, SO_REUSEADDR or not", () => {
  const { a } = host();
  const x = tcp(a, { reuseAddr: true });
  const y = tcp(a, { reuseAddr: true });
  x.bind(in4("0.0.0.0", 8080));
  y.bind(in4("0.0.0.0", 8080)); // both SO_REUSEADDR, neither listening: Linux allows it
  x.listen(8);
  assert.throws(() => y.listen(8), inUse);
  assert.equal(y.getsockopt(abi.SOL_SOCKET, abi.SO_ACCEPTCONN), 0);
  assert.throws(() => tcp(a, { reuseAddr: true }).bind(in4("10.0.0.1", 8080)), inUse);
  x.release();
  y.listen(8); // the port is free to listen on once the first listener is gone
});

Deno.test("TCP: a squatter's SO_REUSEADDR/SO_REUSEPORT listener makes a root server's bind fail", () => {
  const { a } = host();
  const squat = tcp(a, { uid: 1000, reuseAddr: true, reusePort: true });
  squat.bind(in4("0.0.0.0", 8080));
  squat.listen(8);
  const httpd = tcp(a, { uid: 0, reuseAddr: true, reusePort: true });
  assert.throws(() => httpd.bind(in4("0.0.0.0", 8080)), inUse);
  assert.throws(() => httpd.bind(in4("10.0.0.1", 8080)), inUse);
  const httpd6 = tcp(a, { uid: 0, v6: true, reuseAddr: true });
  assert.throws(() => httpd6.bind(in6("::", 8080)), inUse); // dual-stack covers 0.0.0.0
  // Squatting first, then the server: the squatter's bind, not yet listening, is beaten at
  // listen() by whoever listens first.
  const early = tcp(a, { uid: 1000, reuseAddr: true });
  early.bind(in4("0.0.0.0", 9090));
  const server = tcp(a, { uid: 0, reuseAddr: true });
  server.bind(in4("0.0.0.0", 9090));
  server.listen(8);
  assert.throws(() => early.listen(8), inUse);
});

Deno.test("TCP: dual-stack [::] and 0.0.0.0 conflict; IPV6_V6ONLY [::] and 0.0.0.0 do not", () => {
  const { a } = host();
  const six = tcp(a, { v6: true });
  six.bind(in6("::", 8080));
  six.listen(8);
  assert.throws(() => tcp(a, { reuseAddr: true }).bind(in4("0.0.0.0", 8080)), inUse);
  const only = tcp(a, { v6: true });
  only.setsockopt(abi.IPPROTO_IPV6, abi.IPV6_V6ONLY, 1);
  only.bind(in6("::", 8081));
  only.listen(8);
  const four = tcp(a);
  four.bind(in4("0.0.0.0", 8081));
  four.listen(8);
  assert.throws(() => tcp(a, { v6: true }).bind(in6("::", 8081)), inUse);
});

async function connectTo(sim: Sim, a: NetworkTask, addr: string, port: number) {
  const c = tcp(a, { v6: addr.includes(":") });
  await sim.until(
    c.connect(addr.includes(":") ? in6(addr, port) : in4(addr, port), { signal: sim.signal }),
  );
  return c;
}

Deno.test("TCP: the most specific listener gets the connection; a SO_REUSEPORT group of one uid shares", async () => {
  const { sim, a } = host();
  const wild = tcp(a, { reusePort: true });
  wild.bind(in4("0.0.0.0", 8080));
  wild.listen(8);
  const lo = tcp(a, { reusePort: true });
  lo.bind(in4("127.0.0.1", 8080));
  lo.listen(8);
  await connectTo(sim, a, "127.0.0.1", 8080);
  await connectTo(sim, a, "10.0.0.1", 8080);
  const nonblock = (s: TcpSocket) => (s.nonblock = true, s);
  const accepted = async (s: TcpSocket) => {
    const r = await nonblock(s).accept({ signal: sim.signal });
    return r.socket.getsockname();
  };
  assert.deepEqual(await accepted(lo), in4("127.0.0.1", 8080));
  assert.deepEqual(await accepted(wild), in4("10.0.0.1", 8080));
  // A second wildcard listener of the same uid joins the group: clients spread over both.
  const wild2 = tcp(a, { reusePort: true });
  wild2.bind(in4("0.0.0.0", 8080));
  wild2.listen(8);
  for (let i = 0; i < 8; i++) await connectTo(sim, a, "10.0.0.1", 8080);
  const backlog = (s: TcpSocket) => s.listener!.queued;
  assert.equal(backlog(wild) + backlog(wild2), 8);
  assert.ok(backlog(wild) > 0 && backlog(wild2) > 0, `${backlog(wild)}/${backlog(wild2)}`);
  assert.equal(backlog(lo), 0);
});

Deno.test("TCP over IPv6: a [::1] listener beats a [::] one; a v4-mapped peer reaches [::]", async () => {
  const { sim, a } = host();
  await sim.run(10);
  const any = tcp(a, { v6: true, reusePort: true });
  any.bind(in6("::", 8080));
  any.listen(8);
  const lo = tcp(a, { v6: true, reusePort: true });
  lo.bind(in6("::1", 8080));
  lo.listen(8);
  await connectTo(sim, a, "::1", 8080);
  await connectTo(sim, a, "127.0.0.1", 8080);
  assert.equal(lo.listener!.queued, 1);
  assert.equal(any.listener!.queued, 1);
});

Deno.test("TCP: different specific addresses listen on one port; a refused bind leaves the socket unbound", () => {
  const { a } = host();
  const lo = tcp(a);
  lo.bind(in4("127.0.0.1", 8080));
  lo.listen(8);
  const eth = tcp(a);
  eth.bind(in4("10.0.0.1", 8080)); // Linux: ok, without any option
  eth.listen(8);
  const wild = tcp(a, { reuseAddr: true });
  assert.throws(() => wild.bind(in4("0.0.0.0", 8080)), inUse);
  assert.deepEqual(wild.getsockname(), in4("0.0.0.0", 0));
  wild.bind(in4("0.0.0.0", 8081)); // and may bind elsewhere
  const six = tcp(a, { v6: true });
  assert.throws(() => six.bind(in6("::ffff:127.0.0.1", 8080)), inUse);
  assert.deepEqual(six.getsockname(), in6("::", 0));
  const udp = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  udp.bind(in4("127.0.0.1", 53));
  const udp2 = a.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  assert.throws(() => udp2.bind(in4("0.0.0.0", 53)), inUse);
  assert.deepEqual(udp2.getsockname(), in4("0.0.0.0", 0));
  const udp6 = a.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  assert.throws(() => udp6.bind(in6("::", 53)), inUse); // dual-stack: covers 127.0.0.1
  assert.deepEqual(udp6.getsockname(), in6("::", 0));
  udp6.setsockopt(abi.IPPROTO_IPV6, abi.IPV6_V6ONLY, 1);
  udp6.bind(in6("::", 53));
});
