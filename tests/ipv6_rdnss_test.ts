/**
 * DNS configuration from Router Advertisements (RFC 8106): RDNSS servers and DNSSL domains
 * reach the host's resolver configuration (what netctl `resolver` returns to libc) after the
 * configured ones, expire by virtual time, are removed by lifetime 0, stay bounded under a flood
 * of RAs, and a malformed option is ignored while the rest of the RA still applies.
 */
import assert from "node:assert/strict";
import { Sim } from "./sim.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { runNetctl } from "../netstack/netctl.ts";
import { eui64Address } from "../netstack/ip6/addr6.ts";
import { formatIPv6, parseIPv6 } from "../netstack/wire/addr.ts";
import { encodeIpv6 } from "../netstack/wire/ipv6.ts";
import { encodeIcmpv6 } from "../netstack/wire/icmpv6.ts";
import type { NdpOption } from "../netstack/wire/ndp.ts";
import type { ResolverConf } from "../kernel/bus/messages.ts";

const ROUTER = parseIPv6("fe80::99")!;
const ALL_NODES = parseIPv6("ff02::1")!;
const PREFIX = parseIPv6("2001:db8:7::")!;

function eth0(t: NetworkTask) {
  return t.iface("eth0")!;
}

/** Deliver an RA from fe80::99 carrying `options` to `t`'s eth0. */
function sendRa(t: NetworkTask, options: NdpOption[], routerLifetime = 1800) {
  const ra = encodeIcmpv6({
    kind: "ndp",
    message: {
      kind: "router-advert",
      curHopLimit: 64,
      managed: false,
      other: false,
      routerLifetime,
      reachableTime: 0,
      retransTimer: 0,
      options: [{ kind: "source-lladdr", addr: Uint8Array.of(2, 0, 0, 0, 0x99, 0) }, ...options],
    },
  }, { src: ROUTER, dst: ALL_NODES });
  const ip = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: 58,
    hopLimit: 255,
    src: ROUTER,
    dst: ALL_NODES,
    payload: ra,
  });
  const f = new Uint8Array(14 + ip.length);
  f.set([0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0x99, 0, 0x86, 0xdd]);
  f.set(ip, 14);
  t.input(eth0(t), f);
}

function rdnss(lifetime: number, ...servers: string[]): NdpOption {
  return { kind: "rdnss", lifetime, servers: servers.map((s) => parseIPv6(s)!) };
}

function resolver(t: NetworkTask): ResolverConf {
  return runNetctl(t, { op: "resolver" }) as ResolverConf;
}

async function host() {
  const sim = new Sim();
  const a = sim.host("a", { eth0: ["lan"] });
  await sim.run(1500, 5);
  return { sim, a };
}

Deno.test("RDNSS servers and DNSSL domains reach the resolver and expire with their lifetime", async () => {
  const { sim, a } = await host();
  sendRa(a, [
    rdnss(30, "fd00:77::1", "fd00:77::2"),
    { kind: "dnssl", lifetime: 30, domains: ["Lab.Example"] },
  ]);
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::1", "fd00:77::2"]);
  assert.deepEqual(resolver(a).search, ["lab.example"]);
  await sim.run(20_000, 100);
  // A new RA refreshes one server's lifetime; the other runs out at 30 s.
  sendRa(a, [rdnss(30, "fd00:77::2")]);
  await sim.run(15_000, 100);
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::2"]);
  assert.deepEqual(resolver(a).search, []);
  await sim.run(20_000, 100);
  assert.deepEqual(resolver(a).nameservers, []);
});

Deno.test("RDNSS lifetime 0 removes a server; infinity keeps it; link-local ones are skipped", async () => {
  const { sim, a } = await host();
  sendRa(a, [rdnss(0xffffffff, "fd00:77::1", "fe80::53"), rdnss(600, "2001:db8::53")]);
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::1", "2001:db8::53"]);
  assert.equal(a.counters.get("ndp: ra-rdnss-link-local-skipped"), 1);
  sendRa(a, [rdnss(0, "2001:db8::53")]);
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::1"]);
  await sim.run(100_000, 1000);
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::1"]);
});

Deno.test("configured servers come first; RA-learned ones fill up to three after them", async () => {
  const { a } = await host();
  runNetctl(a, { op: "resolverset", nameservers: ["192.0.2.53", "2001:db8::1"], search: ["lan"] });
  sendRa(a, [
    rdnss(600, "fd00:77::1", "fd00:77::2", "2001:db8::1"),
    { kind: "dnssl", lifetime: 600, domains: ["lan", "ra.example"] },
  ]);
  const c = resolver(a);
  assert.deepEqual(c.nameservers, ["192.0.2.53", "2001:db8::1", "fd00:77::1"]);
  assert.deepEqual(c.search, ["lan", "ra.example"]);
  // resolverset still sees and replaces only what was configured.
  runNetctl(a, { op: "resolverset", nameservers: [] });
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::1", "fd00:77::2", "2001:db8::1"]);
});

Deno.test("a flood of RAs naming 1000 different servers and domains stays bounded", async () => {
  const { sim, a } = await host();
  for (let i = 1; i <= 1000; i++) {
    const servers = Array.from({ length: 8 }, (_, k) => `fd00:${i.toString(16)}::${k + 1}`);
    sendRa(a, [
      rdnss(60 + (i % 7), ...servers),
      { kind: "dnssl", lifetime: 60, domains: [`d${i}.example`, `e${i}.example`] },
    ]);
  }
  const c = resolver(a);
  assert.equal(c.nameservers.length, 3);
  assert.equal(c.search.length, 6);
  // A server that expires later than those held displaces the one expiring soonest.
  sendRa(a, [rdnss(3600, "2001:db8::53")]);
  assert.ok(resolver(a).nameservers.includes("2001:db8::53"));
  await sim.run(70_000, 1000);
  assert.deepEqual(resolver(a).nameservers, ["2001:db8::53"]);
  assert.deepEqual(resolver(a).search, []);
});

Deno.test("a malformed RDNSS/DNSSL is ignored and counted; the prefix still forms an address", async () => {
  const { a } = await host();
  const prefix: NdpOption = {
    kind: "prefix-info",
    prefixLength: 64,
    onLink: true,
    autonomous: true,
    validLifetime: 600,
    preferredLifetime: 300,
    prefix: PREFIX,
  };
  sendRa(a, [
    // Length 2 (even): an RDNSS must be odd and at least 3.
    {
      kind: "unknown",
      type: 25,
      data: Uint8Array.of(0, 0, 0, 0, 0x0e, 0x10, 0xfd, 0, 0, 0, 0, 0, 0, 0),
    },
    // A compression pointer in a DNSSL.
    {
      kind: "unknown",
      type: 31,
      data: Uint8Array.of(0, 0, 0, 0, 0x0e, 0x10, 0xc0, 0x0c, 0, 0, 0, 0, 0, 0),
    },
    prefix,
    rdnss(600, "fd00:77::1"),
  ]);
  assert.equal(a.counters.get("ndp: ra-rdnss-malformed"), 1);
  assert.equal(a.counters.get("ndp: ra-dnssl-malformed"), 1);
  assert.deepEqual(resolver(a).nameservers, ["fd00:77::1"]);
  assert.deepEqual(resolver(a).search, []);
  const slaac = formatIPv6(eui64Address(PREFIX, eth0(a).mac));
  assert.ok(eth0(a).addrs6.some((x) => formatIPv6(x.addr) === slaac));
});
