/**
 * ndp: the IPv6 neighbour cache, shown and changed the way `ip -6 neigh` does:
 * `ndp [show] [dev IF]`, `ndp add ADDR lladdr MAC dev IF`, `ndp del ADDR [dev IF]`.
 */
import type { NeighInfo } from "../kernel/bus/messages.ts";
import { AF_INET6, netctl } from "../libc/mod.ts";
import { parseCommand, resolveHost, tool, UsageError } from "./_args.ts";

const USAGE =
  `Usage: ndp [show] [dev IF] | ndp add ADDR lladdr MAC [dev IF] | ndp del ADDR [dev IF]`;

const MAC = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/;

/** One line of `ip -6 neigh`: "fe80::2 dev eth0 lladdr 02:00:00:00:00:02 REACHABLE". */
export function formatNeigh6(n: NeighInfo): string {
  const hw = n.mac && n.state !== "incomplete" && n.state !== "failed" ? ` lladdr ${n.mac}` : "";
  return `${n.addr} dev ${n.iface}${hw} ${n.state.toUpperCase()}`;
}

/** Parse `KEY VALUE` pairs (dev, lladdr) after the address. */
export function parseNeighWords(words: string[]): { dev?: string; lladdr?: string } {
  const out: { dev?: string; lladdr?: string } = {};
  for (let k = 0; k < words.length; k += 2) {
    const key = words[k];
    const value = words[k + 1];
    if (value === undefined) throw new UsageError(`'${key}' needs an argument`);
    if (key === "dev") out.dev = value;
    else if (key === "lladdr") {
      if (!MAC.test(value)) throw new UsageError(`invalid lladdr '${value}'`);
      out.lladdr = value.toLowerCase();
    } else throw new UsageError(`unknown argument '${key}'`);
  }
  return out;
}

async function ndp(args: string[]): Promise<number> {
  const { positionals } = parseCommand(args, {});
  const [cmd = "show", ...rest] = positionals;
  if (cmd === "add" || cmd === "del") {
    const [text, ...words] = rest;
    if (!text) throw new UsageError("missing address");
    const addr = (await resolveHost(text, AF_INET6)).addr;
    const w = parseNeighWords(words);
    if (cmd === "add" && !w.lladdr) throw new UsageError("add needs lladdr MAC");
    await netctl({ op: "neighset", action: cmd, addr, mac: w.lladdr, iface: w.dev });
    return 0;
  }
  if (cmd !== "show" && cmd !== "list") throw new UsageError(`unknown command '${cmd}'`);
  const { dev } = parseNeighWords(rest);
  const all = (await netctl({ op: "neigh" }) as NeighInfo[]).filter((n) =>
    n.family === AF_INET6 && (!dev || n.iface === dev)
  );
  if (all.length) console.log(all.map(formatNeigh6).join("\n"));
  return 0;
}

export default tool("ndp", USAGE, ndp);
