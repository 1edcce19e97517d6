import assert from "node:assert/strict";
import {
  createRingChannel,
  type RingChannelOptions,
  ringEndpoint,
  type RingInit,
  TAG_MORE,
} from "./ring_endpoint.ts";
import { ByteRing } from "./ring.ts";
import type { Endpoint } from "./endpoint.ts";
import { RpcPeer } from "./rpc.ts";
import { ErrnoError } from "../errno.ts";
import { encodeMessage } from "./codec.ts";

/** Collect `n` messages from an endpoint. */
function collect(ep: Endpoint, n: number, bad?: (e: unknown) => void): Promise<unknown[]> {
  const got: unknown[] = [];
  return new Promise((resolve) => {
    ep.listen((m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    }, bad);
  });
}

function pair(opts = {}): [Endpoint, Endpoint] {
  const { a, b } = createRingChannel(opts);
  return [ringEndpoint(a), ringEndpoint(b)];
}

Deno.test("in-thread pair: messages arrive in order, both ways, including before listen", async () => {
  const [a, b] = pair();
  a.post({ n: 1 });
  a.post("two");
  b.post([3, new Uint8Array([1, 2, 3])]);
  const fromA = collect(b, 3);
  a.post(null);
  assert.deepEqual(await fromA, [{ n: 1 }, "two", null]);
  assert.deepEqual(await collect(a, 1), [[3, new Uint8Array([1, 2, 3])]]);
  a.close();
  b.close();
});

Deno.test("in-thread pair carries RPC", async () => {
  const [a, b] = pair();
  const client = new RpcPeer(a);
  new RpcPeer(b, { serve: (body) => ({ echo: body }) });
  assert.deepEqual(await client.call("hi"), { echo: "hi" });
  const many = await Promise.all(Array.from({ length: 100 }, (_, i) => client.call(i)));
  assert.deepEqual(many, Array.from({ length: 100 }, (_, i) => ({ echo: i })));
  client.close();
});

Deno.test("messages over the record limit are fragmented and rejoined in order", async () => {
  const [a, b] = pair({ capacity: 1024 });
  const big = new Uint8Array(20000).map((_, i) => i * 7);
  const got = collect(b, 3);
  a.post("before");
  a.post({ big });
  a.post("after");
  const [m1, m2, m3] = await got;
  assert.equal(m1, "before");
  assert.deepEqual((m2 as { big: Uint8Array }).big, big);
  assert.equal(m3, "after");
  a.close();
});

Deno.test("a full ring queues locally and delivers everything in order (both ways at once)", async () => {
  const [a, b] = pair({ capacity: 512 });
  const n = 3000;
  const atB = collect(b, n);
  const atA = collect(a, n);
  for (let i = 0; i < n; i++) {
    a.post({ i, pad: new Uint8Array(i % 200) });
    b.post(-i - 1);
  }
  const gotB = await atB;
  const gotA = await atA;
  assert.deepEqual(gotB.map((m) => (m as { i: number }).i), Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(gotA, Array.from({ length: n }, (_, i) => -i - 1));
  a.close();
});

Deno.test("close is seen by the other side; pending calls reject; later posts are dropped", async () => {
  const [a, b] = pair();
  const client = new RpcPeer(a);
  let arrived!: () => void;
  const served = new Promise<void>((r) => (arrived = r));
  new RpcPeer(b, {
    serve: () => {
      arrived();
      return new Promise(() => {});
    },
  });
  const call = client.call("never answered");
  const closedA = new Promise<void>((r) => a.onClose(r));
  let closedB = 0;
  b.onClose(() => closedB++);
  await served;
  b.close();
  assert.equal(b.closed, true);
  assert.equal(closedB, 1);
  await assert.rejects(call, (e: ErrnoError) => e.code === "ECONNRESET");
  await closedA;
  assert.equal(a.closed, true);
  a.post("dropped");
  b.close();
  assert.equal(closedB, 1);
  let late = 0;
  a.onClose(() => late++);
  assert.equal(late, 1);
});

Deno.test("malformed records go to the bad handler and later messages still arrive", async () => {
  const { a, b } = createRingChannel();
  const ea = ringEndpoint(a);
  const raw = new ByteRing(b.rx); // write into the a→b direction behind a's back
  const bad: unknown[] = [];
  const eb = ringEndpoint(b);
  const got = collect(eb, 2, (e) => bad.push(e));
  ea.post("first");
  raw.tryWrite(new Uint8Array([0xff, 0xff, 0x1c])); // not CBOR
  raw.tryWrite(new Uint8Array(encodeMessage("x")), 99); // unknown tag
  raw.tryWrite(new Uint8Array([0x82]), TAG_MORE); // a fragment whose end is garbage
  raw.tryWrite(new Uint8Array([0x1c]));
  ea.post("second");
  assert.deepEqual(await got, ["first", "second"]);
  assert.equal(bad.length, 3);
  ea.close();
});

async function streamBetweenWorkers(n: number, opts: RingChannelOptions = {}) {
  const url = new URL("./_ring_test_worker.ts", import.meta.url);
  const workers = [new Worker(url, { type: "module" }), new Worker(url, { type: "module" })];
  const { a, b } = createRingChannel(opts);
  const results = workers.map((w) =>
    new Promise<{ received: number; errors: number; firstError: string }>((r) => {
      w.onmessage = (e) => r(e.data);
    })
  );
  const inits: RingInit[] = [a, b];
  workers.forEach((w, i) =>
    w.postMessage({ mode: "stream", ring: inits[i], seed: i + 1, peerSeed: 2 - i, n })
  );
  for (const r of await Promise.all(results)) {
    assert.deepEqual(r, { received: n, errors: 0, firstError: "" });
  }
  for (const w of workers) w.terminate();
}

Deno.test("100,000 messages of 1 B .. 64 KiB between two workers, both ways at once", async () => {
  await streamBetweenWorkers(50000); // per direction
});

Deno.test("a 4 KiB ring between workers: constant wrap-around, back-pressure, fragments", async () => {
  await streamBetweenWorkers(5000, { capacity: 4096, spinUs: 0 }); // spin 0: sleep every time
});

Deno.test("a worker closing its end rejects our pending calls", async () => {
  const url = new URL("./_ring_test_worker.ts", import.meta.url);
  const w = new Worker(url, { type: "module" });
  const { a, b } = createRingChannel();
  const ready = new Promise((r) => (w.onmessage = r));
  w.postMessage({ mode: "serve", ring: b });
  await ready;
  const ep = ringEndpoint(a);
  const gone = new Promise<void>((r) => ep.onClose(r));
  const client = new RpcPeer(ep);
  assert.deepEqual(await client.call({ op: "echo", x: 1 }), { op: "echo", x: 1 });
  const hang = client.call({ op: "hang" });
  assert.equal(await client.call({ op: "close" }), "closing");
  await assert.rejects(hang, (e: ErrnoError) => e.code === "ECONNRESET");
  await gone;
  assert.equal(client.closed, true);
  w.terminate();
});
