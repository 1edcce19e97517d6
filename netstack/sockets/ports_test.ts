/**
 * Port table rules. The steps marked "Linux:" were run against Linux 6.18 (a Python script
 * binding real sockets on the build machine) and expect what it answered; the others follow
 * the same rules (inet_csk_bind_conflict, udp_lib_lport_inuse).
 */
import assert from "node:assert/strict";
import { secretFrom } from "../ip/keyed_hash.ts";
import type { ErrnoError } from "../../kernel/errno.ts";
import { parseIPv6 } from "../wire/addr.ts";
import { EPHEMERAL_HIGH, EPHEMERAL_LOW, type PortUser, ProtocolPorts } from "./ports.ts";

const v4 = (a: string) => a.split(".").reduce((n, o) => (n << 8 | Number(o)) >>> 0, 0);

function user(addr: string, opts: Partial<PortUser> = {}): PortUser {
  if (addr.includes(":")) {
    return { localAddr: 0, family: 10, local6: parseIPv6(addr)!, reuseAddr: false, ...opts };
  }
  return { localAddr: v4(addr), reuseAddr: false, ...opts };
}

const inUse = (e: ErrnoError) => e.code === "EADDRINUSE";

Deno.test("ports: SO_REUSEADDR on both lets two sockets bind one address, but only one listen", () => {
  const p = new ProtocolPorts();
  const a = user("127.0.0.1", { reuseAddr: true });
  const b = user("127.0.0.1", { reuseAddr: true });
  p.bind(a, 80);
  p.bind(b, 80); // Linux: ok
  p.check(a, 80, "listen a"); // Linux: listen a ok
  a.listening = true;
  assert.throws(() => p.check(b, 80, "listen b"), inUse); // Linux: listen b EADDRINUSE
  const c = user("127.0.0.1", { reuseAddr: true });
  assert.throws(() => p.bind(c, 80), inUse); // Linux: bind while a listens EADDRINUSE
});

Deno.test("ports: without SO_REUSEADDR on both, overlapping addresses conflict", () => {
  const p = new ProtocolPorts();
  p.bind(user("0.0.0.0", { reuseAddr: true }), 80);
  assert.throws(() => p.bind(user("0.0.0.0"), 80), inUse);
  assert.throws(() => p.bind(user("10.0.0.1"), 80), inUse);
  p.bind(user("0.0.0.0"), 81);
  assert.throws(() => p.bind(user("10.0.0.1", { reuseAddr: true }), 81), inUse);
});

Deno.test("ports: a wildcard listener blocks every specific address, even with SO_REUSEADDR (Linux, not BSD)", () => {
  const p = new ProtocolPorts();
  const wild = user("0.0.0.0", { reuseAddr: true });
  const spec = user("127.0.0.1", { reuseAddr: true });
  p.bind(wild, 80);
  p.bind(spec, 80); // Linux: ok (neither listens)
  wild.listening = true; // Linux: listen wild ok
  assert.throws(() => p.check(spec, 80, "listen spec"), inUse); // Linux: EADDRINUSE
  assert.throws(() => p.bind(user("127.0.0.2", { reuseAddr: true }), 80), inUse);
});

Deno.test("ports: different specific addresses share a port without any option", () => {
  const p = new ProtocolPorts();
  const a = user("127.0.0.1", { listening: true });
  p.bind(a, 80);
  const b = user("127.0.0.2");
  p.bind(b, 80); // Linux: ok
  p.check(b, 80, "listen"); // Linux: listen ok
});

Deno.test("ports: dual-stack [::] covers IPv4; IPV6_V6ONLY [::] does not", () => {
  const p = new ProtocolPorts();
  p.bind(user("::", { reuseAddr: true, listening: true }), 80);
  assert.throws(() => p.bind(user("0.0.0.0", { reuseAddr: true }), 80), inUse);
  assert.throws(() => p.bind(user("::", { reuseAddr: true, v6only: true }), 80), inUse);
  assert.throws(() => p.bind(user("::ffff:10.0.0.1"), 80), inUse);

  const q = new ProtocolPorts();
  q.bind(user("::", { reuseAddr: true, v6only: true, listening: true }), 80);
  q.bind(user("0.0.0.0", { listening: true }), 80); // Linux: ok
  assert.throws(() => q.bind(user("::"), 80), inUse); // Linux: EADDRINUSE
  q.bind(user("::1"), 81);
  q.bind(user("127.0.0.1"), 81); // a real IPv6 address does not cover IPv4
  assert.throws(() => q.bind(user("::1"), 81), inUse);
  q.bind(user("fe80::1"), 81);
});

Deno.test("ports: a v4-mapped binding is an IPv4 one", () => {
  const p = new ProtocolPorts();
  p.bind(user("::ffff:10.0.0.1"), 80);
  assert.throws(() => p.bind(user("10.0.0.1"), 80), inUse);
  assert.throws(() => p.bind(user("0.0.0.0"), 80), inUse);
  p.bind(user("10.0.0.2"), 80);
  p.bind(user("::1"), 80);
});

