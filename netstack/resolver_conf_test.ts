import assert from "node:assert/strict";
import { ErrnoError } from "../kernel/errno.ts";
import { defaultResolverConf, ResolverConfStore, validDomain } from "./resolver_conf.ts";

Deno.test("resolver conf: resolv.conf's defaults, checked updates, nothing half-applied", () => {
  const s = new ResolverConfStore();
  const { configured, ...conf } = s.get();
  assert.deepEqual(conf, defaultResolverConf());
  assert.deepEqual(configured, { nameservers: [], search: [] });
  assert.deepEqual([s.get().timeout, s.get().attempts, s.get().ndots], [5, 2, 1]);
  s.set({ nameservers: ["10.0.0.1", "FD00::0001"], search: ["Lab."], timeout: 1 });
  assert.deepEqual(s.get().nameservers, ["10.0.0.1", "fd00::1"]);
  assert.deepEqual(s.get().search, ["lab"]);
  const bad = [
    { nameservers: ["beta"] },
    { nameservers: ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"] },
    { search: ["a..b"] },
    { timeout: 0 },
    { attempts: 6 },
    { ndots: 1.5 },
    { hosts: [{ addr: "10.0.0.9", names: [] }] },
    { hosts: [{ addr: "x", names: ["a"] }] },
    { hosts: "nope" },
  ];
  for (const b of bad) {
    assert.throws(() => s.set({ attempts: 3, ...b } as never), ErrnoError, JSON.stringify(b));
    assert.equal(s.get().attempts, 2, "a refused update changes nothing");
  }
  s.set({ hosts: [{ addr: "10.0.0.2", names: ["Beta", "beta.lab."] }] });
  assert.deepEqual(s.get().hosts, [{ addr: "10.0.0.2", names: ["beta", "beta.lab"] }]);
  // A copy: changing what get() returned changes nothing.
  s.get().nameservers.push("9.9.9.9");
  assert.equal(s.get().nameservers.length, 2);
  assert.ok(validDomain("a-b.c_d") && !validDomain("-a") && !validDomain("x".repeat(64)));
});

Deno.test("resolver conf: RA-learned servers expire by the clock given, bounded, after configured ones", () => {
  let now = 1000;
  const s = new ResolverConfStore(() => now);
  s.set({ nameservers: ["10.0.0.1"] });
  assert.equal(s.learnFromRa("servers", ["fd00::1", "FD00:0::2", "not-an-address"], 10), 1);
  assert.deepEqual(s.get().nameservers, ["10.0.0.1", "fd00::1", "fd00::2"]);
  // What resolverset set, alone: a DHCP client restores this, never the RA-learned servers.
  assert.deepEqual(s.get().configured, { nameservers: ["10.0.0.1"], search: [] });
  assert.equal(s.learnFromRa("search", ["Ra.Example.", "bad..name"], 0xffffffff), 1);
  // Full: a longer-lived newcomer displaces the entry that expires soonest; a shorter one does not.
  s.learnFromRa("servers", ["fd00::3"], 20);
  s.learnFromRa("servers", ["fd00::4"], 5);
  s.learnFromRa("servers", ["fd00::1"], 0);
  now += 10_000;
  assert.deepEqual(s.get().nameservers, ["10.0.0.1", "fd00::3"]);
  now += 10_000;
  assert.deepEqual(s.get().nameservers, ["10.0.0.1"]);
  assert.deepEqual(s.get().search, ["ra.example"]);
});
