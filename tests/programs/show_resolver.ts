/** Test program: print the host's resolver configuration (netctl resolver) as JSON. */
import { netctl, print } from "../../libc/mod.ts";

export default async function main(): Promise<number> {
  const r = await netctl({ op: "resolver" }) as { nameservers: string[]; search: string[] };
  print(JSON.stringify({ nameservers: r.nameservers, search: r.search }));
  return 0;
}
