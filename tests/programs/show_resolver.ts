/**
 * Test program: print the host's resolver configuration (netctl resolver) as JSON; with
 * arguments `NAMESERVER SEARCH` it sets them first (needs net_admin).
 */
import { netctl, print } from "../../libc/mod.ts";

export default async function main([ns, search]: string[]): Promise<number> {
  if (ns !== undefined) {
    await netctl({ op: "resolverset", nameservers: [ns], search: search ? [search] : [] });
  }
  const r = await netctl({ op: "resolver" }) as { nameservers: string[]; search: string[] };
  print(JSON.stringify({ nameservers: r.nameservers, search: r.search }));
  return 0;
}
