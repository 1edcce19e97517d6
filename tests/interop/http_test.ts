/**
 * HTTP from Linux's curl to Serin's httpd over a TAP: the index page, and a 10 MB body
 * (100 MB with SERIN_INTEROP_BIG=1) whose size must arrive exactly.
 */
import assert from "node:assert/strict";
import { interopTest, SERIN_HOST, TapLab } from "./_lab.ts";
import { bootOnTap } from "./_serin.ts";

const BIG = Deno.env.get("SERIN_INTEROP_BIG") === "1";
const BYTES = BIG ? 100_000_000 : 10_000_000;

interopTest("interop: curl in Linux fetches pages from Serin's httpd", ["curl"], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab);
  const pid = await serin.sys.start("httpd", ["-p", "80"], {
    host: SERIN_HOST,
    caps: ["net_bind_service"],
  });
  await serin.waitFor(pid, "listening");
  const base = `http://${lab.serinAddr}`;

  const index = await lab.exec([
    "curl",
    "-sS",
    "--max-time",
    "10",
    "-w",
    "\\n%{http_code}",
    `${base}/`,
  ]);
  assert.equal(index.code, 0, index.stderr);
  const status = index.stdout.slice(index.stdout.lastIndexOf("\n") + 1);
  assert.equal(status, "200", index.stdout);
  assert.match(index.stdout, /serin-httpd/);

  const big = await lab.exec([
    "curl",
    "-sS",
    "--max-time",
    "25",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download}",
    `${base}/bytes/${BYTES}`,
  ], { timeoutMs: 30_000 });
  assert.equal(big.code, 0, big.stderr);
  assert.equal(big.stdout, `200 ${BYTES}`);
});
