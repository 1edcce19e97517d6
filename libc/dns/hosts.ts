/** The hosts table (/etc/hosts): consulted before DNS, both ways. */
import type { HostEntry } from "../../kernel/bus/messages.ts";
import { sameName } from "../../netstack/wire/dns_name.ts";

/** The addresses `name` has in `hosts`, in table order (IPv4 and IPv6 literals). */
export function hostsLookup(hosts: readonly HostEntry[], name: string): string[] {
  const want = name.replace(/\.$/, "");
  const out: string[] = [];
  for (const e of hosts) {
    if (e.names.some((n) => sameName(n, want)) && !out.includes(e.addr)) out.push(e.addr);
  }
  return out;
}

/** The first name `addr` (canonical text) has in `hosts`, as glibc's files backend answers. */
export function hostsReverse(hosts: readonly HostEntry[], addr: string): string | undefined {
  return hosts.find((e) => e.addr === addr)?.names[0];
}

/** The canonical name of `name` in `hosts` (the first name on its first line). */
export function hostsCanonical(hosts: readonly HostEntry[], name: string): string | undefined {
  const want = name.replace(/\.$/, "");
  return hosts.find((e) => e.names.some((n) => sameName(n, want)))?.names[0];
}
