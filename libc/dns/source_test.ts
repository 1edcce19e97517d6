/** Source selection from routes and interface addresses (what Linux's connect would pick). */
import assert from "node:assert/strict";
import type { IfaceInfo, RouteInfo } from "../../kernel/bus/messages.ts";
import { pickSource } from "./source.ts";

const route = (family: 2 | 10, dest: string, prefixLen: number, iface: string): RouteInfo => ({
  family,
  dest,
  prefixLen,
  iface,
  metric: 0,
  flags: "U",
});
const iface = (name: string, addrs: Array<[string, number, string]>) =>
  ({
    name,
    addrs: addrs.map(([addr, prefixLen, state]) => ({
      family: addr.includes(":") ? 10 : 2,
      addr,
      prefixLen,
      scope: addr.startsWith("fe80") ? "link" : "global",
      state,
    })),
  }) as unknown as IfaceInfo;

const ROUTES = [
  route(2, "10.0.0.0", 24, "eth0"),
  route(2, "10.0.1.0", 24, "eth1"),
  route(10, "fd00:1::", 64, "eth0"),
  route(10, "fe80::", 64, "eth0"),
];

Deno.test("source: the route's interface, same scope, longest prefix, never tentative", () => {
  const ifaces = [
    iface("eth0", [
      ["10.0.0.1", 24, "preferred"],
      ["fe80::1", 64, "preferred"],
      ["fd00:1::1", 64, "preferred"],
      ["fd00:2::1", 64, "preferred"],
    ]),
    iface("eth1", [["10.0.1.1", 24, "preferred"]]),
  ];
  assert.deepEqual(pickSource("10.0.1.9", ROUTES, ifaces), { addr: "10.0.1.1", prefixLen: 24 });
  assert.deepEqual(pickSource("fd00:1::9", ROUTES, ifaces), { addr: "fd00:1::1", prefixLen: 64 });
  assert.deepEqual(pickSource("fe80::9", ROUTES, ifaces), { addr: "fe80::1", prefixLen: 64 });
  assert.equal(pickSource("192.0.2.1", ROUTES, ifaces), undefined); // no route
  const tentative = [iface("eth0", [["fd00:1::1", 64, "tentative"]])];
  assert.equal(pickSource("fd00:1::9", ROUTES, tentative), undefined);
});
