/**
 * The DNS fuzzer under `deno test`: the saved inputs in tests/fuzz/regressions/dns-*.json are
 * replayed, then a bounded run (SERIN_FUZZ_SECONDS, default 5 s) must find nothing.
 */
import assert from "node:assert/strict";
import { checkDnsInput, dnsSeeds, runDnsFuzz } from "./dns.ts";

const DIR = new URL("./regressions/", import.meta.url);
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));

Deno.test("dns fuzz: the captures themselves and every saved input pass", () => {
  for (const s of dnsSeeds()) assert.equal(checkDnsInput(s), undefined);
  for (const e of Deno.readDirSync(DIR)) {
    if (!e.name.startsWith("dns-") || !e.name.endsWith(".json")) continue;
    const r = JSON.parse(Deno.readTextFileSync(new URL(e.name, DIR))) as { input: string };
    assert.equal(checkDnsInput(unhex(r.input)), undefined, e.name);
  }
});

Deno.test("dns fuzz: a bounded run finds nothing", () => {
  const seconds = Number(Deno.env.get("SERIN_FUZZ_SECONDS") ?? 5);
  const r = runDnsFuzz({ seconds, seed: 7 });
  assert.deepEqual(r.failures, []);
  assert.ok(r.executions > 1000, `only ${r.executions} executions`);
  // The mutations reach the parser's every refusal, and some survive it.
  assert.ok(r.parsed > 0);
  for (const reason of ["truncated", "malformed", "bad-length"]) {
    assert.ok(r.reasons.includes(reason), reason);
  }
});
