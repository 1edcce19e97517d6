/**
 * The NIC models in a running system: each host's interface is a driver worker programming a
 * device model in the hardware worker through registers and DMA rings.
 */
import assert from "node:assert/strict";
import { boot } from "../kernel/mod.ts";
import type { NetSetup } from "../kernel/net_setup.ts";

const P = "tests/programs";

function pair(a: "e1000" | "rtl8139" | "virtio", b: "e1000" | "rtl8139" | "virtio"): NetSetup {
  return {
    hosts: [
      { name: "alpha", ifaces: [{ link: "lan", driver: a, addrs: ["10.0.0.1/24"] }] },
      { name: "beta", ifaces: [{ link: "lan", driver: b, addrs: ["10.0.0.2/24"] }] },
    ],
  };
}

async function pingAndTransfer(net: NetSetup, mb: number) {
  const logs: string[] = [];
  await using sys = await boot({ net, log: (l) => logs.push(l) });
  const ping = await sys.run("ping", ["-c", "2", "-i", "0.1", "-W", "5", "10.0.0.2"], {
    host: "alpha",
    caps: ["net_raw"],
  });
  assert.equal(ping.status, 0, ping.stdout + ping.stderr);
  assert.match(ping.stdout, /2 packets transmitted, 2 received/);
  const sink = await sys.start(`${P}/tcp_sink.ts`, ["5001"], { host: "beta" });
  const src = await sys.run(`${P}/tcp_source.ts`, ["10.0.0.2", "5001", String(mb)], {
    host: "alpha",
  });
  assert.equal(src.status, 0, src.stdout + src.stderr);
  assert.equal(await sys.wait(sink), 0);
  return { logs };
}

Deno.test("E1000 and RTL8139 hosts ping each other and move 10 MB byte-identical", async () => {
  await pingAndTransfer(pair("e1000", "rtl8139"), 10);
});

Deno.test("virtio-net on both hosts: ping and 10 MB byte-identical", async () => {
  await pingAndTransfer(pair("virtio", "virtio"), 10);
});

Deno.test("killing the E1000 driver mid-transfer: the kernel restarts it and the transfer completes", async () => {
  const logs: string[] = [];
  await using sys = await boot({ net: pair("e1000", "virtio"), log: (l) => logs.push(l) });
  const sink = await sys.start(`${P}/tcp_sink.ts`, ["5001"], { host: "beta" });
  const src = sys.run(`${P}/tcp_source.ts`, ["10.0.0.2", "5001", "16"], { host: "alpha" });
  await new Promise((r) => setTimeout(r, 300));
  await sys.killDriver("alpha/eth0");
  const r = await src;
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(await sys.wait(sink), 0);
  assert.deepEqual(await sys.driverRestarts(), { "alpha/eth0": 1, "beta/eth0": 0 });
  assert.ok(
    logs.some((l) => /driver e1000 alpha\/eth0 died \(killed\); restarted/.test(l)),
    logs.join("\n"),
  );
});
