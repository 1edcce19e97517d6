import { deepEqual, equal, match } from "node:assert/strict";
import { pattern } from "./ttcp.ts";
import { bootCollecting } from "./_test_system.ts";

Deno.test("the ttcp pattern cycles through printable ASCII", () => {
  const p = pattern(200);
  deepEqual([p[0], p[94], p[95], p[199]], [32, 126, 32, 32 + (199 % 95)]);
});

Deno.test("ttcp -r takes IPv4 and IPv6 senders by default; -4 and -6 refuse the other family", async () => {
  const t = await bootCollecting();
  try {
    for (
      const [host, shown] of [["127.0.0.1", /accept from 127\.0\.0\.1:\d+\n/], [
        "::1",
        /accept from \[::1\]:\d+\n/,
      ]] as const
    ) {
      const rx = await t.sys.start("ttcp", ["-r", "-p", "5001"]);
      await t.waitFor(rx, "listening on [::]:5001\n");
      match(await t.runOk("ttcp", ["-t", "-n", "0.1", host]), /ttcp-t: 104858 bytes in /);
      equal(await t.sys.wait(rx), 0);
      match(t.output(rx), shown);
    }
    for (const [flag, refused] of [["-4", "::1"], ["-6", "127.0.0.1"]]) {
      const rx = await t.sys.start("ttcp", ["-r", flag, "-p", "5002"]);
      await t.waitFor(rx, "listening");
      const r = await t.sys.run("ttcp", ["-t", "-n", "0.1", "-p", "5002", refused]);
      equal(r.status, 1, `${flag} ${refused}: ${r.stdout}`);
      match(r.stderr, /connection refused/);
      await t.sys.kill(rx, 15);
    }
  } finally {
    await t.sys.shutdown();
  }
});
