import { deepEqual, equal, throws } from "node:assert/strict";
import type { IfaceInfo } from "../kernel/bus/messages.ts";
import {
  classfulPrefix,
  formatIface,
  formatIfaceTable,
  formatLease,
  ifaceFlags,
  parseIfChanges,
} from "./ifconfig.ts";

const STATS = {
  rxPackets: 3,
  rxBytes: 1500,
  txPackets: 4,
  txBytes: 0,
  rxDropped: 1,
  txDropped: 0,
  drops: {},
};

const ETH: IfaceInfo = {
  name: "eth0",
  index: 2,
  driver: "e1000",
  mac: "02:00:00:00:00:01",
  mtu: 1500,
  up: true,
  linkUp: true,
  addrs: [
    { family: 10, addr: "fe80::1", prefixLen: 64, scope: "link", state: "tentative" },
    { family: 2, addr: "10.0.0.1", prefixLen: 24, scope: "global", state: "preferred" },
  ],
  stats: { ...STATS, drops: { "ipv4: bad-checksum": 2 } },
};

Deno.test("an Ethernet interface prints like net-tools ifconfig", () => {
  deepEqual(formatIface(ETH), [
    "eth0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500",
    "        inet 10.0.0.1  netmask 255.255.255.0  broadcast 10.0.0.255",
    "        inet6 fe80::1  prefixlen 64  scopeid 0x20<link>  tentative",
    "        ether 02:00:00:00:00:01  txqueuelen 1000  (Ethernet)",
    "        RX packets 3  bytes 1500 (1.5 KB)",
    "        RX errors 0  dropped 1  overruns 0  frame 0",
    "        TX packets 4  bytes 0 (0.0 B)",
    "        TX errors 0  dropped 0 overruns 0  carrier 0  collisions 0",
    "        driver e1000  index 2",
    "        drop ipv4: bad-checksum: 2",
  ]);
});

Deno.test("loopback and down interfaces get their flags", () => {
  const lo: IfaceInfo = {
    ...ETH,
    name: "lo",
    driver: "loopback",
    mtu: 65536,
    addrs: [],
    stats: STATS,
  };
  equal(ifaceFlags(lo), 73);
  equal(formatIface(lo)[0], "lo: flags=73<UP,LOOPBACK,RUNNING>  mtu 65536");
  equal(formatIface(lo)[1], "        loop  txqueuelen 1000  (Local Loopback)");
  equal(ifaceFlags({ ...ETH, up: false }), 0x1002);
  equal(ifaceFlags({ ...ETH, linkUp: false }), 0x1003);
  deepEqual(formatIfaceTable([ETH]), [
    "Iface      MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg",
    "eth0      1500        3      0      1      0        4      0      0      0 BMRU",
  ]);
});

Deno.test("configuration words become netctl requests in order", () => {
  deepEqual(parseIfChanges("eth0", ["10.0.0.1/24", "up"]), [
    { op: "ifaddr", iface: "eth0", action: "add", cidr: "10.0.0.1/24" },
    { op: "iflink", iface: "eth0", up: true },
  ]);
  deepEqual(parseIfChanges("eth0", ["192.168.1.5", "netmask", "255.255.0.0", "mtu", "9000"]), [
    { op: "ifaddr", iface: "eth0", action: "add", cidr: "192.168.1.5/16" },
    { op: "iflink", iface: "eth0", mtu: 9000 },
  ]);
  deepEqual(parseIfChanges("eth0", ["del", "2001:db8::1/64", "down"]), [
    { op: "ifaddr", iface: "eth0", action: "del", cidr: "2001:db8::1/64" },
    { op: "iflink", iface: "eth0", up: false },
  ]);
  deepEqual(parseIfChanges("eth0", ["add", "2001:db8::2"])[0], {
    op: "ifaddr",
    iface: "eth0",
    action: "add",
    cidr: "2001:db8::2/64",
  });
  throws(() => parseIfChanges("eth0", ["mtu"]), /needs an argument/);
  throws(() => parseIfChanges("eth0", ["mtu", "10"]), /invalid MTU/);
  throws(() => parseIfChanges("eth0", ["10.0.0.1/33"]), /invalid prefix length/);
  throws(() => parseIfChanges("eth0", ["bogus"]), /unknown argument/);
  throws(() => parseIfChanges("eth0", ["netmask", "255.0.0.0"]), /invalid netmask use/);
});

Deno.test("addresses without a prefix get the classful default", () => {
  deepEqual([
    classfulPrefix("10.1.2.3"),
    classfulPrefix("172.16.0.1"),
    classfulPrefix("192.168.0.1"),
  ], [8, 16, 24]);
});

Deno.test("a DHCP lease shows under the address it gave, with its times from now", () => {
  const now = 1_000_000;
  const lines = formatIface({
    ...ETH,
    addrs: [ETH.addrs[1]],
    lease: {
      cidr: "10.0.0.1/24",
      server: "10.0.0.254",
      router: "10.0.0.254",
      dns: ["10.0.0.254", "10.0.0.253"],
      domain: "lab.test",
      state: "RENEWING",
      leaseSecs: 120,
      obtained: now - 70_000,
      renewAt: now - 10_000,
      rebindAt: now + 35_000,
      expiresAt: now + 50_000,
    },
  }, now);
  deepEqual(lines.slice(1, 4), [
    "        inet 10.0.0.1  netmask 255.255.255.0  broadcast 10.0.0.255",
    "        dhcp 10.0.0.1/24 from 10.0.0.254  RENEWING  lease 120 s  renew now  rebind in 35 s  expires in 50 s",
    "        dhcp router 10.0.0.254  dns 10.0.0.254,10.0.0.253  domain lab.test",
  ]);
  const inf = formatLease({
    cidr: "10.0.0.1/8",
    server: "10.0.0.2",
    dns: [],
    state: "BOUND",
    obtained: 0,
  }, 5);
  deepEqual(inf, [
    "        dhcp 10.0.0.1/8 from 10.0.0.2  BOUND  lease infinite",
    "        dhcp no router",
  ]);
});
