/** Topology files: validation messages, and a three-host network with a router, as users run it. */
import assert from "node:assert/strict";
import { parseTopology, TopologyError } from "../kernel/topology.ts";

const boot = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/boot.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("an invalid topology gets one message naming the field", () => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /^hosts: must be a non-empty array$/],
    [
      { hosts: [{ name: "a", ifaces: [{ link: "x", addrs: ["10.0.0.1"] }] }] },
      /^hosts\[0\]\.ifaces\[0\]\.addrs\[0\]: must be an address in CIDR form/,
    ],
    [{ hosts: [{ name: "a" }, { name: "a" }] }, /^hosts\[1\]\.name: duplicate host a$/],
    [
      { hosts: [{ name: "a", ifaces: [{ link: "x", driver: "ne2000" }] }] },
      /^hosts\[0\]\.ifaces\[0\]\.driver: must be one of/,
    ],
    [
      { hosts: [{ name: "a", routes: [{ dest: "default" }] }] },
      /^hosts\[0\]\.routes\[0\]: needs a gateway or an iface$/,
    ],
    [{ hosts: [{ name: "a", colour: "red" }] }, /^hosts\[0\]\.colour: unknown field$/],
    [
      { hosts: [{ name: "a" }], exec: [{ host: "b", cmd: "httpd" }] },
      /^exec\[0\]\.host: must name a host$/,
    ],
  ];
  for (const [json, re] of cases) {
    assert.throws(
      () => parseTopology(json),
      (e: Error) => e instanceof TopologyError && re.test(e.message),
    );
  }
});

Deno.test("deno task run --config: left reaches right's httpd through the router; traceroute shows two hops", async () => {
  const cfg = "tests/topologies/router.json";
  const tr = await boot([
    "--config",
    cfg,
    "--host",
    "left",
    "--",
    "traceroute",
    "-n",
    "-q",
    "1",
    "-w",
    "1",
    "10.2.0.2",
  ]);
  assert.equal(tr.code, 0, text(tr.stdout) + text(tr.stderr));
  const hops = text(tr.stdout).split("\n").filter((l) => /^\s*\d+\s/.test(l));
  assert.match(hops[0], /^\s*1\s+10\.1\.0\.1\s/);
  assert.match(hops[1], /^\s*2\s+10\.2\.0\.2\s/);
  const nc = await boot([
    "--config",
    cfg,
    "--host",
    "left",
    "--",
    "nc",
    "-N",
    "-w",
    "3",
    "-e",
    "GET /bytes/100000 HTTP/1.0\\r\\n\\r\\n",
    "10.2.0.2",
    "80",
  ]);
  assert.equal(nc.code, 0, text(nc.stderr));
  const out = text(nc.stdout);
  assert.match(out, /^HTTP\/1\.[01] 200/m);
  assert.match(out, /Content-Length: 100000/i);
});

Deno.test("deno task run --help documents every option; a bad option exits 2", async () => {
  const help = await boot(["--help"]);
  assert.equal(help.code, 0);
  for (
    const opt of [
      "--config",
      "--tap",
      "--driver",
      "--addr",
      "--addr6",
      "--gw",
      "--pcap",
      "--faults",
      "--exec",
      "--for",
      "--shell",
      "--host",
    ]
  ) {
    assert.ok(text(help.stdout).includes(opt), opt);
  }
  const bad = await boot(["--nonsense"]);
  assert.equal(bad.code, 2);
  assert.match(text(bad.stderr), /serin: .*nonsense/);
});
