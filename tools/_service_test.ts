import assert from "node:assert/strict";
import { bootCollecting } from "./_test_system.ts";

const SQUATTER = "tests/programs/udp_squatter.ts";

/** nc's arguments for one TCP round trip through an echo service at `host` `port`. */
const tcpEcho = (host: string, port: number) => ["-N", "-w", "5", "-e", "hi\\n", host, `${port}`];
/** nc's arguments for one UDP round trip through an echo service at `host` `port`. */
const udpEcho = (host: string, port: number) => ["-u", "-w", "1", "-e", "hi\\n", host, `${port}`];

Deno.test("echo listens dual-stack by default: TCP and UDP over 127.0.0.1 and ::1 on one port", async () => {
  const t = await bootCollecting();
  try {
    const echo = await t.sys.start("echo", ["-p", "7007"]);
    await t.waitFor(echo, "echo: listening on tcp and udp [::]:7007\n");
    for (const host of ["127.0.0.1", "::1"]) {
      assert.equal(await t.runOk("nc", tcpEcho(host, 7007)), "hi\n", `TCP ${host}`);
      assert.equal(await t.runOk("nc", udpEcho(host, 7007)), "hi\n", `UDP ${host}`);
    }
    const discard = await t.sys.start("discard", ["-p", "9009"]);
    await t.waitFor(discard, "discard: listening on tcp and udp [::]:9009\n");
    for (const host of ["127.0.0.1", "::1"]) {
      assert.equal(await t.runOk("nc", ["-N", "-e", "gone", host, "9009"]), "", host);
    }
  } finally {
    await t.sys.shutdown();
  }
});

Deno.test("echo -4 refuses ::1 and echo -6 refuses 127.0.0.1, over TCP and UDP", async () => {
  const t = await bootCollecting();
  try {
    const v4 = await t.sys.start("echo", ["-4", "-p", "7007"]);
    await t.waitFor(v4, "echo: listening on tcp and udp 0.0.0.0:7007\n");
    const v6 = await t.sys.start("echo", ["-6", "-p", "7008"]);
    await t.waitFor(v6, "echo: listening on tcp and udp [::]:7008 (IPv6 only)\n");
    assert.equal(await t.runOk("nc", tcpEcho("127.0.0.1", 7007)), "hi\n");
    assert.equal(await t.runOk("nc", udpEcho("127.0.0.1", 7007)), "hi\n");
    assert.equal(await t.runOk("nc", tcpEcho("::1", 7008)), "hi\n");
    assert.equal(await t.runOk("nc", udpEcho("::1", 7008)), "hi\n");
    for (const [host, port] of [["::1", 7007], ["127.0.0.1", 7008]] as const) {
      const tcp = await t.sys.run("nc", tcpEcho(host, port));
      assert.equal(tcp.status, 1, `TCP ${host}:${port}: ${tcp.stdout}`);
      assert.match(tcp.stderr, /\(tcp\) failed: connection refused\n$/);
      const udp = await t.sys.run("nc", udpEcho(host, port));
      assert.equal(udp.status, 1, `UDP ${host}:${port}: ${udp.stdout}`);
      assert.match(udp.stderr, /connection refused\n$/);
    }
  } finally {
    await t.sys.shutdown();
  }
});

Deno.test("a root UDP service's port cannot be shared by another uid's SO_REUSEADDR socket", async () => {
  // Linux lets two UDP sockets that both set SO_REUSEADDR share a port whatever their uids, and
  // the more specific binding takes the datagrams: the services do not set it on UDP sockets.
  const t = await bootCollecting();
  try {
    const echo = await t.sys.start("echo", ["-u", "-p", "7007"]);
    await t.waitFor(echo, "listening");
    for (const addr of ["127.0.0.1", "::1", "0.0.0.0"]) {
      const squat = await t.sys.run(SQUATTER, [addr, "7007", "100"], { uid: 1000 });
      assert.equal(squat.stdout, "bind: EADDRINUSE\n", addr);
      assert.equal(squat.status, 1);
    }
    assert.equal(await t.runOk("nc", udpEcho("127.0.0.1", 7007)), "hi\n");
  } finally {
    await t.sys.shutdown();
  }
});
