import assert from "node:assert/strict";
import { fileCaps } from "./file_caps.ts";

const tool = (path: string) => new URL(`../tools/${path}`, import.meta.url).href;

Deno.test("file capabilities: Serin's tools by their exact URL, nothing for anything else", () => {
  assert.deepEqual(fileCaps(tool("ping.ts")), ["net_raw"]);
  assert.deepEqual(fileCaps(tool("traceroute.ts")), ["net_raw"]);
  assert.deepEqual(fileCaps(tool("httpd.ts")), ["net_bind_service"]);
  for (const t of ["ifconfig.ts", "route.ts", "arp.ts", "ndp.ts", "nc.ts", "netstat.ts"]) {
    assert.deepEqual(fileCaps(tool(t)), [], t);
  }
  // Look-alikes: another folder, a query, an encoded name, a file: URL with a host.
  for (
    const url of [
      new URL("../tests/security/programs/ping.ts", import.meta.url).href,
      tool("ping.ts") + "?x",
      tool("%70ing.ts"),
      tool("ping.ts").replace("file:///", "file://localhost/"),
      "blob:" + tool("ping.ts"),
    ]
  ) {
    assert.deepEqual(fileCaps(url), [], url);
  }
});
