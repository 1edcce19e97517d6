/**
 * The userland tools end to end: each runs as a permission-less process on a booted system
 * and talks to the network stack over loopback.
 */
import assert from "node:assert/strict";
import { boot, type System } from "../kernel/mod.ts";

const CAPS = { caps: ["net_raw", "net_admin", "net_bind_service"] };

/** Boot with per-pid output collection, for servers started in the background. */
async function bootCollecting() {
  const out = new Map<number, string>();
  const sys = await boot({
    output: (pid, _fd, data) => out.set(pid, (out.get(pid) ?? "") + new TextDecoder().decode(data)),
  });
  /** Wait until `pid` printed `want` (or fail after 5 s). */
  const waitFor = async (pid: number, want: string) => {
    const deadline = Date.now() + 5000;
    while (!(out.get(pid) ?? "").includes(want)) {
      if (Date.now() > deadline) {
        throw new Error(`pid ${pid} never printed ${want}: ${out.get(pid)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { sys, waitFor };
}

async function runOk(sys: System, prog: string, args: string[]) {
  const r = await sys.run(prog, args, CAPS);
  assert.equal(r.status, 0, `${prog} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

Deno.test("bad arguments print the tool's name, the problem and its usage line, exit 2", async () => {
  await using sys = await boot();
  const cases: Array<[string, string[], RegExp]> = [
    ["ping", ["-c", "zero", "127.0.0.1"], /^ping: invalid count: 'zero'.*\nUsage: ping /],
    ["ping", [], /^ping: missing host\nUsage: ping /],
    ["ping", ["no.such.host"], /^ping: no.such.host: Name or service not known\n/],
    ["traceroute", ["-m", "300", "127.0.0.1"], /^traceroute: invalid max ttl/],
    ["nc", ["-x"], /^nc: Unknown option '-x'/],
    ["nc", ["127.0.0.1", "70000"], /^nc: invalid port: '70000'/],
    ["route", ["add", "default", "gw"], /^route: 'gw' needs an argument\nUsage: route /],
    ["ifconfig", ["lo", "mtu", "1"], /^ifconfig: invalid MTU: '1'/],
    ["arp", ["-s", "10.0.0.1", "zz"], /^arp: invalid hardware address 'zz'/],
    ["ndp", ["add", "fe80::1"], /^ndp: add needs lladdr MAC/],
    ["netstat", ["-Q"], /^netstat: Unknown option '-Q'/],
    ["httpd", ["-p", "0"], /^httpd: invalid port/],
    ["echo", ["extra"], /^echo: too many arguments\nUsage: echo /],
    ["ttcp", [], /^ttcp: exactly one of -r and -t is required/],
  ];
  for (const [prog, args, want] of cases) {
    const r = await sys.run(prog, args, CAPS);
    assert.equal(r.status, 2, `${prog} ${args}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stdout, "");
  }
  const help = await sys.run("ping", ["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: ping /);
});

Deno.test("without capabilities tools fail with one clear line, no stack trace", async () => {
  await using sys = await boot();
  // (ping and traceroute carry net_raw, httpd, echo and discard net_bind_service: nc does not.)
  const nc = await sys.run("nc", ["-l", "-p", "7"]);
  assert.equal(nc.status, 1);
  assert.equal(nc.stderr, "nc: Cannot bind to [::]:7: permission denied\n");
  const ifc = await sys.run("ifconfig", ["lo", "down"]);
  assert.equal(ifc.status, 1);
  assert.equal(ifc.stderr, "ifconfig: Cannot iflink: operation not permitted\n");
  assert.doesNotMatch(ifc.stderr, /\n\s+at /);
});

Deno.test("ifconfig, route and netstat -i show the loopback interface", async () => {
  await using sys = await boot();
  const ifc = await runOk(sys, "ifconfig", []);
  assert.match(
    ifc,
    /^lo: flags=73<UP,LOOPBACK,RUNNING> {2}mtu \d+\n {8}inet 127\.0\.0\.1 {2}netmask 255\.0\.0\.0\n/m,
  );
  assert.match(
    await runOk(sys, "route", ["-n"]),
    /\n127\.0\.0\.0 +0\.0\.0\.0 +255\.0\.0\.0 +U +\d+ +0 +0 lo\n/,
  );
  assert.match(await runOk(sys, "netstat", ["-i"]), /\nlo +\d+ /);
  const missing = await sys.run("ifconfig", ["eth9"], CAPS);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /eth9: error fetching interface information: Device not found/);
});

Deno.test("ping 127.0.0.1 gets every reply and prints iputils statistics", async () => {
  await using sys = await boot();
  const out = await runOk(sys, "ping", ["-c", "3", "-i", "0.05", "127.0.0.1"]);
  const lines = out.trimEnd().split("\n");
  assert.equal(lines[0], "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.");
  for (let seq = 1; seq <= 3; seq++) {
    assert.match(
      lines[seq],
      new RegExp(`^64 bytes from 127\\.0\\.0\\.1: icmp_seq=${seq} ttl=64 time=[\\d.]+ ms$`),
    );
  }
  assert.equal(lines[5], "--- 127.0.0.1 ping statistics ---");
  assert.match(lines[6], /^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$/);
  assert.match(lines[7], /^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms$/);
});

Deno.test("traceroute to loopback ends at the first hop", async () => {
  await using sys = await boot();
  const out = await runOk(sys, "traceroute", ["-n", "-q", "2", "-w", "2", "127.0.0.1"]);
  const lines = out.trimEnd().split("\n");
  assert.equal(lines[0], "traceroute to 127.0.0.1 (127.0.0.1), 30 hops max, 60 byte packets");
  assert.match(lines[1], /^ 1 {2}127\.0\.0\.1 {2}[\d.]+ ms {2}[\d.]+ ms$/);
  assert.equal(lines.length, 2);
});

/** Two hosts and a router: a (10.0.0.1) — r (10.0.0.254 | 10.0.1.254) — b (10.0.1.2). */
const ROUTED = {
  hosts: [
    {
      name: "a",
      ifaces: [{ link: "sw0", addrs: ["10.0.0.1/24"] }],
      routes: [{ dest: "default", gateway: "10.0.0.254" }],
    },
    {
      name: "r",
      forwarding: true,
      ifaces: [{ link: "sw0", addrs: ["10.0.0.254/24"] }, {
        link: "sw1",
        addrs: ["10.0.1.254/24"],
      }],
    },
    {
      name: "b",
      ifaces: [{ link: "sw1", addrs: ["10.0.1.2/24"] }],
      routes: [{ dest: "default", gateway: "10.0.1.254" }],
    },
  ],
};

Deno.test("through a router: traceroute names both hops, ping reports TTL exceeded, arp the gateway", async () => {
  await using sys = await boot({ net: ROUTED });
  const onA = { ...CAPS, host: "a" };
  const tr = await sys.run("traceroute", ["-n", "-q", "1", "-w", "2", "10.0.1.2"], onA);
  assert.equal(tr.status, 0, tr.stderr);
  assert.match(tr.stdout, /\n 1 {2}10\.0\.0\.254 {2}[\d.]+ ms\n 2 {2}10\.0\.1\.2 {2}[\d.]+ ms\n$/);
  const ttl = await sys.run("ping", ["-c", "1", "-W", "2", "-t", "1", "10.0.1.2"], onA);
  assert.equal(ttl.status, 1);
  assert.match(ttl.stdout, /\nFrom 10\.0\.0\.254 icmp_seq=1 Time to live exceeded\n/);
  assert.match(ttl.stdout, /1 packets transmitted, 0 received, \+1 errors, 100% packet loss/);
  // IPv6 over the same link: a link-local address with its zone, found by NDP, once
  // duplicate address detection has finished.
  for (let i = 0; i < 50; i++) {
    if (!(await sys.run("ifconfig", ["eth0"], onA)).stdout.includes("tentative")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tr6 = await sys.run(
    "traceroute",
    ["-n", "-q", "1", "-w", "2", "fe80::ff:fe00:200%eth0"],
    onA,
  );
  assert.match(tr6.stdout, /\n 1 {2}fe80::ff:fe00:200 {2}[\d.]+ ms\n$/, tr6.stderr);
  const ndp = await sys.run("ndp", ["show", "dev", "eth0"], onA);
  assert.match(ndp.stdout, /^fe80::ff:fe00:200 dev eth0 lladdr 02:00:00:00:02:00 [A-Z]+\n/m);
  const arp = await sys.run("arp", ["-n"], onA);
  assert.match(arp.stdout, /\n10\.0\.0\.254 +ether +02:00:00:00:02:00 +C +eth0\n/);
});

Deno.test("ifconfig, route and arp change the configuration they then show", async () => {
  await using sys = await boot({ net: ROUTED });
  const onA = { ...CAPS, host: "a" };
  const run = async (prog: string, ...args: string[]) => {
    const r = await sys.run(prog, args, onA);
    assert.equal(r.status, 0, `${prog} ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  await run("ifconfig", "eth0", "10.0.0.9/24", "mtu", "1400");
  assert.match(
    await run("ifconfig", "eth0"),
    /mtu 1400\n[^]*inet 10\.0\.0\.9 {2}netmask 255\.255\.255\.0/,
  );
  await run("route", "add", "-net", "192.168.5.0", "netmask", "255.255.255.0", "gw", "10.0.0.254");
  assert.match(await run("route", "-n"), /\n192\.168\.5\.0 +10\.0\.0\.254 +255\.255\.255\.0 +UG /);
  await run("route", "del", "192.168.5.0/24", "gw", "10.0.0.254");
  assert.doesNotMatch(await run("route", "-n"), /192\.168\.5\.0/);
  await run("arp", "-s", "10.0.0.50", "02:00:00:00:00:50");
  assert.match(await run("arp", "-n"), /\n10\.0\.0\.50 +ether +02:00:00:00:00:50 +CM +eth0\n/);
  await run("arp", "-d", "10.0.0.50");
  assert.doesNotMatch(await run("arp", "-n"), /10\.0\.0\.50/);
  await run("ifconfig", "eth0", "down");
  assert.match(await run("ifconfig", "eth0"), /^eth0: flags=4098<BROADCAST,MULTICAST>/);
});

Deno.test("the UDP echo service answers nc -u and shows up in netstat", async () => {
  const { sys, waitFor } = await bootCollecting();
  try {
    const echo = await sys.start("echo", ["-u", "-p", "7007"], CAPS);
    await waitFor(echo, "listening on udp [::]:7007");
    const r = await runOk(sys, "nc", ["-u", "-w", "0.5", "-e", "ping\\n", "127.0.0.1", "7007"]);
    assert.equal(r, "ping\n");
    const ns = await runOk(sys, "netstat", ["-l", "-u", "-n", "-p"]);
    assert.match(ns, new RegExp(`\\nudp6 +0 +0 :::7007 .* ${echo}/`));
    await sys.kill(echo, 15);
    const listener = await sys.start("nc", ["-u", "-l", "-v", "-e", "pong\\n", "9100"], CAPS);
    await waitFor(listener, "Bound on :: 9100");
    assert.equal(
      await runOk(sys, "nc", ["-u", "-w", "0.5", "-e", "ping\\n", "127.0.0.1", "9100"]),
      "pong\n",
    );
    await waitFor(listener, "ping\n");
    await sys.kill(listener, 15);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("httpd answers pipelined keep-alive requests, 404s and garbage", async () => {
  const { sys, waitFor } = await bootCollecting();
  try {
    const httpd = await sys.start("httpd", ["-p", "8080", "-q"], CAPS);
    await waitFor(httpd, "listening on [::]:8080");
    const reqs = "GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" +
      "GET /bytes/100000 HTTP/1.1\\r\\n\\r\\n" +
      "GET /nope HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n";
    const out = await runOk(sys, "nc", ["-N", "-w", "5", "-e", reqs, "127.0.0.1", "8080"]);
    const statuses = [...out.matchAll(/HTTP\/1\.1 (\d+) /g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["200", "200", "404"]);
    assert.match(out, /<h1>Serin host local<\/h1>/);
    assert.match(out, /Content-Length: 100000\r\nConnection: keep-alive\r\n\r\n\0{100000}HTTP/);
    assert.match(out, /Connection: close\r\n\r\n404 Not Found\n$/);
    const bad = await runOk(sys, "nc", [
      "-w",
      "5",
      "-e",
      "\\x01\\x02 garbage\\r\\n\\r\\n",
      "127.0.0.1",
      "8080",
    ]);
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    // The server survived all of it.
    const again = await runOk(sys, "nc", [
      "-N",
      "-w",
      "5",
      "-e",
      "HEAD / HTTP/1.0\\r\\n\\r\\n",
      "127.0.0.1",
      "8080",
    ]);
    assert.match(again, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n$/);
    await sys.kill(httpd, 15);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("httpd survives clients killed mid-download and serves concurrent ones", async () => {
  const { sys, waitFor } = await bootCollecting();
  try {
    const httpd = await sys.start("httpd", ["-p", "8080", "-q"], CAPS);
    await waitFor(httpd, "listening");
    const get = (
      path: string,
    ) => ["-N", "-w", "5", "-e", `GET ${path} HTTP/1.0\\r\\n\\r\\n`, "127.0.0.1", "8080"];
    const greedy = await sys.start("nc", get("/bytes/100000000"), CAPS);
    await new Promise((r) => setTimeout(r, 200));
    await sys.kill(greedy, 9);
    const all = await Promise.all(
      [1, 2, 3, 4].map((i) => sys.run("nc", get(`/bytes/${i * 10000}`), CAPS)),
    );
    all.forEach((r, i) => {
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^HTTP/1\\.1 200 OK\\r\\n[^]*Content-Length: ${(i + 1) * 10000}\\r\\n`),
      );
      assert.equal(r.stdout.length - r.stdout.indexOf("\r\n\r\n") - 4, (i + 1) * 10000);
    });
    await sys.kill(httpd, 15);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("TCP echo through nc -N, and nc -z tells open from closed ports", async () => {
  const { sys, waitFor } = await bootCollecting();
  try {
    const echo = await sys.start("echo", ["-t", "-p", "7007"], CAPS);
    await waitFor(echo, "listening on tcp [::]:7007");
    assert.equal(await runOk(sys, "nc", ["-N", "-e", "hello\\n", "127.0.0.1", "7007"]), "hello\n");
    const open = await sys.run("nc", ["-z", "-v", "127.0.0.1", "7007"], CAPS);
    assert.equal(open.status, 0);
    assert.equal(open.stderr, "Connection to 127.0.0.1 7007 port [tcp/*] succeeded!\n");
    const closed = await sys.run("nc", ["-z", "-v", "127.0.0.1", "7008"], CAPS);
    assert.equal(closed.status, 1);
    assert.match(
      closed.stderr,
      /^nc: connect to 127\.0\.0\.1 port 7008 \(tcp\) failed: connection refused\n$/,
    );
    await sys.kill(echo, 15);
    const discard = await sys.start("discard", ["-p", "9009"], CAPS);
    await waitFor(discard, "listening on tcp and udp [::]:9009");
    assert.equal(await runOk(sys, "nc", ["-N", "-e", "into the void", "127.0.0.1", "9009"]), "");
    await sys.kill(discard, 15);
  } finally {
    await sys.shutdown();
  }
});

Deno.test("nc -l receives what a client sends; ttcp measures a 1 MB transfer", async () => {
  const { sys, waitFor } = await bootCollecting();
  try {
    const listener = await sys.start("nc", ["-l", "-v", "-e", "welcome\\n", "9000"], CAPS);
    await waitFor(listener, "Listening on :: 9000");
    assert.equal(
      await runOk(sys, "nc", ["-N", "-e", "from client", "127.0.0.1", "9000"]),
      "welcome\n",
    );
    assert.equal(await sys.wait(listener), 0);
    const rx = await sys.start("ttcp", ["-r", "-p", "5001"], CAPS);
    await waitFor(rx, "listening");
    const tx = await runOk(sys, "ttcp", ["-t", "-n", "1", "127.0.0.1"]);
    assert.match(tx, /ttcp-t: 1048576 bytes in [\d.]+ s = [\d.]+ MB\/s = [\d.]+ Mbit\/s/);
    assert.equal(await sys.wait(rx), 0);
    await waitFor(rx, "ttcp-r: 1048576 bytes in");
  } finally {
    await sys.shutdown();
  }
});

/** IPv6 end to end; flip on once the netstack serves AF_INET6. */
const IPV6 = true;

Deno.test({ name: "ping -6, traceroute -6 and httpd -6 over ::1", ignore: !IPV6 }, async () => {
  const { sys, waitFor } = await bootCollecting();
  try {
    const ping = await runOk(sys, "ping", ["-6", "-c", "2", "-i", "0.05", "::1"]);
    // The hop limit comes as IPV6_HOPLIMIT ancillary data, as iputils prints it.
    assert.match(ping, /^PING ::1 \(::1\) 56 data bytes\n64 bytes from ::1: icmp_seq=1 ttl=64 /);
    assert.match(ping, /\n2 packets transmitted, 2 received, 0% packet loss/);
    const tr = await runOk(sys, "traceroute", ["-n", "-q", "1", "-w", "2", "::1"]);
    assert.match(
      tr,
      /^traceroute to ::1 \(::1\), 30 hops max, 80 byte packets\n 1 {2}::1 {2}[\d.]+ ms\n$/,
    );
    const httpd = await sys.start("httpd", ["-6", "-p", "8080", "-q"], CAPS);
    await waitFor(httpd, "listening on [::]:8080 (IPv6 only)");
    const out = await runOk(sys, "nc", [
      "-N",
      "-w",
      "5",
      "-e",
      "GET /bytes/3 HTTP/1.0\\r\\n\\r\\n",
      "::1",
      "8080",
    ]);
    assert.match(out, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\0\0\0$/);
    await sys.kill(httpd, 15);
  } finally {
    await sys.shutdown();
  }
});
