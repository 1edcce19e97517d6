import assert from "node:assert/strict";
import { localPair } from "./endpoint.ts";
import { RpcPeer } from "./rpc.ts";
import { ErrnoError } from "../errno.ts";
import { ManualClock } from "../clock.ts";

Deno.test("replies carry values and errnos; CBOR keeps byte strings", async () => {
  const [a, b] = localPair();
  const client = new RpcPeer(a);
  new RpcPeer(b, {
    serve: (body) => {
      const m = body as { op: string; data?: Uint8Array };
      if (m.op === "echo") return { len: m.data!.length, data: m.data };
      throw new ErrnoError("ECONNREFUSED", "Cannot connect to 10.0.0.2:80");
    },
  });
  const r = await client.call({ op: "echo", data: new Uint8Array([1, 2, 3]) }) as {
    len: number;
    data: Uint8Array;
  };
  assert.equal(r.len, 3);
  assert.deepEqual(r.data, new Uint8Array([1, 2, 3]));
  await assert.rejects(client.call({ op: "x" }), (e: ErrnoError) => {
    assert.equal(e.code, "ECONNREFUSED");
    assert.equal(e.errno, 111);
    assert.equal(e.message, "Cannot connect to 10.0.0.2:80: connection refused");
    return true;
  });
});

Deno.test("pending calls reject on timeout, on abort and when the peer goes away", async () => {
  const clock = new ManualClock();
  const [a, b] = localPair();
  const client = new RpcPeer(a, { clock });
  let cancelled = 0;
  const server = new RpcPeer(b, {
    serve: (_body, ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => {
          cancelled++;
          reject(new Error("aborted"));
        });
      }),
  });
  const t = client.call({ op: "slow" }, { timeoutMs: 100 });
  await Promise.resolve();
  clock.advance(100);
  await assert.rejects(t, (e: ErrnoError) => e.code === "ETIMEDOUT");
  const ac = new AbortController();
  const c = client.call({ op: "slow" }, { signal: ac.signal });
  ac.abort();
  await assert.rejects(c, (e: ErrnoError) => e.code === "EINTR");
  const gone = client.call({ op: "slow" });
  await new Promise((r) => setTimeout(r, 0));
  server.close();
  await assert.rejects(gone, (e: ErrnoError) => e.code === "ECONNRESET");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(client.pendingCount, 0);
  assert.equal(cancelled, 3);
});

Deno.test("garbage envelopes are counted and dropped", async () => {
  const [a, b] = localPair();
  const server = new RpcPeer(b, { serve: () => 1 });
  for (const junk of [1, "x", null, { t: "rep", id: 9 }, { t: "zzz" }, { t: "req" }]) a.post(junk);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(server.badInputs, 6);
});

Deno.test("a reply that arrives after the call was given up reaches onLateReply", async () => {
  const [a, b] = localPair();
  const client = new RpcPeer(a);
  let finish: (v: unknown) => void = () => {};
  new RpcPeer(b, { serve: () => new Promise((r) => (finish = r)) });
  const late: unknown[] = [];
  const ac = new AbortController();
  const call = client.call({ op: "accept" }, {
    signal: ac.signal,
    onLateReply: (v) => late.push(v),
  });
  await new Promise((r) => setTimeout(r, 0));
  finish({ fd: 42 }); // the peer completes just as the caller gives up
  ac.abort();
  await assert.rejects(call, (e: ErrnoError) => e.code === "EINTR");
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(late, [{ fd: 42 }]);
  assert.equal(client.badInputs, 0);
});

Deno.test("an untrusted peer cannot pile up blocked calls or reuse a request id", async () => {
  const [a, b] = localPair();
  const client = new RpcPeer(a);
  let aborted = 0;
  const server = new RpcPeer(b, {
    maxServing: 3,
    serve: (_body, ctx) =>
      new Promise(() => ctx.signal.addEventListener("abort", () => aborted++, { once: true })),
  });
  const blocked = [1, 2, 3].map(() =>
    client.call({ op: "wait" }).then(() => "ok", (e: ErrnoError) => e.code)
  );
  await assert.rejects(client.call({ op: "wait" }), (e: ErrnoError) => e.code === "EAGAIN");
  // A forged request reusing the id of one still being served is refused, not served twice.
  a.post({ t: "req", id: 1, body: { op: "wait" } });
  assert.equal(await blocked[0], "EINVAL");
  assert.equal(server.badInputs, 1);
  // When the peer goes, every call it had blocked is aborted.
  a.close();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(aborted, 3);
  assert.deepEqual(await Promise.all(blocked.slice(1)), ["ECONNRESET", "ECONNRESET"]);
});
