/**
 * Destination ordering against glibc 2.36: each case is what `getent ahosts multi` printed in a
 * namespace with the given source addresses and /etc/hosts lines (the sources are what connect()
 * picked there; IPv6 destinations with no route have none).
 */
import assert from "node:assert/strict";
import { labelOf, precedenceOf, scopeOf, type SortCandidate, sortDestinations } from "./order.ts";

const V4 = { addr: "10.53.0.1", prefixLen: 24 };
const ULA = { addr: "fd53::1", prefixLen: 64 };
const GUA = { addr: "2001:db8:53::1", prefixLen: 64 };
const order = (c: SortCandidate[]) => sortDestinations(c).map((x) => x.addr);

Deno.test("order: a ULA source puts the ULA first, then IPv4, then other IPv6 (glibc 2.36)", () => {
  assert.deepEqual(
    order([
      { addr: "10.53.0.9", source: V4 },
      { addr: "192.0.2.9", source: V4 },
      { addr: "fd53::9", source: ULA },
      { addr: "2001:db8:99::9", source: ULA },
      { addr: "fe80::9" }, // tentative link-local: no source
      { addr: "10.53.7.9", source: V4 },
    ]),
    ["fd53::9", "10.53.0.9", "192.0.2.9", "10.53.7.9", "2001:db8:99::9", "fe80::9"],
  );
});

Deno.test("order: a global IPv6 source puts global IPv6 first, ULA after IPv4", () => {
  assert.deepEqual(
    order([
      { addr: "10.53.0.9", source: V4 },
      { addr: "192.0.2.9", source: V4 },
      { addr: "fd53::9", source: GUA },
      { addr: "2001:db8:99::9", source: GUA },
      { addr: "fe80::9" },
      { addr: "10.53.7.9", source: V4 },
    ]),
    ["2001:db8:99::9", "10.53.0.9", "192.0.2.9", "10.53.7.9", "fd53::9", "fe80::9"],
  );
});

Deno.test("order: an IPv4-only host puts IPv4 first (IPv6 unreachable)", () => {
  assert.deepEqual(
    order([{ addr: "2001:db8:99::9" }, { addr: "10.53.0.9", source: V4 }, { addr: "fd53::9" }]),
    ["10.53.0.9", "2001:db8:99::9", "fd53::9"],
  );
});

Deno.test("order: rule 9, IPv4 only inside the source's subnet, IPv6 over the whole address", () => {
  assert.deepEqual(
    order([{ addr: "10.53.0.200", source: V4 }, { addr: "10.53.0.3", source: V4 }]),
    ["10.53.0.3", "10.53.0.200"],
  );
  assert.deepEqual(
    order([
      { addr: "10.53.1.3", source: V4 },
      { addr: "10.53.0.200", source: V4 },
      { addr: "10.9.0.1", source: V4 },
    ]),
    ["10.53.0.200", "10.53.1.3", "10.9.0.1"],
  );
  // Outside the subnet the order stays as found, both ways round.
  assert.deepEqual(
    order([{ addr: "10.9.0.1", source: V4 }, { addr: "10.53.1.3", source: V4 }]),
    ["10.9.0.1", "10.53.1.3"],
  );
  assert.deepEqual(
    order([
      { addr: "2001:db9::1", source: GUA },
      { addr: "2001:db8:99::3", source: GUA },
      { addr: "2001:db8:53::200", source: GUA },
    ]),
    ["2001:db8:53::200", "2001:db8:99::3", "2001:db9::1"],
  );
});

Deno.test("order: loopback: ::1 first, 127.0.0.1 before other IPv4 (smaller scope)", () => {
  const lo4 = { addr: "127.0.0.1", prefixLen: 8 }, lo6 = { addr: "::1", prefixLen: 128 };
  assert.deepEqual(
    order([
      { addr: "127.0.0.1", source: lo4 },
      { addr: "10.53.0.5", source: V4 },
      { addr: "::1", source: lo6 },
      { addr: "2001:db8:53::5", source: GUA },
    ]),
    ["::1", "2001:db8:53::5", "127.0.0.1", "10.53.0.5"],
  );
});

Deno.test("order: the policy table and scopes", () => {
  assert.equal(precedenceOf("10.0.0.1"), 10);
  assert.equal(precedenceOf("fd00::1"), 40);
  assert.equal(precedenceOf("::1"), 50);
  assert.equal(labelOf("fd00::1"), 6);
  assert.equal(labelOf("2001:0:1::1"), 7);
  assert.equal(labelOf("10.0.0.1"), 4);
  assert.equal(scopeOf("169.254.1.1"), 2);
  assert.equal(scopeOf("10.0.0.1"), 14);
  assert.equal(scopeOf("fe80::1"), 2);
  assert.equal(scopeOf("ff02::1"), 2);
  assert.equal(scopeOf("ff05::1"), 5);
});
