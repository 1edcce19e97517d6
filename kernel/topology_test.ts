import assert from "node:assert/strict";
import { parseTopology, TopologyError } from "./topology.ts";

Deno.test('"addrs": ["dhcp"] starts no address on the interface and asks boot for a DHCP client', () => {
  const t = parseTopology({
    hosts: [
      { name: "a", ifaces: [{ link: "lan", addrs: ["dhcp", "fd00::5/64"] }] },
      {
        name: "b",
        ifaces: [{ link: "lan", addrs: ["10.0.0.2/24"] }, {
          name: "wan0",
          link: "x",
          addrs: ["dhcp"],
        }],
      },
    ],
  });
  assert.deepEqual(t.net.hosts[0].ifaces?.[0].addrs, ["fd00::5/64"]);
  assert.deepEqual(t.net.hosts[1].ifaces?.[1].addrs, []);
  assert.deepEqual(t.dhcp, [{ host: "a", iface: "eth0" }, { host: "b", iface: "wan0" }]);
  assert.equal(parseTopology({ hosts: [{ name: "c" }] }).dhcp, undefined);
  assert.throws(
    () => parseTopology({ hosts: [{ name: "a", ifaces: [{ link: "x", addrs: ["DHCP"] }] }] }),
    (e: Error) => e instanceof TopologyError && /addrs\[0\]: .*or "dhcp"$/.test(e.message),
  );
});
