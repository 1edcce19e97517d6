/**
 * resolvconf: show or change the host's resolver configuration (Serin's /etc/resolv.conf, kept by
 * the netstack: netstack/resolver_conf.ts). With no arguments it prints it in resolv.conf's
 * format; `nameserver IP…`, `search DOMAIN…` and `options timeout:N attempts:N ndots:N` replace
 * those parts (net_admin, as editing /etc/resolv.conf needs root).
 */
import type { ResolverConf } from "../kernel/bus/messages.ts";
import { netctl } from "../libc/mod.ts";
import { intArg, parseCommand, tool, UsageError } from "./_args.ts";

const USAGE = `Usage: resolvconf [nameserver [IP...] | search [DOMAIN...] | options OPT...]
  (no arguments)      print the configuration as resolv.conf would hold it
  nameserver IP...    the DNS servers, at most 3 (none: use only the hosts table)
  search DOMAIN...    the search domains, at most 6
  options OPT...      timeout:SECONDS (1-30) attempts:N (1-5) ndots:N (0-15)`;

/** The configuration as resolv.conf text. */
export function formatResolvConf(c: ResolverConf): string {
  const lines = c.nameservers.map((n) => `nameserver ${n}`);
  if (c.search.length) lines.push(`search ${c.search.join(" ")}`);
  lines.push(`options timeout:${c.timeout} attempts:${c.attempts} ndots:${c.ndots}`);
  return lines.join("\n");
}

async function resolvconf(args: string[]): Promise<number> {
  const { positionals } = parseCommand(args, {});
  const [what, ...rest] = positionals;
  if (what === undefined) {
    console.log(formatResolvConf(await netctl({ op: "resolver" }) as ResolverConf));
    return 0;
  }
  switch (what) {
    case "nameserver":
      await netctl({ op: "resolverset", nameservers: rest });
      return 0;
    case "search":
      await netctl({ op: "resolverset", search: rest });
      return 0;
    case "options": {
      const set: Partial<ResolverConf> = {};
      for (const o of rest) {
        const m = /^(timeout|attempts|ndots):(\d+)$/.exec(o);
        if (!m) throw new UsageError(`unknown option '${o}'`);
        const [lo, hi] = m[1] === "timeout" ? [1, 30] : m[1] === "attempts" ? [1, 5] : [0, 15];
        set[m[1] as "timeout" | "attempts" | "ndots"] = intArg(m[2], m[1], lo, hi);
      }
      await netctl({ op: "resolverset", ...set });
      return 0;
    }
    default:
      throw new UsageError(`unknown keyword '${what}'`);
  }
}

export default tool("resolvconf", USAGE, resolvconf);
