import { deepEqual, equal, ok } from "node:assert/strict";
import type { LinkCtl, NetCtl } from "../../kernel/bus/messages.ts";
import { MAX_SAMPLES, Sampler } from "./sampler.ts";

/** A system with one connection whose TCP_INFO the test changes. */
function fakeSystem() {
  const info = {
    state: "ESTABLISHED",
    cwnd: 14600,
    ssthresh: 0x7fffffff,
    unacked: 0,
    srtt: 1,
    rttvar: 0.5,
    rto: 200,
    sndWnd: 65535,
    rcvWnd: 65535,
    retransmits: 0,
    inRecovery: false,
    backoff: 0,
  };
  const calls: string[] = [];
  const sys = {
    info,
    calls,
    hosts: () => Promise.resolve(["alpha"]),
    netctl: (_h: string, req: NetCtl) => {
      calls.push(req.op);
      return Promise.resolve([{
        sid: 3,
        local: "::ffff:10.0.0.1:40000",
        remote: "10.0.0.2:5001",
        pids: [2],
        info: { ...info },
      }]);
    },
    link: (req: LinkCtl) => {
      calls.push(req.op);
      return Promise.resolve(req.op === "links" ? [] : { frames: [], next: 0 });
    },
  };
  return sys;
}

Deno.test("the sampler polls only while watched", async () => {
  const sys = fakeSystem();
  const s = new Sampler(sys);
  await new Promise((r) => setTimeout(r, 60));
  equal(sys.calls.length, 0);
  const unwatch = s.watch();
  const unwatch2 = s.watch();
  await new Promise((r) => setTimeout(r, 120));
  unwatch();
  ok(sys.calls.length > 2);
  unwatch2();
  unwatch2(); // twice is harmless
  equal(s.watchers, 0);
  await new Promise((r) => setTimeout(r, 30));
  const n = sys.calls.length;
  await new Promise((r) => setTimeout(r, 80));
  equal(sys.calls.length, n, "stopped");
});

Deno.test("samples are bounded; recovery and backoff become marks; states a timeline", async () => {
  const sys = fakeSystem();
  const s = new Sampler(sys);
  await s.poll();
  const [c] = s.connections();
  equal(c.local, "10.0.0.1:40000", "v4-mapped addresses as the wire shows them");
  equal(c.samples[0].ssthresh, null, "an infinite ssthresh is not plotted");
  sys.info.inRecovery = true;
  await s.poll();
  sys.info.backoff = 1;
  sys.info.state = "FIN-WAIT-1";
  await s.poll();
  deepEqual(c.marks.map((m) => m.kind), ["fast-retransmit", "rto"]);
  deepEqual(c.states.map((x) => x.state), ["ESTABLISHED", "FIN-WAIT-1"]);
  for (let i = 0; i < MAX_SAMPLES + 10; i++) await s.poll();
  equal(c.samples.length, MAX_SAMPLES);
  equal(c.shifted.samples + c.samples.length, MAX_SAMPLES + 13);
});
