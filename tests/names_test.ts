/**
 * Names in a lab, end to end on booted systems: every host knows the topology's hosts by name
 * with no DNS server (kernel/lab_names.ts), and a host whose resolver names a `dnsd` resolves
 * the lab's zone through it over UDP, falling back to TCP for an answer too big for 512 bytes.
 */
import assert from "node:assert/strict";
import { boot, type System } from "../kernel/mod.ts";
import type { NetSetup } from "../kernel/net_setup.ts";
import { parseTopology, TopologyError } from "../kernel/topology.ts";

const NET: NetSetup = {
  hosts: [
    { name: "alpha", ifaces: [{ link: "lan", addrs: ["10.0.0.1/24", "fd00:1::1/64"] }] },
    {
      name: "beta",
      ifaces: [{ link: "lan", addrs: ["10.0.0.2/24", "fd00:1::2/64"] }],
      resolver: { nameservers: ["10.0.0.1"], search: ["lab"] },
    },
  ],
};

async function lab(): Promise<{ sys: System; output: (pid: number) => string }> {
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const sys = await boot({
    net: NET,
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  return { sys, output: (pid) => out.get(pid) ?? "" };
}

async function waitFor(output: (pid: number) => string, pid: number, text: string) {
  const deadline = Date.now() + 10_000;
  while (!output(pid).includes(text)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} never printed ${text}: ${output(pid)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("names: ping, nc and getent reach the topology's hosts by name, no DNS", async () => {
  const { sys, output } = await lab();
  try {
    // While DAD runs the IPv6 addresses are tentative, unusable as sources: IPv4 comes first
    // then, as on Linux. Wait for them.
    const ahosts = () => sys.run("getent", ["ahosts", "beta"], { host: "alpha" });
    const deadline = Date.now() + 10_000;
    while (!(await ahosts()).stdout.startsWith("fd00:1::2")) {
      if (Date.now() > deadline) throw new Error("IPv6 never became usable");
      await new Promise((r) => setTimeout(r, 100));
    }
    const ping = await sys.run("ping", ["-c", "1", "beta"], { host: "alpha" });
    assert.equal(ping.status, 0, ping.stderr);
    assert.match(ping.stdout, /^PING beta \(fd00:1::2\) 56 data bytes/);
    assert.match(ping.stdout, /bytes from beta \(fd00:1::2\): icmp_seq=1/);
    assert.match(ping.stdout, /--- beta ping statistics ---/);
    const ping4 = await sys.run("ping", ["-4", "-c", "1", "beta"], { host: "alpha" });
    assert.match(ping4.stdout, /^PING beta \(10\.0\.0\.2\) 56\(84\) bytes of data\./);
    // glibc's order with a ULA source: the ULA before IPv4 (libc/dns/order.ts).
    const ent = await ahosts();
    assert.equal(
      ent.stdout,
      [
        "fd00:1::2       STREAM beta",
        "fd00:1::2       DGRAM  ",
        "fd00:1::2       RAW    ",
        "10.0.0.2        STREAM ",
        "10.0.0.2        DGRAM  ",
        "10.0.0.2        RAW    ",
        "",
      ].join("\n"),
    );
    const echo = await sys.start("echo", [], { host: "beta" });
    await waitFor(output, echo, "listening");
    const nc = await sys.run("nc", ["-N", "-e", "hello", "beta", "7"], { host: "alpha" });
    assert.equal(nc.stdout, "hello");
    const none = await sys.run("ping", ["-c", "1", "gamma"], { host: "alpha" });
    assert.equal(none.status, 2);
    assert.equal(none.stderr, "ping: gamma: Name or service not known\n");
  } finally {
    await sys.shutdown();
  }
});

Deno.test("names: dnsd answers the lab's zone, over TCP when UDP truncates", async () => {
  const { sys, output } = await lab();
  try {
    const many = Array.from({ length: 40 }, (_, i) => ["-a", `many=10.0.9.${i + 1}`]).flat();
    const d = await sys.start("dnsd", ["-v", ...many], { host: "alpha" });
    await waitFor(output, d, "listening on tcp and udp");
    // "alpha.lab" is not in beta's hosts table: it goes to dnsd.
    const a = await sys.run("getent", ["ahostsv4", "alpha.lab"], { host: "beta" });
    assert.equal(a.stdout.split("\n")[0], "10.0.0.1        STREAM alpha.lab");
    // The search domain: "many" is asked as many.lab; 40 A records need TCP.
    const m = await sys.run("getent", ["ahostsv4", "many"], { host: "beta" });
    assert.equal(m.status, 0, m.stderr);
    assert.equal(m.stdout.split("\n").filter((l) => l.includes("STREAM")).length, 40);
    await waitFor(output, d, "tcp A many.lab NOERROR");
    assert.match(output(d), /10\.0\.0\.2 A many\.lab NOERROR TC/);
    // NXDOMAIN in the zone, REFUSED outside it: both "not known".
    const nx = await sys.run("getent", ["ahosts", "nosuch.lab"], { host: "beta" });
    assert.equal(nx.status, 2);
    const out = await sys.run("ping", ["-c", "1", "example.com"], { host: "beta" });
    assert.equal(out.stderr, "ping: example.com: Temporary failure in name resolution\n");
    // A reverse lookup through dnsd.
    const rev = await sys.run("getent", ["hosts", "10.0.0.1"], { host: "beta" });
    assert.equal(rev.stdout, "10.0.0.1        alpha\n"); // the hosts table answers first
  } finally {
    await sys.shutdown();
  }
});

Deno.test("names: through a router, its name means the address on the asker's subnet", async () => {
  const topo = parseTopology(JSON.parse(Deno.readTextFileSync("tests/topologies/router.json")));
  const out = new Map<number, string>();
  const dec = new TextDecoder();
  const sys = await boot({
    net: topo.net,
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + dec.decode(data)),
  });
  try {
    const fromRight = await sys.run("ping", ["-c", "1", "router"], { host: "right" });
    assert.match(fromRight.stdout, /^PING router \(10\.2\.0\.1\)/);
    const fromLeft = await sys.run("getent", ["ahostsv4", "router"], { host: "left" });
    assert.match(fromLeft.stdout, /^10\.1\.0\.1 /);
    // An HTTP fetch from left to right's httpd, by name, through the router.
    const httpd = await sys.start("httpd", ["-p", "80"], { host: "right" });
    const deadline = Date.now() + 10_000;
    while (!(out.get(httpd) ?? "").includes("listening")) {
      if (Date.now() > deadline) throw new Error(`httpd: ${out.get(httpd)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const get = await sys.run("nc", [
      "-N",
      "-w",
      "3",
      "-e",
      "GET /bytes/1000 HTTP/1.0\\r\\n\\r\\n",
      "right",
      "80",
    ], { host: "left" });
    assert.match(get.stdout, /^HTTP\/1\.[01] 200/m);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("names: a topology's resolver field is checked like the rest", () => {
  const ok = parseTopology({
    hosts: [{ name: "a", resolver: { nameservers: ["10.0.0.1", "fd00::1"], search: ["lab"] } }],
  });
  assert.deepEqual(ok.net.hosts[0].resolver, {
    nameservers: ["10.0.0.1", "fd00::1"],
    search: ["lab"],
  });
  const bad: Array<[unknown, RegExp]> = [
    [{ nameservers: ["beta"] }, /resolver\.nameservers\[0\]: must be an IPv4 or IPv6 address/],
    [{ search: ["-x"] }, /resolver\.search\[0\]: must be a domain/],
    [{ ndots: 2 }, /resolver\.ndots: unknown field/],
    ["x", /resolver: must be an object/],
  ];
  for (const [resolver, re] of bad) {
    assert.throws(
      () => parseTopology({ hosts: [{ name: "a", resolver }] }),
      (e: Error) => e instanceof TopologyError && re.test(e.message),
    );
  }
});
