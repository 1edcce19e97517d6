/**
 * The DHCP fuzzer under `deno test`: saved failing inputs (tests/fuzz/regressions/dhcp-*.json)
 * are replayed first, then a bounded run (SERIN_FUZZ_SECONDS, default 5 s) must find nothing.
 */
import assert from "node:assert/strict";
import { checkDhcp, type DhcpRegression, dhcpSeeds, runDhcpFuzz } from "./dhcp.ts";
import { Rng } from "./rng.ts";

const DIR = new URL("./regressions/", import.meta.url);

Deno.test("dhcp fuzz: every saved regression input is handled", () => {
  const seeds = dhcpSeeds();
  for (const e of Deno.readDirSync(DIR)) {
    if (!e.isFile || !e.name.startsWith("dhcp-") || !e.name.endsWith(".json")) continue;
    const r = JSON.parse(Deno.readTextFileSync(new URL(e.name, DIR))) as DhcpRegression;
    const bytes = Uint8Array.from(r.hex.match(/../g) ?? [], (h) => parseInt(h, 16));
    assert.equal(checkDhcp(bytes, seeds, new Rng(r.seed), new Set()), undefined, e.name);
  }
});

Deno.test("dhcp fuzz: mutated dnsmasq messages never crash the parser or the client", () => {
  const seconds = Number(Deno.env.get("SERIN_FUZZ_SECONDS") ?? 5);
  const seed = Number(Deno.env.get("SERIN_FUZZ_SEED") ?? 20261207);
  const r = runDhcpFuzz({ seconds, seed });
  console.log(
    `dhcp fuzz seed ${seed}: ${r.executions} executions in ${r.seconds.toFixed(1)} s; ` +
      [...r.reasons].sort().join(", "),
  );
  const f = r.failures[0];
  assert.equal(f, undefined, f && `${f.mutator}: ${f.message} (${f.hex})`);
  // Each execution runs the parser and four clients; a loaded CI machine does a few hundred.
  assert.ok(r.executions > 200, `the fuzzer made progress (${r.executions} executions)`);
  // The mutators reach every refusal of the parser and the client's checks.
  for (
    const want of ["parse: truncated", "parse: bad-length", "parse: malformed", "client: wrong xid"]
  ) {
    assert.ok(r.reasons.has(want), `never reached ${want}`);
  }
});
