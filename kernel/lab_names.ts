/**
 * Names inside a lab: every host of a topology knows every other host by name with no DNS
 * server, as if boot had written one /etc/hosts for the whole network. Each host's interface
 * addresses map to its name (a router's several addresses all answer to its one name; the
 * resolver's RFC 6724 sort picks the one on the asker's own subnet).
 */
import type { HostEntry } from "./bus/messages.ts";
import type { NetSetup } from "./net_setup.ts";

/** What Debian's /etc/hosts starts with. */
const LOOPBACK: HostEntry[] = [
  { addr: "127.0.0.1", names: ["localhost"] },
  { addr: "::1", names: ["localhost", "ip6-localhost", "ip6-loopback"] },
];

/** The hosts table every host of `setup` gets: loopback names, then each host's addresses. */
export function labHosts(setup: NetSetup): HostEntry[] {
  const entries = [...LOOPBACK];
  for (const h of setup.hosts) {
    for (const f of h.ifaces ?? []) {
      for (const cidr of f.addrs ?? []) {
        const addr = cidr.split("/")[0];
        // Only literals: "dhcp" and the like have no address yet.
        if (/^[0-9.]+$/.test(addr) || addr.includes(":")) {
          entries.push({ addr, names: [h.name.toLowerCase()] });
        }
      }
    }
  }
  return entries;
}
