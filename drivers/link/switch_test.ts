import assert from "node:assert/strict";
import { ManualClock } from "../../kernel/clock.ts";
import { type SwitchPort, VirtualSwitch } from "./switch.ts";

const BCAST = "ff:ff:ff:ff:ff:ff";

function mac(s: string): number[] {
  return s.split(":").map((x) => parseInt(x, 16));
}

function eth(dst: string, src: string, payloadLen = 46): Uint8Array {
  const f = new Uint8Array(14 + payloadLen);
  f.set(mac(dst), 0);
  f.set(mac(src), 6);
  f[12] = 0x08;
  return f;
}

/** A switch with `n` ports, each recording what it receives. */
function rig(n: number, opts: { agingMs?: number; maxMacEntries?: number } = {}) {
  const clock = new ManualClock();
  const sw = new VirtualSwitch({ clock, ...opts });
  const ports: SwitchPort[] = [];
  const got: Uint8Array[][] = [];
  for (let i = 0; i < n; i++) {
    const p = sw.connect();
    const inbox: Uint8Array[] = [];
    p.onFrame((f) => inbox.push(f));
    ports.push(p);
    got.push(inbox);
  }
  const counts = () => got.map((g) => g.length);
  const reset = () => got.forEach((g) => (g.length = 0));
  return { clock, sw, ports, got, counts, reset };
}

const A = "02:00:00:00:00:0a";
const B = "02:00:00:00:00:0b";
const C = "02:00:00:00:00:0c";

Deno.test("switch: broadcast floods to all other ports, never back to the sender", () => {
  const r = rig(4);
  r.ports[1].send(eth(BCAST, A));
  assert.deepEqual(r.counts(), [1, 0, 1, 1]);
  // Each receiver owns a distinct buffer.
  assert.notEqual(r.got[0][0], r.got[2][0]);
  assert.notEqual(r.got[2][0], r.got[3][0]);
});

Deno.test("switch: multicast and unknown unicast flood", () => {
  const r = rig(3);
  r.ports[0].send(eth("01:00:5e:00:00:01", A));
  assert.deepEqual(r.counts(), [0, 1, 1]);
  r.reset();
  r.ports[0].send(eth(C, A)); // C never seen
  assert.deepEqual(r.counts(), [0, 1, 1]);
});

Deno.test("switch: learns source MACs and then forwards unicast to one port", () => {
  const r = rig(3);
  r.ports[0].send(eth(BCAST, A));
  assert.deepEqual(r.counts(), [0, 1, 1]);
  r.reset();
  r.ports[1].send(eth(A, B)); // A known: only port 0
  assert.deepEqual(r.counts(), [1, 0, 0]);
  r.reset();
  r.ports[0].send(eth(B, A)); // B learned on port 1
  assert.deepEqual(r.counts(), [0, 1, 0]);
  assert.equal(r.sw.lookup(A), 0);
  assert.equal(r.sw.lookup(B), 1);
  assert.equal(r.sw.lookup(C), undefined);
});

Deno.test("switch: a MAC that moves is relearned on its new port", () => {
  const r = rig(3);
  r.ports[0].send(eth(BCAST, A));
  r.ports[2].send(eth(BCAST, A));
  assert.equal(r.sw.lookup(A), 2);
  r.reset();
  r.ports[1].send(eth(A, B));
  assert.deepEqual(r.counts(), [0, 0, 1]);
});

Deno.test("switch: a frame for a MAC behind the ingress port is filtered, not echoed", () => {
  const r = rig(2);
  r.ports[0].send(eth(BCAST, A));
  r.ports[0].send(eth(BCAST, B)); // A and B both behind port 0
  r.reset();
  r.ports[0].send(eth(B, A));
  assert.deepEqual(r.counts(), [0, 0]);
  assert.equal(r.ports[0].stats.drops.sameSegment, 1);
});

