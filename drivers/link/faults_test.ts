import assert from "node:assert/strict";
import { ManualClock } from "../../kernel/clock.ts";
import type { LinkPort } from "./port.ts";
import { type FaultOptions, FaultSpecError, parseFaultSpec, withFaults } from "./faults.ts";

/** A fake cable end: records what is sent and lets the test inject received frames. */
function fakePort() {
  const sent: Uint8Array[] = [];
  let handler: ((f: Uint8Array) => void) | undefined;
  let closed = false;
  const port: LinkPort = {
    send: (f) => sent.push(f),
    onFrame: (h) => (handler = h),
    close: () => (closed = true),
  };
  return { port, sent, inject: (f: Uint8Array) => handler?.(f), isClosed: () => closed };
}

/** A 64-byte frame carrying `seq` in bytes 14..17. */
function numbered(seq: number, len = 64): Uint8Array {
  const f = new Uint8Array(len);
  new DataView(f.buffer).setUint32(14, seq);
  return f;
}

function seqOf(f: Uint8Array): number {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}

/** Send n numbered frames through a wrapper and return the sequence numbers that came out. */
function run(opts: FaultOptions | string, n: number) {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, opts, clock);
  for (let i = 0; i < n; i++) {
    p.send(numbered(i));
    clock.advance(0.1);
  }
  clock.advance(10_000);
  return { out: fake.sent.map(seqOf), frames: fake.sent, stats: p.stats.out };
}

function within(x: number, lo: number, hi: number, what: string): void {
  assert.ok(x >= lo && x <= hi, `${what}: ${x} not in [${lo}, ${hi}]`);
}

Deno.test("faults: parseFaultSpec reads the documented example", () => {
  assert.deepEqual(
    parseFaultSpec("loss=0.05,dup=0.01,reorder=0.05,corrupt=0.001,delay=10ms,rate=100mbit,seed=1"),
    {
      loss: 0.05,
      dup: 0.01,
      reorder: 0.05,
      corrupt: 0.001,
      delayMs: 10,
      rateBitsPerSec: 100e6,
      seed: 1,
    },
  );
});

Deno.test("faults: parseFaultSpec units, percentages, spaces and the empty spec", () => {
  assert.deepEqual(parseFaultSpec(""), {});
  assert.deepEqual(
    parseFaultSpec(" loss = 5% , delay=500us, hold=2, rate=64kbit, limit=0, burst=3000 "),
    {
      loss: 0.05,
      delayMs: 0.5,
      reorderHoldMs: 2,
      rateBitsPerSec: 64_000,
      rateQueueFrames: 0,
      rateBurstBytes: 3000,
    },
  );
  assert.deepEqual(parseFaultSpec("delay=1s,rate=1gbit"), { delayMs: 1000, rateBitsPerSec: 1e9 });
});

Deno.test("faults: parseFaultSpec rejects unknown keys and bad values with clear messages", () => {
  const cases: Array<[string, RegExp]> = [
    ["los=0.1", /unknown key "los" \(known keys: loss, dup/],
    ["loss", /"loss" is not of the form key=value/],
    ["loss=1.5", /bad value "1.5" for loss: expected a probability/],
    ["loss=-0.1", /bad value "-0.1" for loss/],
    ["loss=abc", /bad value "abc" for loss/],
    ["delay=10 parsecs", /bad value "10 parsecs" for delay/],
    ["delay=constructor", /bad value "constructor" for delay/],
    ["rate=100mbps", /bad value "100mbps" for rate/],
    ["rate=0", /bad value "0" for rate: expected a positive rate/],
    ["seed=1.5", /bad value "1.5" for seed/],
    ["seed=4294967296", /bad value "4294967296" for seed/],
    ["loss=0.1,loss=0.2", /key "loss" given twice/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(() => parseFaultSpec(spec), (e: unknown) => {
      assert.ok(e instanceof FaultSpecError, spec);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`Cannot parse fault spec "${spec}"`));
      return true;
    });
  }
  assert.throws(() => withFaults(fakePort().port, { loss: 2 }, new ManualClock()), FaultSpecError);
});

Deno.test("faults: no options means a transparent, synchronous cable", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, {}, clock);
  const f = numbered(1);
  p.send(f);
  assert.equal(fake.sent[0], f);
  const got: Uint8Array[] = [];
  p.onFrame((x) => got.push(x));
  fake.inject(numbered(2));
  assert.deepEqual(got.map(seqOf), [2]);
  assert.equal(clock.pendingCount, 0);
});

