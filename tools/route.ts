/**
 * route: show the routing tables the way net-tools' `route -n` does, and add or delete
 * routes through netctl.
 */
import type { RouteInfo } from "../kernel/bus/messages.ts";
import { AF_INET, AF_INET6, inet_pton, type NetCtl, netctl } from "../libc/mod.ts";
import { hostLiteral, intArg, parseCommand, resolveHost, tool, UsageError } from "./_args.ts";
import { netmask4, prefixFromNetmask } from "./_format.ts";

const USAGE =
  `Usage: route [-n] [-4|-6] | route [-6] add|del [-net|-host] DEST[/PREFIX]|default [netmask MASK] [gw GW] [metric N] [[dev] IF]
  -n        numeric output (no "default")
  -4, -6    show the IPv4 (default) or the IPv6 table
  add, del  add or delete a route; DEST "default" is 0.0.0.0/0 (or ::/0 with -6)`;

/** The IPv4 table as `route [-n]` prints it. */
export function formatRoutes4(routes: RouteInfo[], numeric: boolean): string[] {
  const out = [
    "Kernel IP routing table",
    "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface",
  ];
  for (const r of routes.filter((r) => r.family === AF_INET)) {
    const dest = !numeric && r.prefixLen === 0 ? "default" : r.dest;
    const gw = r.gateway ?? "0.0.0.0";
    out.push(
      `${dest.padEnd(15)} ${gw.padEnd(15)} ${netmask4(r.prefixLen).padEnd(15)} ${
        r.flags.padEnd(5)
      } ${String(r.metric).padEnd(6)} ${"0".padEnd(6)} ${"0".padStart(3)} ${r.iface}`,
    );
  }
  return out;
}

/** The IPv6 table as `route -6 -n` prints it. */
export function formatRoutes6(routes: RouteInfo[]): string[] {
  const out = [
    "Kernel IPv6 routing table",
    "Destination                    Next Hop                   Flag Met Ref Use If",
  ];
  for (const r of routes.filter((r) => r.family === AF_INET6)) {
    out.push(
      `${`${r.dest}/${r.prefixLen}`.padEnd(30)} ${(r.gateway ?? "::").padEnd(26)} ${
        r.flags.padEnd(4)
      } ${String(r.metric).padEnd(3)} ${"0".padEnd(1)} ${"0".padStart(5)} ${r.iface}`,
    );
  }
  return out;
}

/** Parse `add|del …` words into a netctl route request. `v6` comes from -6. */
export function parseRouteChange(words: string[], v6: boolean): Extract<NetCtl, { op: "route" }> {
  const [action, ...rest] = words;
  if (action !== "add" && action !== "del") throw new UsageError(`unknown command '${action}'`);
  let dest: string | undefined;
  let host = false;
  let mask: number | undefined;
  const req: Extract<NetCtl, { op: "route" }> = { op: "route", action, dest: "" };
  for (let k = 0; k < rest.length; k++) {
    const w = rest[k];
    const next = () => {
      if (k + 1 >= rest.length) throw new UsageError(`'${w}' needs an argument`);
      return rest[++k];
    };
    switch (w) {
      case "-net":
        break;
      case "-host":
        host = true;
        break;
      case "gw":
        req.gateway = addrArg(next(), "gateway");
        break;
      case "dev":
        req.iface = next();
        break;
      case "metric":
        req.metric = intArg(next(), "metric", 0, 2 ** 31 - 1);
        break;
      case "netmask": {
        const m = next();
        mask = prefixFromNetmask(m);
        if (mask === undefined) throw new UsageError(`invalid netmask '${m}'`);
        break;
      }
      default:
        if (dest === undefined) dest = w;
        else if (req.iface === undefined) req.iface = w;
        else throw new UsageError(`unknown argument '${w}'`);
    }
  }
  if (dest === undefined) throw new UsageError("missing destination");
  if (req.gateway?.includes(":") || dest.includes(":")) v6 = true;
  if (dest === "default") dest = v6 ? "::/0" : "0.0.0.0/0";
  const [addr, plenText] = dest.split("/");
  addrArg(addr, "destination");
  const max = v6 ? 128 : 32;
  let plen = plenText === undefined
    ? (host ? max : mask ?? max)
    : intArg(plenText, "prefix length", 0, max);
  if (host) plen = max;
  req.dest = `${addr}/${plen}`;
  return req;
}

function addrArg(text: string, what: string): string {
  if (!inet_pton(AF_INET, text) && !inet_pton(AF_INET6, text)) {
    throw new UsageError(`invalid ${what} '${text}'`);
  }
  return text;
}

/**
 * Host names in `add|del …` words replaced by their addresses, as Linux's route resolves them:
 * the gateway after "gw", and a destination that is not "default", a literal or a CIDR.
 */
export async function resolveRouteNames(words: string[], v6: boolean): Promise<string[]> {
  const out = [...words];
  const family = v6 ? AF_INET6 : undefined;
  let destSeen = false;
  for (let k = 1; k < out.length; k++) {
    const w = out[k];
    if (w === "-net" || w === "-host") continue;
    if (["dev", "metric", "netmask", "gw"].includes(w)) {
      if (w === "gw" && k + 1 < out.length && !hostLiteral(out[k + 1], family)) {
        out[k + 1] = (await resolveHost(out[k + 1], family)).addr;
      }
      k++;
      continue;
    }
    if (destSeen) continue;
    destSeen = true;
    if (w !== "default" && !w.includes("/") && !hostLiteral(w, family)) {
      out[k] = (await resolveHost(w, family)).addr;
    }
  }
  return out;
}

async function route(args: string[]): Promise<number> {
  // "-net"/"-host" are words of the add/del grammar, not options.
  const opts = args.filter((a) => a !== "-net" && a !== "-host");
  const words = args.filter((a) => a === "-net" || a === "-host");
  const { values, positionals } = parseCommand(opts, {
    n: { type: "boolean", short: "n" },
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    e: { type: "boolean", short: "e" },
    A: { type: "string", short: "A" },
  });
  if (values.A !== undefined && values.A !== "inet6" && values.A !== "inet") {
    throw new UsageError(`unknown address family '${values.A}'`);
  }
  const v6 = values["6"] === true || values.A === "inet6";
  if (positionals.length) {
    const [action, ...rest] = positionals;
    const named = await resolveRouteNames([action, ...words, ...rest], v6);
    await netctl(parseRouteChange(named, v6));
    return 0;
  }
  const routes = await netctl({ op: "routes" }) as RouteInfo[];
  const lines = v6 ? formatRoutes6(routes) : formatRoutes4(routes, values.n === true);
  console.log(lines.join("\n"));
  return 0;
}

export default tool("route", USAGE, route);
