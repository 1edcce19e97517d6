import { deepEqual, equal, ok } from "node:assert/strict";
import { boot } from "../../kernel/mod.ts";
import { DEFAULT_NET } from "../boot.ts";
import { MAX_BODY, sameToken, serveUi } from "./server.ts";

Deno.test("constant-time token check compares whole strings", () => {
  ok(sameToken("abc", "abc"));
  ok(!sameToken("abd", "abc"));
  ok(!sameToken("ab", "abc"));
  ok(!sameToken("abcd", "abc"));
  ok(!sameToken("", "abc"));
});

Deno.test({
  name: "the server refuses hostile requests with a clear 4xx and keeps serving",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using sys = await boot({ net: DEFAULT_NET, output: () => {} });
    await using ui = await serveUi(sys, { port: 0, page: { js: "/*js*/", css: "" } });
    const base = `http://127.0.0.1:${ui.port}`;
    const t = `t=${ui.token}`;
    const get = async (path: string, init?: RequestInit) => {
      const r = await fetch(`${base}${path}`, init);
      const text = await r.text();
      return { status: r.status, text };
    };
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      get(`/api/link?${t}`, { method: "POST", body, headers });

    equal((await get("/")).status, 401, "no token");
    const wrong = ui.token.slice(0, -1) + (ui.token.endsWith("0") ? "1" : "0");
    equal((await get(`/?t=${wrong}`)).status, 401, "wrong token");
    equal((await get("/api/topology", { headers: { "x-serin-token": "nope" } })).status, 401);
    const page = await get(`/?${t}`);
    equal(page.status, 200);
    ok(page.text.includes("/app.js?t="));
    equal((await get(`/api/nothing?${t}`)).status, 404);
    equal((await get(`/api/host?name=gamma&${t}`)).status, 404);
    equal((await get(`/api/host?${t}`)).status, 400);
    equal((await get(`/api/conn?key=x&${t}`)).status, 404);
    equal((await get(`/api/frames?link=lan&n=-3&${t}`)).status, 400);
    equal((await get(`/api/frames?link=wan&${t}`)).status, 404);
    equal((await get(`/api/pcap?link=wan&${t}`)).status, 404);

    const bad = async (body: BodyInit, status: number, says: string) => {
      const r = await post(body);
      equal(r.status, status, `${String(body).slice(0, 60)} → ${r.text}`);
      ok(JSON.parse(r.text).error.includes(says), r.text);
    };
    await bad("{not json", 400, "Malformed JSON");
    await bad("[1,2]", 400, "Expected a JSON object");
    await bad(JSON.stringify({ link: "lan" }), 400, "Nothing to change");
    await bad(JSON.stringify({ link: "lan", faults: { loss: 1.5 } }), 400, "loss 1.5");
    await bad(JSON.stringify({ link: "lan", faults: { delayMs: -1 } }), 400, "delayMs -1");
    await bad(JSON.stringify({ link: "lan", faults: { warp: 9 } }), 400, "unknown field warp");
    await bad(JSON.stringify({ link: "lan", up: "no" }), 400, "up: true or false");
    await bad(JSON.stringify({ link: "wan", up: false }), 404, "No link named wan");
    await bad(JSON.stringify({ link: "lan", evil: 1 }), 400, "Unknown field evil");
    await bad("x".repeat(MAX_BODY + 1), 413, "too large");
    // A huge body streamed without a length is cut off too.
    const stream = new ReadableStream({
      pull(c) {
        c.enqueue(new Uint8Array(64 << 10));
      },
    });
    equal((await post(stream)).status, 413);

    const ok1 = await post(JSON.stringify({ link: "lan", faults: { delayMs: 1, jitterMs: 0.5 } }));
    equal(ok1.status, 200, ok1.text);
    const topo = JSON.parse((await get(`/api/topology?${t}`)).text);
    deepEqual(topo.hosts.map((h: { name: string }) => h.name), ["alpha", "beta"]);
    deepEqual(topo.links[0].faults, { delayMs: 1, jitterMs: 0.5 });
    equal((await sys.run("ping", ["-c", "1", "10.0.0.2"], { host: "alpha" })).status, 0);
    // No page watched: the sampler never polled.
    equal(ui.sampler.polls, 0);
  },
});