Deno.test("switch: entries age out and the MAC floods again", () => {
  const r = rig(3, { agingMs: 1000 });
  r.ports[0].send(eth(BCAST, A));
  r.clock.advance(999);
  assert.equal(r.sw.lookup(A), 0);
  r.reset();
  r.ports[1].send(eth(A, B));
  assert.deepEqual(r.counts(), [1, 0, 0]);
  r.clock.advance(1000); // A last seen 1000 ms ago
  assert.equal(r.sw.lookup(A), undefined);
  r.reset();
  r.ports[1].send(eth(A, B));
  assert.deepEqual(r.counts(), [1, 0, 1]);
  // Traffic refreshes an entry: B was seen just now, so it survives 999 ms more.
  r.clock.advance(999);
  assert.equal(r.sw.lookup(B), 1);
  assert.deepEqual(r.sw.macTable().map((e) => [e.mac, e.port, e.ageMs]), [[B, 1, 999]]);
});

Deno.test("switch: random source MACs cannot grow the table past its bound", () => {
  const r = rig(2, { maxMacEntries: 64 });
  r.ports[0].send(eth(BCAST, A));
  for (let i = 0; i < 10_000; i++) {
    const f = eth(BCAST, A);
    f[6] = 0x02;
    f[7] = 0x01;
    f[9] = i >> 16;
    f[10] = (i >> 8) & 0xff;
    f[11] = i & 0xff;
    r.ports[1].send(f);
  }
  assert.equal(r.sw.macTableSize, 64);
  assert.equal(r.sw.evictions, 10_001 - 64);
  // The most recent sightings are the ones kept.
  assert.equal(r.sw.lookup("02:01:00:00:27:0f"), 1);
  assert.equal(r.sw.lookup(A), undefined);
});

Deno.test("switch: counters and drop reasons per port", () => {
  const r = rig(2);
  r.ports[0].send(eth(BCAST, A, 86)); // 100 bytes
  r.ports[0].send(new Uint8Array(10)); // runt
  const badSrc = eth(BCAST, "03:00:00:00:00:01");
  r.ports[0].send(badSrc);
  const s0 = r.ports[0].stats;
  const s1 = r.ports[1].stats;
  assert.deepEqual([s0.rxFrames, s0.rxBytes, s0.txFrames], [1, 100, 0]);
  assert.deepEqual([s1.rxFrames, s1.txFrames, s1.txBytes], [0, 1, 100]);
  assert.equal(s0.drops.runt, 1);
  assert.equal(s0.drops.badSource, 1);
  const quiet = r.sw.connect(); // no handler registered
  r.ports[0].send(eth(BCAST, A));
  assert.equal(quiet.stats.drops.noHandler, 1);
});

Deno.test("switch: closed ports drop sends and lose their MAC entries", () => {
  const r = rig(3);
  r.ports[2].send(eth(BCAST, C));
  assert.equal(r.sw.lookup(C), 2);
  r.ports[2].close();
  assert.equal(r.sw.lookup(C), undefined);
  assert.equal(r.sw.portCount, 2);
  r.ports[2].send(eth(BCAST, C));
  assert.equal(r.ports[2].stats.drops.closed, 1);
  r.reset();
  r.ports[0].send(eth(BCAST, A));
  assert.deepEqual(r.counts(), [0, 1, 0]);
});

Deno.test("switch: handlers that send from onFrame are queued, not recursed", () => {
  const clock = new ManualClock();
  const sw = new VirtualSwitch({ clock });
  const a = sw.connect();
  const b = sw.connect();
  let depth = 0;
  let maxDepth = 0;
  let seen = 0;
  const order: string[] = [];
  const echo = (self: SwitchPort, name: string, me: string, peer: string) => (f: Uint8Array) => {
    depth++;
    maxDepth = Math.max(maxDepth, depth);
    order.push(`${name}${f[14]}`);
    if (++seen < 3000) {
      const reply = eth(peer, me);
      reply[14] = (f[14] + 1) & 0xff;
      self.send(reply);
    }
    depth--;
  };
  a.onFrame(echo(a, "a", A, B));
  b.onFrame(echo(b, "b", B, A));
  a.send(eth(BCAST, A));
  assert.equal(maxDepth, 1);
  assert.deepEqual(order.slice(0, 4), ["b0", "a1", "b2", "a3"]);
  while (clock.pendingCount > 0) clock.runDue();
  assert.equal(seen, 3000);
  assert.equal(maxDepth, 1);
});