Deno.test("faults: loss rate is within statistical bounds", () => {
  const r = run("loss=0.1,seed=7", 10_000);
  // Binomial(10000, 0.1): mean 1000, sigma 30; allow 4 sigma.
  within(r.stats.lost, 880, 1120, "lost");
  assert.equal(r.out.length, 10_000 - r.stats.lost);
  assert.deepEqual(r.out, [...r.out].sort((a, b) => a - b)); // loss alone keeps order
});

Deno.test("faults: duplication rate is within bounds and copies are distinct buffers", () => {
  const r = run("dup=0.05,seed=7", 10_000);
  within(r.stats.duplicated, 410, 590, "duplicated"); // mean 500, sigma 22
  assert.equal(r.out.length, 10_000 + r.stats.duplicated);
  for (let i = 1; i < r.frames.length; i++) {
    if (r.out[i] === r.out[i - 1]) assert.notEqual(r.frames[i], r.frames[i - 1]);
  }
});

Deno.test("faults: reordering swaps a frame with its successor and loses nothing", () => {
  const r = run("reorder=0.1,seed=7", 10_000);
  // Each reorder event takes two frames: expected 10000 * 0.1 / 1.1 = 909 events.
  within(r.stats.reordered, 780, 1040, "reordered");
  assert.deepEqual([...r.out].sort((a, b) => a - b), Array.from({ length: 10_000 }, (_, i) => i));
  let swaps = 0;
  for (let i = 1; i < r.out.length; i++) if (r.out[i] < r.out[i - 1]) swaps++;
  assert.equal(swaps, r.stats.reordered);
});

Deno.test("faults: a held frame with no successor is released after the hold time", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, "reorder=1,hold=5ms", clock);
  p.send(numbered(1));
  clock.advance(4.9);
  assert.equal(fake.sent.length, 0);
  clock.advance(0.1);
  assert.deepEqual(fake.sent.map(seqOf), [1]);
  assert.equal(p.stats.out.reordered, 0);
});

Deno.test("faults: corruption flips exactly one bit past the Ethernet header", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, "corrupt=1,seed=3", clock);
  for (let i = 0; i < 200; i++) p.send(new Uint8Array(64));
  p.send(new Uint8Array(14)); // header only: nothing to corrupt
  assert.equal(p.stats.out.corrupted, 200);
  for (const f of fake.sent.slice(0, 200)) {
    let bits = 0;
    for (let i = 0; i < f.length; i++) {
      if (f[i] !== 0) {
        assert.ok(i >= 14, `byte ${i} corrupted`);
        bits += f[i].toString(2).split("1").length - 1;
      }
    }
    assert.equal(bits, 1);
  }
  assert.deepEqual(fake.sent[200], new Uint8Array(14));
  const r = run("corrupt=0.01,seed=9", 10_000);
  within(r.stats.corrupted, 60, 140, "corrupted"); // mean 100, sigma 10
});

Deno.test("faults: the same seed gives identical results, another seed differs", () => {
  const spec = "loss=0.05,dup=0.05,reorder=0.05,corrupt=0.05,delay=3ms,rate=10mbit";
  const a = run(`${spec},seed=11`, 3000);
  const b = run(`${spec},seed=11`, 3000);
  const c = run(`${spec},seed=12`, 3000);
  assert.deepEqual(a.out, b.out);
  assert.deepEqual(a.frames, b.frames); // same bits corrupted too
  assert.deepEqual(a.stats, b.stats);
  assert.notDeepEqual(a.out, c.out);
});

Deno.test("faults: fixed delay is honoured exactly", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const arrivals: Array<[number, number]> = [];
  fake.port.send = (f) => arrivals.push([seqOf(f), clock.now()]);
  const p = withFaults(fake.port, "delay=10ms", clock);
  p.send(numbered(0));
  clock.advance(3);
  p.send(numbered(1));
  clock.advance(4);
  p.send(numbered(2));
  clock.advance(2.999); // t = 9.999
  assert.deepEqual(arrivals, []);
  clock.advance(100);
  assert.deepEqual(arrivals, [[0, 10], [1, 13], [2, 17]]);
});

Deno.test("faults: the rate limit spaces frames by their serialisation time", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const times: number[] = [];
  fake.port.send = () => times.push(clock.now());
  // 1 Mbit/s and 1250-byte frames: one frame per 10 ms; the bucket holds one frame.
  const p = withFaults(fake.port, "rate=1mbit,burst=1250", clock);
  for (let i = 0; i < 100; i++) p.send(numbered(i, 1250));
  clock.advance(2000);
  assert.equal(times.length, 100);
  times.forEach((t, i) => assert.ok(Math.abs(t - 10 * i) < 1e-6, `frame ${i} at ${t}`));
  assert.equal(p.stats.out.rateDropped, 0);
});