Deno.test("ports: SO_REUSEPORT is shared within one uid only", () => {
  const p = new ProtocolPorts();
  p.bind(user("0.0.0.0", { reusePort: true, uid: 0, listening: true }), 80);
  p.bind(user("0.0.0.0", { reusePort: true, uid: 0, listening: true }), 80); // Linux: ok
  p.bind(user("127.0.0.1", { reusePort: true, uid: 0 }), 80); // Linux: ok
  const squatter = user("0.0.0.0", { reusePort: true, reuseAddr: true, uid: 1000 });
  assert.throws(() => p.bind(squatter, 80), inUse);
  assert.throws(() => p.bind(user("0.0.0.0", { reusePort: false, uid: 0 }), 80), inUse);
});

Deno.test("ports: sockets bound to different devices do not conflict", () => {
  const p = new ProtocolPorts();
  p.bind(user("0.0.0.0", { device: "eth0", listening: true }), 80);
  p.bind(user("0.0.0.0", { device: "eth1" }), 80);
  assert.throws(() => p.bind(user("0.0.0.0"), 80), inUse);
});

Deno.test("ports: accepted children share their listener's port", () => {
  const p = new ProtocolPorts();
  const l = user("0.0.0.0", { listening: true });
  p.bind(l, 80);
  // Children are not in the table (they never claim); a new bind still meets the listener.
  assert.throws(() => p.bind(user("10.0.0.1", { reuseAddr: true }), 80), inUse);
  p.release(l, 80);
  p.bind(user("10.0.0.1"), 80);
  assert.equal(p.size, 1);
});

Deno.test("ephemeral ports: a connect's port depends on its destination and a secret, not on the last one (RFC 6056 §3.3.4)", () => {
  const user = (): PortUser => ({ localAddr: 0x0a000001, reuseAddr: false });
  const a = new ProtocolPorts(secretFrom(1));
  const b = new ProtocolPorts(secretFrom(2));
  // Same destination, same secret: the search moves on from where it left off.
  const p1 = a.bind(user(), 0, "10.0.0.2:80");
  const p2 = a.bind(user(), 0, "10.0.0.2:80");
  assert.notEqual(p1, p2);
  assert.ok(p2 > p1 && p2 - p1 <= 2 || p2 < p1, `${p1} then ${p2}`);
  // Another destination starts somewhere unrelated.
  const others = ["10.0.0.3:80", "10.0.0.2:81", "10.9.9.9:443"].map((d) => a.bind(user(), 0, d));
  assert.ok(others.every((p) => Math.abs(p - p2) > 2), `${p2} then ${others}`);
  // Another secret (another boot), same destination: another port.
  assert.notEqual(b.bind(user(), 0, "10.0.0.2:80"), p1);
  // All inside Linux's default range.
  for (const p of [p1, p2, ...others]) assert.ok(p >= EPHEMERAL_LOW && p <= EPHEMERAL_HIGH);
});

Deno.test("ephemeral ports: a bind to port 0 starts at a random place; every port is still found", () => {
  const t = new ProtocolPorts(secretFrom());
  const first = new Set<number>();
  for (let i = 0; i < 20; i++) {
    first.add(new ProtocolPorts(secretFrom()).bind({ localAddr: 0, reuseAddr: false }, 0));
  }
  assert.ok(first.size > 10, "twenty fresh tables gave the same few ports");
  const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
  const got = new Set<number>();
  for (let i = 0; i < span; i++) {
    got.add(t.bind({ localAddr: 0, reuseAddr: false }, 0, `d${i % 7}`));
  }
  assert.equal(got.size, span);
  assert.throws(() => t.bind({ localAddr: 0, reuseAddr: false }, 0), /No ephemeral port left/);
});

Deno.test("ports: a closing connection holds its port until it is gone (TIME-WAIT, as Linux)", () => {
  const p = new ProtocolPorts();
  let open = true;
  p.linger(user("10.0.0.1", { reuseAddr: true, alive: () => open }), 8080);
  // Without SO_REUSEADDR the bind fails (scenario bind_time_wait_needs_reuseaddr.pkt)...
  assert.throws(() => p.bind(user("0.0.0.0"), 8080), inUse);
  // ...with it, it succeeds, and another address is free anyway.
  const b = user("0.0.0.0", { reuseAddr: true });
  p.bind(b, 8080);
  p.release(b, 8080);
  p.bind(user("10.0.0.2"), 8080);
  // An ephemeral pick may take a port only closing connections hold.
  const q = new ProtocolPorts();
  for (let port = EPHEMERAL_LOW; port <= EPHEMERAL_HIGH; port++) {
    q.linger(user("10.0.0.1", { alive: () => open }), port);
  }
  assert.ok(q.bind(user("10.0.0.1"), 0) >= EPHEMERAL_LOW);
  // Once the connection is gone, the port is free to anyone.
  open = false;
  const fresh = new ProtocolPorts();
  fresh.linger(user("10.0.0.1", { alive: () => open }), 8080);
  assert.equal(fresh.bind(user("0.0.0.0"), 8080), 8080);
  assert.equal(fresh.users(8080).size, 1);
});
