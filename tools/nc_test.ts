import { deepEqual, equal, match, throws } from "node:assert/strict";
import { parsePorts, unescapeText } from "./nc.ts";
import { bootCollecting } from "./_test_system.ts";

Deno.test("-e text expands C escapes and encodes the rest as UTF-8", () => {
  deepEqual([...unescapeText("a\\r\\n\\t\\\\\\x00\\xff")], [97, 13, 10, 9, 92, 0, 255]);
  deepEqual([...unescapeText("é\\q")], [0xc3, 0xa9, 92, 113]);
  deepEqual([...unescapeText("\\x4")], [92, 120, 52]);
});

Deno.test("ports are single numbers or ranges", () => {
  deepEqual(parsePorts("80"), [80]);
  deepEqual(parsePorts("20-23"), [20, 21, 22, 23]);
  throws(() => parsePorts("23-20"), /invalid port range/);
  throws(() => parsePorts("0"), /invalid port/);
  throws(() => parsePorts("http"), /invalid port/);
});

Deno.test("nc -l takes IPv4 and IPv6 peers on [::] and prints IPv4 ones unmapped", async () => {
  const t = await bootCollecting();
  try {
    for (const [client, peer] of [["127.0.0.1", /^127\.0\.0\.1 \d+$/], ["::1", /^::1 \d+$/]]) {
      const l = await t.sys.start("nc", ["-l", "-v", "-e", "welcome\\n", "9000"]);
      await t.waitFor(l, "Listening on :: 9000\n");
      equal(await t.runOk("nc", ["-N", "-e", "hi", client as string, "9000"]), "welcome\n");
      equal(await t.sys.wait(l), 0);
      const got = /Connection received on (.*)\n/.exec(t.output(l));
      match(got?.[1] ?? t.output(l), peer as RegExp);
    }
    const u = await t.sys.start("nc", ["-u", "-l", "-v", "-e", "pong\\n", "9100"]);
    await t.waitFor(u, "Bound on :: 9100\n");
    equal(await t.runOk("nc", ["-u", "-w", "1", "-e", "ping\\n", "127.0.0.1", "9100"]), "pong\n");
    await t.waitFor(u, "ping\n");
    match(t.output(u), /Connection received on 127\.0\.0\.1 \d+\n/);
  } finally {
    await t.sys.shutdown();
  }
});

Deno.test("nc -l -4 refuses ::1 and nc -l -6 refuses 127.0.0.1", async () => {
  const t = await bootCollecting();
  try {
    const v4 = await t.sys.start("nc", ["-l", "-4", "-v", "9000"]);
    await t.waitFor(v4, "Listening on 0.0.0.0 9000\n");
    const v6 = await t.sys.start("nc", ["-l", "-6", "-v", "9001"]);
    await t.waitFor(v6, "Listening on :: 9001\n");
    for (const [host, port] of [["::1", "9000"], ["127.0.0.1", "9001"]]) {
      const r = await t.sys.run("nc", ["-N", "-e", "hi", host, port]);
      equal(r.status, 1, `${host} ${port}: ${r.stdout}`);
      match(r.stderr, /\(tcp\) failed: connection refused\n$/);
    }
    equal(await t.runOk("nc", ["-N", "-e", "hi", "127.0.0.1", "9000"]), "");
    equal(await t.runOk("nc", ["-N", "-e", "hi", "::1", "9001"]), "");
    equal(await t.sys.wait(v4), 0);
    equal(await t.sys.wait(v6), 0);
  } finally {
    await t.sys.shutdown();
  }
});

Deno.test("nc -l :: is dual-stack as on Linux; nc -l -s 127.0.0.1 takes only that address", async () => {
  const t = await bootCollecting();
  try {
    const dual = await t.sys.start("nc", ["-l", "-k", "-v", "::", "9000"]);
    await t.waitFor(dual, "Listening on :: 9000\n");
    equal(await t.runOk("nc", ["-N", "-e", "a", "127.0.0.1", "9000"]), "");
    equal(await t.runOk("nc", ["-N", "-e", "b", "::1", "9000"]), "");
    await t.waitFor(dual, "b");
    match(
      t.output(dual),
      /Connection received on 127\.0\.0\.1 \d+\n[^]*Connection received on ::1 /,
    );
    const v4 = await t.sys.start("nc", ["-l", "-v", "-s", "127.0.0.1", "-p", "9001"]);
    await t.waitFor(v4, "Listening on 127.0.0.1 9001\n");
    const r = await t.sys.run("nc", ["-N", "-e", "hi", "::1", "9001"]);
    equal(r.status, 1, r.stdout);
    match(r.stderr, /connection refused/);
  } finally {
    await t.sys.shutdown();
  }
});
