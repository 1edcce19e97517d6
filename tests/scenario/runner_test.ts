/**
 * The runner's verdicts, on Serin in virtual time: scripts that must fail do, with the line and
 * the reason packetdrill would give; markers turn a divergence into DIFFERS, and a marker on a
 * script that passes is itself a failure.
 */
import assert from "node:assert/strict";
import { parseScript } from "./parse.ts";
import { judge, type Verdict } from "./run_files.ts";
import { serinTarget } from "./serin_target.ts";

const LISTEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000>
`;
const ESTABLISHED = `${LISTEN}+0 > S. 0:0(0) ack 1 <mss 1460>
+.1 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
`;

async function verdict(text: string): Promise<Verdict> {
  return await judge(parseScript(text, "t.pkt"), serinTarget);
}

function failsAt(v: Verdict, line: number, re: RegExp): void {
  assert.equal(v.status, "FAIL", v.detail);
  assert.equal(v.run.divergence?.line, line, v.detail);
  assert.match(v.detail, re);
}

Deno.test("runner: a script that matches passes", async () => {
  const v = await verdict(`${ESTABLISHED}+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n`);
  assert.equal(v.status, "PASS", v.detail);
});

Deno.test("runner: a wrong field shows expected and actual in script syntax", async () => {
  const v = await verdict(`${LISTEN}+0 > S. 0:0(0) ack 2 <mss 1460>\n`);
  failsAt(v, 5, /ack 1 instead of 2/);
  assert.match(v.detail, /expected: +0\.000 > S\. 0:0\(0\) ack 2 <mss 1460>/);
  assert.match(v.detail, /actual: +0\.000 > S\. 0:0\(0\) ack 1 win \d+ <mss 1460>/);
});

Deno.test("runner: a missing segment fails at its line", async () => {
  failsAt(await verdict(`${ESTABLISHED}+0 > . 1:1(0) ack 1\n`), 8, /not sent by 0\.125/);
});

Deno.test("runner: an unexpected segment fails, before the next line or after the last", async () => {
  failsAt(await verdict(`${LISTEN}+.1 < . 1:1(0) ack 1 win 257\n`), 5, /unexpected outbound/);
  failsAt(await verdict(LISTEN), 4, /unexpected outbound/);
});

Deno.test("runner: a segment too early fails", async () => {
  failsAt(await verdict(`${LISTEN}+.5 > S. 0:0(0) ack 1 <mss 1460>\n`), 5, /too early/);
});

Deno.test("runner: a call result, a blocked call and a late blocking call fail", async () => {
  failsAt(await verdict(`${ESTABLISHED}+0 write(4, ..., 10) = 9\n`), 8, /returned 10 instead of 9/);
  failsAt(await verdict(`${ESTABLISHED}+0 read(4, ..., 10) = 10\n`), 8, /call blocked/);
  const late = `${ESTABLISHED}+0...0.2 read(4, ..., 10) = 10\n+.3 < P. 1:11(10) ack 1 win 257\n`;
  failsAt(await verdict(late), 8, /still blocked/);
  const onTime = `${ESTABLISHED}+0...0.2 read(4, ..., 10) = 10\n+.1 < P. 1:11(10) ack 1 win 257\n` +
    `+0 > . 1:1(0) ack 11\n`;
  assert.equal((await verdict(onTime)).status, "PASS");
});

Deno.test("runner: a marker covers its line and later ones; a stale marker fails", async () => {
  const marked = `${LISTEN}# serin-differs: because\n+0 > S. 0:0(0) ack 2 <mss 1460>\n`;
  const v = await verdict(marked);
  assert.equal(v.status, "DIFFERS");
  assert.equal(v.run.differs, "because");
  assert.match(v.detail, /serin-differs: because/);
  const early = `${LISTEN}+0 > S. 0:0(0) ack 2 <mss 1460>\n+0 close(3) = 0 # serin-differs: x\n`;
  assert.equal((await verdict(early)).status, "FAIL", "a marker does not cover earlier lines");
  const stale = `# serin-differs: stale\n${ESTABLISHED}`;
  const s = await verdict(stale);
  assert.equal(s.status, "FAIL");
  assert.match(s.detail, /remove it/);
});
