/**
 * arp: show the IPv4 neighbour cache the way net-tools' `arp -n` (table) and `arp -a` (BSD
 * style) print it, and add (-s) or delete (-d) entries through netctl.
 */
import type { NeighInfo } from "../kernel/bus/messages.ts";
import { AF_INET, netctl } from "../libc/mod.ts";
import { parseCommand, resolveHost, str, tool, UsageError } from "./_args.ts";

const USAGE = `Usage: arp [-n] [-a] [-i IF] | arp -s IP MAC [-i IF] | arp -d IP [-i IF]
  -n        numeric table (default)
  -a        BSD-style listing
  -i IF     only this interface
  -s IP MAC add a permanent entry
  -d IP     delete an entry`;

const MAC = /^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2}){5}$/;

/** Flags column: C complete, M permanent. */
function flags(n: NeighInfo): string {
  if (n.state === "permanent") return "CM";
  return n.mac ? "C" : "";
}

/** The `arp -n` table. */
export function formatArpTable(entries: NeighInfo[]): string[] {
  const out = ["Address                  HWtype  HWaddress           Flags Mask            Iface"];
  for (const n of entries) {
    const hw = n.mac && n.state !== "incomplete" && n.state !== "failed";
    out.push(
      `${n.addr.padEnd(23)}  ${(hw ? "ether" : "").padEnd(8)}${
        (hw ? n.mac! : "(incomplete)").padEnd(20)
      }${(hw ? flags(n) : "").padEnd(6)}${"".padEnd(15)} ${n.iface}`,
    );
  }
  return out;
}

/** The `arp -a` listing: "? (10.0.0.2) at 02:00:00:00:00:02 [ether] on eth0". */
export function formatArpBsd(entries: NeighInfo[]): string[] {
  return entries.map((n) => {
    const hw = n.mac && n.state !== "incomplete" && n.state !== "failed";
    const perm = n.state === "permanent" ? " PERM" : "";
    return hw
      ? `? (${n.addr}) at ${n.mac} [ether]${perm} on ${n.iface}`
      : `? (${n.addr}) at <incomplete> on ${n.iface}`;
  });
}

async function arp(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    n: { type: "boolean", short: "n" },
    a: { type: "boolean", short: "a" },
    i: { type: "string", short: "i" },
    s: { type: "boolean", short: "s" },
    d: { type: "boolean", short: "d" },
    v: { type: "boolean", short: "v" },
  });
  const iface = str(values, "i");
  if (values.s || values.d) {
    const [text, mac] = positionals;
    if (!text) throw new UsageError("missing address");
    const addr = (await resolveHost(text, AF_INET)).addr;
    if (values.s) {
      if (!mac || !MAC.test(mac)) throw new UsageError(`invalid hardware address '${mac ?? ""}'`);
      if (positionals.length > 2) throw new UsageError("too many arguments");
      await netctl({ op: "neighset", action: "add", addr, mac: mac.toLowerCase(), iface });
    } else {
      if (positionals.length > 1) throw new UsageError("too many arguments");
      await netctl({ op: "neighset", action: "del", addr, iface });
    }
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("too many arguments");
  const want = positionals.length ? (await resolveHost(positionals[0], AF_INET)).addr : undefined;
  const all = (await netctl({ op: "neigh" }) as NeighInfo[]).filter((n) =>
    n.family === AF_INET && (!iface || n.iface === iface) && (!want || n.addr === want)
  );
  if (positionals.length && all.length === 0) {
    console.log(`${positionals[0]} -- no entry`);
    return 1;
  }
  const lines = values.a ? formatArpBsd(all) : formatArpTable(all);
  if (lines.length) console.log(lines.join("\n"));
  return 0;
}

export default tool("arp", USAGE, arp);
