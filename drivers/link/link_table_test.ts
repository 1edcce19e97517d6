import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { ManualClock } from "../../kernel/clock.ts";
import type { LinkInfo } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import { VirtualSwitch } from "./switch.ts";
import { checkLinkFaults, LinkTable, WATCH_MS } from "./link_table.ts";

function frame(src: number, dst: number, n = 100): Uint8Array {
  const f = new Uint8Array(n);
  f.set([2, 0, 0, 0, 0, dst], 0);
  f.set([2, 0, 0, 0, 0, src], 6);
  f[12] = 0x08;
  return f;
}

function lab() {
  const clock = new ManualClock();
  const sw = new VirtualSwitch({ clock });
  const links = new LinkTable(clock, () => clock.now());
  const a = links.plug("lan", "a/eth0", sw.connect(), "switch");
  const b = links.plug("lan", "b/eth0", sw.connect(), "switch");
  const got = { a: 0, b: 0 };
  a.onFrame(() => got.a++);
  b.onFrame(() => got.b++);
  const carrier: boolean[] = [];
  links.watchCarrier("lan", (up) => carrier.push(up));
  const send = (n: number) => {
    for (let i = 0; i < n; i++) a.send(frame(1, 2));
    clock.advance(1000);
  };
  const show = () => (links.serve({ op: "links" }) as LinkInfo[])[0];
  return { clock, links, a, b, got, carrier, send, show };
}

const errno = (code: string) => (e: unknown) => e instanceof ErrnoError && e.code === code;

Deno.test("a link passes frames untouched until impaired, then loses about what it is told", () => {
  const l = lab();
  l.send(100);
  equal(l.got.b, 100);
  l.links.set({ op: "linkset", link: "lan", faults: { loss: 0.3 } });
  l.send(1000);
  const lost = 1100 - l.got.b;
  ok(lost > 230 && lost < 370, `lost ${lost} of 1000 at 30%`);
  equal(l.show().drops.lost, lost);
  deepEqual(l.show().faults, { loss: 0.3 });
  // 0 removes the impairment again (Mininet #1127: reset loss to 0).
  l.links.set({ op: "linkset", link: "lan", faults: { loss: 0 } });
  const before = l.got.b;
  l.send(100);
  equal(l.got.b - before, 100);
  deepEqual(l.show().faults, {});
});

Deno.test("changes merge; clear removes every impairment; delay and rate apply at once", () => {
  const l = lab();
  l.links.set({ op: "linkset", link: "lan", faults: { delayMs: 20, jitterMs: 5 } });
  l.links.set({ op: "linkset", link: "lan", faults: { rateBitsPerSec: 1e6 } });
  deepEqual(l.show().faults, { delayMs: 20, jitterMs: 5, rateBitsPerSec: 1e6 });
  l.a.send(frame(1, 2));
  l.clock.advance(14);
  equal(l.got.b, 0, "held by a 20±5 ms delay");
  l.clock.advance(20);
  equal(l.got.b, 1);
  l.links.set({ op: "linkset", link: "lan", clear: true });
  deepEqual(l.show().faults, {});
  l.a.send(frame(1, 2));
  equal(l.got.b, 2, "no delay after clear");
});

Deno.test("down drops every frame both ways and tells the NICs; up restores", () => {
  const l = lab();
  l.links.set({ op: "linkset", link: "lan", up: false });
  l.send(10);
  l.b.send(frame(2, 1));
  l.clock.advance(1);
  deepEqual([l.got.a, l.got.b], [0, 0]);
  equal(l.show().drops.down, 11);
  equal(l.show().up, false);
  l.links.set({ op: "linkset", link: "lan", up: true });
  l.send(1);
  equal(l.got.b, 1);
  deepEqual(l.carrier, [false, true]);
});

Deno.test("Gilbert–Elliott loss comes in bursts", () => {
  const l = lab();
  l.links.set({ op: "linkset", link: "lan", faults: { geP: 0.02, geR: 0.25 } });
  let runs = 0, lostTotal = 0, prev = l.got.b;
  let inRun = false;
  for (let i = 0; i < 5000; i++) {
    l.a.send(frame(1, 2));
    const lost = l.got.b === prev;
    prev = l.got.b;
    if (lost) lostTotal++;
    if (lost && !inRun) runs++;
    inRun = lost;
  }
  // Stationary bad share p/(p+r) ≈ 7%, mean burst 1/r = 4 frames.
  ok(lostTotal > 200 && lostTotal < 600, `lost ${lostTotal}`);
  ok(lostTotal / runs > 2.5, `mean burst ${lostTotal / runs}`);
});

Deno.test("impossible values, unknown links and malformed requests are refused, nothing changes", () => {
  const l = lab();
  const set = (req: unknown) => () => l.links.serve(req as never);
  throws(set({ op: "linkset", link: "lan", faults: { loss: 1.5 } }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", faults: { delayMs: -1 } }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", faults: { delayMs: "20" } }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", faults: { loss: NaN } }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", faults: { bogus: 1 } }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", faults: [1] }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", up: "yes" }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "lan", faults: { geR: 0.5 } }), errno("EINVAL"));
  throws(set({ op: "linkset", link: "wan", faults: { loss: 0.1 } }), errno("ENODEV"));
  throws(set({ op: "linkset", link: { toString: 1 } }), errno("ENODEV"));
  throws(set({ op: "linkframes", link: "lan", max: 1e9 }), errno("EINVAL"));
  throws(set({ op: "nuke" }), errno("ENOSYS"));
  throws(set(null), errno("ENOSYS"));
  deepEqual(l.show().faults, {});
  equal(l.show().up, true);
  deepEqual(checkLinkFaults({ loss: 0.05, rateBitsPerSec: 1e7 }), {
    loss: 0.05,
    rateBitsPerSec: 1e7,
  });
});

Deno.test("frames are recorded only while watched, bounded, and stop after the watch ends", () => {
  const l = lab();
  l.send(5);
  const first = l.links.frames("lan");
  equal(first.frames.length, 0, "nothing recorded before anyone asked");
  l.send(5000);
  const r = l.links.frames("lan", 0, 4096);
  equal(r.frames.length, 4096);
  equal(r.next, 5000);
  equal(r.frames.at(-1)!.seq, 5000);
  equal(r.frames[0].data.length, 100);
  equal(l.links.frames("lan", 4990).frames.length, 10);
  l.clock.advance(WATCH_MS + 1);
  l.send(3);
  equal(l.links.frames("lan", 5000).frames.length, 0, "the watch ended: dropped and not kept");
});