Deno.test("faults: the rate limiter's queue is bounded and the excess is dropped", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, "rate=1mbit,limit=10", clock);
  for (let i = 0; i < 100; i++) p.send(numbered(i, 1250));
  assert.equal(fake.sent.length, 1); // the first fits the bucket
  assert.equal(p.stats.out.rateDropped, 89);
  clock.advance(1000);
  assert.deepEqual(fake.sent.map(seqOf), Array.from({ length: 11 }, (_, i) => i));
  // Over one second at 1 Mbit/s, about 1 Mbit leaves, whatever is offered.
  const offered = withFaults(fakePort().port, "rate=1mbit,limit=1000000", clock);
  for (let i = 0; i < 1000; i++) offered.send(numbered(i, 1250));
  clock.advance(1000);
  within(offered.stats.out.delivered, 100, 101, "frames in one second");
});

Deno.test("faults: frames received from the cable suffer faults too", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, "loss=0.5,delay=2ms,seed=5", clock);
  const got: number[] = [];
  p.onFrame((f) => got.push(seqOf(f)));
  for (let i = 0; i < 1000; i++) fake.inject(numbered(i));
  clock.advance(1.9);
  assert.deepEqual(got, []);
  clock.advance(0.1);
  within(p.stats.in.lost, 420, 580, "lost inbound"); // mean 500, sigma 16
  assert.equal(got.length, 1000 - p.stats.in.lost);
  assert.equal(p.stats.out.frames, 0);
});

Deno.test("faults: close drops what is in flight and later frames", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, "delay=5ms", clock);
  p.send(numbered(0));
  p.close();
  assert.ok(fake.isClosed());
  clock.advance(10);
  assert.equal(fake.sent.length, 0);
  assert.equal(clock.pendingCount, 0);
  p.send(numbered(1));
  assert.equal(p.stats.out.closedDropped, 1);
});

Deno.test("configure: faults change while frames flow; queued frames keep their order", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, {}, clock);
  p.send(numbered(0));
  assert.deepEqual(fake.sent.map(seqOf), [0], "no faults: straight through");
  p.configure({ delayMs: 10 });
  p.send(numbered(1));
  clock.advance(5);
  p.configure({});
  p.send(numbered(2)); // no delay now, but it may not overtake frame 1
  assert.deepEqual(fake.sent.map(seqOf), [0]);
  clock.advance(5);
  assert.deepEqual(fake.sent.map(seqOf), [0, 1, 2]);
  // A rate limit removed while frames wait lets them all go at once, in order.
  p.configure({ rateBitsPerSec: 8000, rateBurstBytes: 64 });
  for (let i = 3; i < 6; i++) p.send(numbered(i));
  assert.deepEqual(fake.sent.map(seqOf), [0, 1, 2, 3]);
  p.configure({});
  assert.deepEqual(fake.sent.map(seqOf), [0, 1, 2, 3, 4, 5]);
  assert.throws(() => p.configure({ loss: 2 }), FaultSpecError);
  assert.throws(() => p.configure({}, { jitterMs: -1 }), FaultSpecError);
});

Deno.test("jitter spreads arrivals over delay ± jitter and may reorder, as netem's", () => {
  const clock = new ManualClock();
  const fake = fakePort();
  const p = withFaults(fake.port, { delayMs: 20, jitterMs: 10, seed: 7 }, clock);
  const arrived: number[] = [];
  const send = fake.port.send;
  fake.port.send = (f) => (arrived.push(clock.now()), send(f));
  for (let i = 0; i < 200; i++) p.send(numbered(i)), clock.advance(1);
  clock.advance(100);
  assert.equal(fake.sent.length, 200);
  const delays = fake.sent.map((f, i) => arrived[i] - seqOf(f));
  assert.ok(Math.min(...delays) >= 10 - 1e-9 && Math.max(...delays) <= 30 + 1e-9, `${delays}`);
  const order = fake.sent.map(seqOf);
  assert.notDeepEqual(order, [...order].sort((a, b) => a - b), "some frames overtook others");
  assert.deepEqual(parseFaultSpec("delay=20ms,jitter=5ms,gep=1%,ger=30%"), {
    delayMs: 20,
    jitterMs: 5,
    geP: 0.01,
    geR: 0.3,
  });
});
