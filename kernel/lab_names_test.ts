import assert from "node:assert/strict";
import { labHosts } from "./lab_names.ts";

Deno.test("lab names: loopback first, then every host's interface addresses by name", () => {
  const hosts = labHosts({
    hosts: [
      { name: "left", ifaces: [{ link: "sw1", addrs: ["10.1.0.2/24"] }] },
      {
        name: "Router",
        ifaces: [
          { link: "sw1", addrs: ["10.1.0.1/24", "fd00:1::1/64"] },
          { link: "sw2", addrs: ["10.2.0.1/24", "dhcp"] },
        ],
      },
      { name: "bare" },
    ],
  });
  assert.deepEqual(hosts.map((e) => `${e.addr} ${e.names.join(" ")}`), [
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost ip6-loopback",
    "10.1.0.2 left",
    "10.1.0.1 router",
    "fd00:1::1 router",
    "10.2.0.1 router",
  ]);
});
