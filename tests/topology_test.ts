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

Deno.test("switches with TAP ports: a tap twice, on two switches or also a host's link, bad names, fields and fault specs each get one message", () => {
  const host = { name: "a", ifaces: [{ link: "sw1" }] };
  const cases: Array<[unknown, RegExp]> = [
    [{ switches: [] }, /^switches: must be an object/],
    [{ switches: { "sw 1": {} } }, /^switches\.sw 1: a switch name is letters/],
    [{ switches: { "tap:x": {} } }, /^switches\.tap:x: a switch name is letters/],
    [{ switches: { sw1: "tapA" } }, /^switches\.sw1: must be an object/],
    [{ switches: { sw1: { ports: ["tapA"] } } }, /^switches\.sw1\.ports: unknown field$/],
    [{ switches: { sw1: { taps: "tapA" } } }, /^switches\.sw1\.taps: must be an array$/],
    [
      { switches: { sw1: { taps: ["tapA", "tapA"] } } },
      /^switches\.sw1\.taps\[1\]: TAP tapA is already a port of this switch$/,
    ],
    [
      { switches: { sw1: { taps: ["tapA"] }, sw2: { taps: [{ name: "tapA" }] } } },
      /^switches\.sw2\.taps\[0\]: TAP tapA is already a port of switch sw1$/,
    ],
    [
      {
        switches: { sw1: { taps: ["tapA"] } },
        hosts: [{ name: "a", ifaces: [{ link: "tap:tapA" }] }],
      },
      /^hosts\[0\]\.ifaces\[0\]\.link: tapA is already a port of switch sw1$/,
    ],
    [
      { switches: { sw1: { taps: [""] } } },
      /^switches\.sw1\.taps\[0\]: must be a Linux interface name/,
    ],
    [
      { switches: { sw1: { taps: ["a-name-too-long-16"] } } },
      /^switches\.sw1\.taps\[0\]: must be a Linux interface name/,
    ],
    [{ switches: { sw1: { taps: ["ta/p"] } } }, /^switches\.sw1\.taps\[0\]: must be a Linux/],
    [{ switches: { sw1: { taps: [".."] } } }, /^switches\.sw1\.taps\[0\]: must be a Linux/],
    [{ switches: { sw1: { taps: [7] } } }, /^switches\.sw1\.taps\[0\]: must be a TAP name or/],
    [
      { switches: { sw1: { taps: [{ name: "tapA", mtu: 9000 }] } } },
      /^switches\.sw1\.taps\[0\]\.mtu: unknown field$/,
    ],
    [
      { switches: { sw1: { taps: ["tapA"], faults: "loss=2" } } },
      /^switches\.sw1\.faults: Cannot parse fault spec "loss=2": bad value "2" for loss/,
    ],
    [
      { switches: { sw1: { taps: [{ name: "tapA", faults: "wobble=5ms" }] } } },
      /^switches\.sw1\.taps\[0\]\.faults: Cannot parse fault spec "wobble=5ms": unknown key/,
    ],
    [{ switches: { sw1: { faults: 5 } } }, /^switches\.sw1\.faults: must be a fault spec string/],
    [{ hosts: [host], faults: "loss=0.1,loss=0.2" }, /^faults: Cannot parse fault spec .*twice/],
    [{ switches: { sw1: {} }, hosts: {} }, /^hosts: must be an array$/],
    [{ hosts: [] }, /^hosts: must be a non-empty array$/],
  ];
  for (const [json, re] of cases) {
    assert.throws(
      () => parseTopology(json),
      (e: Error) => e instanceof TopologyError && re.test(e.message),
      `${JSON.stringify(json)} should fail with ${re}`,
    );
  }
  // Valid: switches alone (Serin as a link emulator), names or objects, faults at every level.
  const t = parseTopology({
    switches: {
      sw1: { taps: ["tapA", { name: "tapB", faults: "loss=0.05,delay=5ms" }], faults: "dup=0.01" },
    },
  });
  assert.deepEqual(t.net.hosts, []);
  assert.deepEqual(parseTopology({ hosts: [], switches: { sw1: { taps: ["t"] } } }).net.hosts, []);
  assert.deepEqual(t.net.switches, {
    sw1: {
      taps: [{ name: "tapA" }, { name: "tapB", faults: "loss=0.05,delay=5ms" }],
      faults: "dup=0.01",
    },
  });
  // Hosts' ports and TAP ports on one switch.
  const mixed = parseTopology({ hosts: [host], switches: { sw1: { taps: ["tapA"] } } });
  assert.equal(mixed.net.hosts[0].ifaces?.[0].link, "sw1");
});

Deno.test("deno task run --config with switches only: a bad one exits 2 naming the field; --faults is checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = `${dir}/bad.json`;
    await Deno.writeTextFile(cfg, JSON.stringify({ switches: { sw1: { taps: ["t1", "t1"] } } }));
    const r = await boot(["--config", cfg, "--for", "0"]);
    assert.equal(r.code, 2);
    assert.match(text(r.stderr), /^serin: switches\.sw1\.taps\[1\]: TAP t1 is already a port/);
    const f = await boot(["--faults", "loss=x", "--for", "0", "--", "true"]);
    assert.equal(f.code, 2);
    assert.match(text(f.stderr), /^serin: --faults: Cannot parse fault spec "loss=x"/);
    const ok = `${dir}/switches.json`;
    await Deno.writeTextFile(ok, JSON.stringify({ switches: { sw1: {} } }));
    const p = await boot(["--config", ok, "--", "ping", "10.0.0.1"]);
    assert.equal(p.code, 2);
    assert.match(text(p.stderr), /no hosts to run programs on/);
  } finally {
    await Deno.remove(dir, { recursive: true });
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
