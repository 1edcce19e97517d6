import { deepEqual, throws } from "node:assert/strict";
import type { RouteInfo } from "../kernel/bus/messages.ts";
import { formatRoutes4, formatRoutes6, parseRouteChange } from "./route.ts";

const ROUTES: RouteInfo[] = [
  {
    family: 2,
    dest: "0.0.0.0",
    prefixLen: 0,
    gateway: "10.0.0.254",
    iface: "eth0",
    metric: 100,
    flags: "UG",
  },
  { family: 2, dest: "10.0.0.0", prefixLen: 24, iface: "eth0", metric: 0, flags: "U" },
  { family: 10, dest: "fe80::", prefixLen: 64, iface: "eth0", metric: 256, flags: "U" },
  {
    family: 10,
    dest: "::",
    prefixLen: 0,
    gateway: "fe80::1",
    iface: "eth0",
    metric: 1024,
    flags: "UG",
  },
];

Deno.test("the IPv4 table prints like route -n, and route names the default", () => {
  deepEqual(formatRoutes4(ROUTES, true), [
    "Kernel IP routing table",
    "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface",
    "0.0.0.0         10.0.0.254      0.0.0.0         UG    100    0        0 eth0",
    "10.0.0.0        0.0.0.0         255.255.255.0   U     0      0        0 eth0",
  ]);
  deepEqual(formatRoutes4(ROUTES, false)[2].slice(0, 16), "default         ");
});

Deno.test("the IPv6 table prints like route -6 -n", () => {
  deepEqual(formatRoutes6(ROUTES), [
    "Kernel IPv6 routing table",
    "Destination                    Next Hop                   Flag Met Ref Use If",
    "fe80::/64                      ::                         U    256 0     0 eth0",
    "::/0                           fe80::1                    UG   1024 0     0 eth0",
  ]);
});

Deno.test("add and del parse into netctl route requests", () => {
  deepEqual(parseRouteChange(["add", "default", "gw", "10.0.0.254"], false), {
    op: "route",
    action: "add",
    dest: "0.0.0.0/0",
    gateway: "10.0.0.254",
  });
  deepEqual(
    parseRouteChange([
      "add",
      "-net",
      "10.1.0.0",
      "netmask",
      "255.255.0.0",
      "dev",
      "eth1",
      "metric",
      "5",
    ], false),
    {
      op: "route",
      action: "add",
      dest: "10.1.0.0/16",
      iface: "eth1",
      metric: 5,
    },
  );
  deepEqual(parseRouteChange(["del", "-host", "10.0.0.9", "eth0"], false), {
    op: "route",
    action: "del",
    dest: "10.0.0.9/32",
    iface: "eth0",
  });
  deepEqual(
    parseRouteChange(["add", "default", "gw", "fe80::1", "dev", "eth0"], false).dest,
    "::/0",
  );
  deepEqual(parseRouteChange(["add", "2001:db8::/32", "dev", "eth0"], true).dest, "2001:db8::/32");
  throws(() => parseRouteChange(["add"], false), /missing destination/);
  throws(() => parseRouteChange(["flush"], false), /unknown command/);
  throws(() => parseRouteChange(["add", "10.0.0.0/40"], false), /invalid prefix length/);
  throws(() => parseRouteChange(["add", "default", "gw", "nowhere"], false), /invalid gateway/);
  throws(() => parseRouteChange(["add", "default", "gw"], false), /needs an argument/);
});
