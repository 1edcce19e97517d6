import { deepEqual } from "node:assert/strict";
import type { NeighInfo } from "../kernel/bus/messages.ts";
import { formatArpBsd, formatArpTable } from "./arp.ts";

const ENTRIES: NeighInfo[] = [
  { family: 2, addr: "10.0.0.2", mac: "02:00:00:00:00:02", iface: "eth0", state: "reachable" },
  { family: 2, addr: "10.0.0.3", iface: "eth0", state: "incomplete" },
  { family: 2, addr: "10.0.0.4", mac: "02:00:00:00:00:04", iface: "eth1", state: "permanent" },
];

Deno.test("arp -n prints the net-tools table", () => {
  deepEqual(formatArpTable(ENTRIES), [
    "Address                  HWtype  HWaddress           Flags Mask            Iface",
    "10.0.0.2                 ether   02:00:00:00:00:02   C                     eth0",
    "10.0.0.3                         (incomplete)                              eth0",
    "10.0.0.4                 ether   02:00:00:00:00:04   CM                    eth1",
  ]);
});

Deno.test("arp -a prints the BSD listing", () => {
  deepEqual(formatArpBsd(ENTRIES), [
    "? (10.0.0.2) at 02:00:00:00:00:02 [ether] on eth0",
    "? (10.0.0.3) at <incomplete> on eth0",
    "? (10.0.0.4) at 02:00:00:00:00:04 [ether] PERM on eth1",
  ]);
});
