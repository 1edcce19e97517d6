/**
 * dhcpc end to end on a booted two-host network, no root needed: beta has no address and runs
 * dhcpc; alpha runs a small DHCP server (tests/programs/dhcp_server.ts). Beta sends from 0.0.0.0
 * to 255.255.255.255 and takes broadcast replies before it has an address, configures the lease
 * (ifconfig shows it, ping through it works), releases it on SIGTERM, and declines an address
 * another host answers ARP for (RFC 5227).
 */
import assert from "node:assert/strict";
import { boot, type System } from "../kernel/mod.ts";
import { SIGTERM } from "../kernel/abi.ts";

const ROOT = { uid: 0, caps: ["net_admin", "net_bind_service", "net_raw"] };

async function lab(faults?: string) {
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const sys = await boot({
    net: {
      hosts: [
        { name: "alpha", ifaces: [{ link: "lan", addrs: ["10.0.0.1/24"] }] },
        { name: "beta", ifaces: [{ link: "lan" }] },
      ],
      faults,
    },
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  const output = (pid: number) => out.get(pid) ?? "";
  const waitFor = async (pid: number, want: string | RegExp, ms = 20_000) => {
    const deadline = Date.now() + ms;
    const has = () =>
      typeof want === "string" ? output(pid).includes(want) : want.test(output(pid));
    while (!has()) {
      if (Date.now() > deadline) throw new Error(`pid ${pid} never wrote ${want}: ${output(pid)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { sys, output, waitFor };
}

async function resolver(sys: System): Promise<string> {
  const r = await sys.run("tests/programs/show_resolver.ts", [], { host: "beta" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

async function betaIface(sys: System): Promise<string> {
  const r = await sys.run("ifconfig", ["eth0"], { host: "beta" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

Deno.test("dhcpc: leases from a server on the LAN, configures it, releases it on SIGTERM", async () => {
  const { sys, output, waitFor } = await lab();
  await using _ = sys;
  const server = await sys.start("tests/programs/dhcp_server.ts", ["10.0.0.1", "10.0.0.7", "600"], {
    host: "alpha",
    ...ROOT,
  });
  await waitFor(server, "ready");
  // A resolver configured by hand before the lease comes back when the lease goes.
  const manual = await sys.run("tests/programs/show_resolver.ts", ["192.0.2.53", "home"], {
    host: "beta",
    ...ROOT,
  });
  assert.equal(manual.status, 0, manual.stderr);
  const client = await sys.start("dhcpc", ["--no-probe", "-v"], { host: "beta", ...ROOT });
  await waitFor(
    client,
    "dhcpc: eth0: leased 10.0.0.7/24 from 10.0.0.1 for 600 s (router 10.0.0.1, dns 10.0.0.1, domain lab.test, mtu 1400)",
  );
  assert.match(output(server), /^ready\nDISCOVER 0\.0\.0\.0\nREQUEST 10\.0\.0\.7\n/);
  assert.match(output(client), /DISCOVER to 255\.255\.255\.255\n.*REQUEST to 255\.255\.255\.255/s);
  const shown = await betaIface(sys);
  assert.ok(shown.includes("inet 10.0.0.7  netmask 255.255.255.0"), shown);
  assert.ok(shown.includes("mtu 1400"), shown);
  assert.deepEqual(JSON.parse(await resolver(sys)), {
    nameservers: ["10.0.0.1"],
    search: ["lab.test"],
  });
  assert.match(
    shown,
    /dhcp 10\.0\.0\.7\/24 from 10\.0\.0\.1 {2}BOUND {2}lease 600 s {2}renew in \d+ s/,
  );
  const routes = await sys.run("route", ["-n"], { host: "beta" });
  assert.match(routes.stdout, /0\.0\.0\.0\s+10\.0\.0\.1\s+0\.0\.0\.0\s+UG/);
  const ping = await sys.run("ping", ["-c", "1", "10.0.0.1"], { host: "beta" });
  assert.equal(ping.status, 0, ping.stdout + ping.stderr);

  await sys.kill(client, SIGTERM);
  assert.equal(await sys.wait(client), 0);
  await waitFor(server, "RELEASE 10.0.0.7");
  assert.match(output(client), /gave up 10\.0\.0\.7 \(released\)/);
  const after = await betaIface(sys);
  assert.doesNotMatch(after, /inet 10\.0\.0\.7|dhcp /);
  assert.deepEqual(JSON.parse(await resolver(sys)), {
    nameservers: ["192.0.2.53"],
    search: ["home"],
  });
  const gone = await sys.run("route", ["-n"], { host: "beta" });
  assert.doesNotMatch(gone.stdout, /10\.0\.0\.1\s+0\.0\.0\.0\s+UG/);
});

Deno.test("dhcpc: an offered address another host answers ARP for is DECLINEd", async () => {
  const { sys, output, waitFor } = await lab();
  await using _ = sys;
  // The server offers alpha's own address: alpha answers beta's ARP probe for it.
  const server = await sys.start("tests/programs/dhcp_server.ts", ["10.0.0.1", "10.0.0.1", "600"], {
    host: "alpha",
    ...ROOT,
  });
  await waitFor(server, "ready");
  const client = await sys.start("dhcpc", [], { host: "beta", ...ROOT });
  await waitFor(client, "10.0.0.1 is in use by another host; declined it");
  await waitFor(server, "DECLINE 10.0.0.1");
  const ifs = await betaIface(sys);
  assert.doesNotMatch(ifs, /inet 10\.0\.0\.1/);
  assert.doesNotMatch(output(client), /leased/);
  await sys.kill(client, SIGTERM);
});

Deno.test("dhcpc: a server that NAKs every REQUEST leaves the host unconfigured", async () => {
  const { sys, output, waitFor } = await lab();
  await using _ = sys;
  const server = await sys.start(
    "tests/programs/dhcp_server.ts",
    ["10.0.0.1", "10.0.0.7", "600", "nak"],
    { host: "alpha", ...ROOT },
  );
  await waitFor(server, "ready");
  const client = await sys.start("dhcpc", ["--no-probe"], { host: "beta", ...ROOT });
  await waitFor(client, "server 10.0.0.1 refused");
  assert.doesNotMatch(output(client), /leased/);
  assert.doesNotMatch(await betaIface(sys), /inet 10\.0\.0\.7/);
  await sys.kill(client, SIGTERM);
});

Deno.test("dhcpc: with no server on the LAN it keeps trying and says so", async () => {
  const { sys, waitFor } = await lab();
  await using _ = sys;
  const client = await sys.start("dhcpc", ["eth0"], { host: "beta", ...ROOT });
  // The first retransmission comes 4 ± 1 s after the first DISCOVER.
  await waitFor(
    client,
    "dhcpc: eth0: no DHCP server has answered 1 DISCOVER; trying again",
    15_000,
  );
  await sys.kill(client, SIGTERM);
  assert.equal(await sys.wait(client), 0);
});

Deno.test("dhcpc: without net_bind_service and net_admin it fails with one clear line", async () => {
  const { sys } = await lab();
  await using _ = sys;
  const r = await sys.run("dhcpc", [], { host: "beta" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^dhcpc: Cannot bind to 0\.0\.0\.0:68: .*\n$/);
  const bad = await sys.run("dhcpc", ["eth9"], { host: "beta", ...ROOT });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^dhcpc: no interface eth9\nUsage: dhcpc /);
});

Deno.test("dhcpc: over a link that loses, duplicates and reorders, retransmission gets the lease", async () => {
  // Every cable (beta's and alpha's) loses 15%: about 28% of messages die each way, so the
  // exchange usually needs retransmissions (how many varies with the timing of other traffic).
  const { sys, output, waitFor } = await lab("loss=0.15,dup=0.1,reorder=0.1,seed=1");
  await using _ = sys;
  const server = await sys.start("tests/programs/dhcp_server.ts", ["10.0.0.1", "10.0.0.7", "600"], {
    host: "alpha",
    ...ROOT,
  });
  await waitFor(server, "ready");
  const client = await sys.start("dhcpc", ["--no-probe", "-v"], { host: "beta", ...ROOT });
  await waitFor(client, "dhcpc: eth0: leased 10.0.0.7/24", 60_000).catch((err) => {
    throw new Error(`${err.message}\nserver: ${output(server)}`);
  });
  const discovers = output(server).split("\n").filter((l) => l.startsWith("DISCOVER")).length;
  const requests = output(server).split("\n").filter((l) => l.startsWith("REQUEST")).length;
  console.log(`lossy link: the server heard ${discovers} DISCOVERs and ${requests} REQUESTs`);
  await sys.kill(client, SIGTERM);
});

Deno.test("dhcpc: a server's lies around its real answers are ignored and counted", async () => {
  const { sys, output, waitFor } = await lab();
  await using _ = sys;
  const server = await sys.start(
    "tests/programs/dhcp_server.ts",
    ["10.0.0.1", "10.0.0.7", "600", "liar"],
    { host: "alpha", ...ROOT },
  );
  await waitFor(server, "ready");
  const client = await sys.start("dhcpc", ["--no-probe"], { host: "beta", ...ROOT });
  await waitFor(client, "dhcpc: eth0: leased 10.0.0.7/24 from 10.0.0.1");
  await sys.kill(client, SIGTERM);
  assert.equal(await sys.wait(client), 0);
  const counters = /counters: (.*)/.exec(output(client))?.[1] ?? "";
  // Two bursts (before the OFFER and before the ACK); the cut message is truncated.
  for (const want of ["wrong xid 2", "wrong chaddr 2", "malformed: truncated 2"]) {
    assert.ok(counters.includes(want), `${want} in ${counters}`);
  }
  // 0.0.0.0 is refused as an offer, and as an ACK for an address the client did not request.
  assert.match(counters, /offer: bad address 1/);
  assert.match(counters, /ack: not the address requested 1/);
});

Deno.test('deno task run --config: "addrs": ["dhcp"] leases from a server the topology starts', async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tools/boot.ts",
      "--config",
      "tests/topologies/dhcp.json",
      "--host",
      "client",
      "--",
      "ifconfig",
      "eth0",
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const shown = `${text}\n${new TextDecoder().decode(out.stderr)}`;
  assert.equal(out.code, 0, shown);
  assert.match(text, /dhcpc: eth0: leased 10\.5\.0\.9\/24 from 10\.5\.0\.1 for 600 s/, shown);
  assert.ok(text.includes("inet 10.5.0.9  netmask 255.255.255.0"), shown);
  assert.match(text, /dhcp 10\.5\.0\.9\/24 from 10\.5\.0\.1 {2}BOUND {2}lease 600 s/, shown);
  // At shutdown the client gives the lease back before the system goes down.
  assert.match(text, /dhcpc: eth0: gave up 10\.5\.0\.9 \(released\)/, shown);
});
