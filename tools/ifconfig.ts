/**
 * ifconfig: show interfaces the way net-tools' ifconfig does, and change their addresses, MTU
 * and administrative state through netctl.
 */
import type { IfaceAddr, IfaceInfo, LeaseInfo } from "../kernel/bus/messages.ts";
import { netctl } from "../libc/mod.ts";
import { intArg, parseCommand, tool, UsageError } from "./_args.ts";
import { broadcast4, formatBytesScaled, netmask4, prefixFromNetmask } from "./_format.ts";

const USAGE =
  `Usage: ifconfig [-a] [-s] [IF] | ifconfig IF [ADDR/PREFIX [netmask MASK]] [del ADDR/PREFIX] [up|down] [mtu N]
  (no args)          show all interfaces
  -s                 short table (like netstat -i)
  IF                 show one interface
  IF ADDR/PREFIX     add an address (IPv4 or IPv6); "add ADDR/PREFIX" works too
  IF del ADDR/PREFIX remove an address
  IF up|down         bring the interface up or down
  IF mtu N           set the MTU`;

/** Linux interface flag bits, in the order ifconfig names them. */
const FLAGS: Array<[number, string]> = [
  [0x1, "UP"],
  [0x2, "BROADCAST"],
  [0x8, "LOOPBACK"],
  [0x40, "RUNNING"],
  [0x1000, "MULTICAST"],
];

/** The Linux flags word of an interface (UP, BROADCAST, LOOPBACK, RUNNING, MULTICAST). */
export function ifaceFlags(i: IfaceInfo): number {
  const loop = i.driver === "loopback";
  let f = loop ? 0x8 : 0x2 | 0x1000;
  if (i.up) f |= 0x1;
  if (i.up && i.linkUp) f |= 0x40;
  return f;
}

function scopeId(a: IfaceAddr): string {
  switch (a.scope) {
    case "host":
      return "0x10<host>";
    case "link":
      return "0x20<link>";
    case "site":
      return "0x40<site>";
    default:
      return "0x0<global>";
  }
}

/**
 * The DHCP lease lines of an interface (tools/dhcpc.ts records its lease with netctl `iflease`);
 * times are shown relative to `now` (wall-clock ms).
 */
export function formatLease(l: LeaseInfo, now: number): string[] {
  const pad = "        ";
  const inSecs = (t: number | undefined) =>
    t === undefined ? "never" : t <= now ? "now" : `in ${Math.ceil((t - now) / 1000)} s`;
  const times = l.leaseSecs === undefined
    ? "lease infinite"
    : `lease ${l.leaseSecs} s  renew ${inSecs(l.renewAt)}  rebind ${inSecs(l.rebindAt)}  ` +
      `expires ${inSecs(l.expiresAt)}`;
  const opts = [
    l.router ? `router ${l.router}` : "no router",
    ...(l.dns.length ? [`dns ${l.dns.join(",")}`] : []),
    ...(l.domain ? [`domain ${l.domain}`] : []),
    ...(l.mtu ? [`mtu ${l.mtu}`] : []),
  ];
  return [
    `${pad}dhcp ${l.cidr} from ${l.server}  ${l.state}  ${times}`,
    `${pad}dhcp ${opts.join("  ")}`,
  ];
}

/** One interface's block as net-tools' ifconfig prints it (without the blank line after it). */
export function formatIface(i: IfaceInfo, now = Date.now()): string[] {
  const flags = ifaceFlags(i);
  const names = FLAGS.filter(([bit]) => flags & bit).map(([, n]) => n).join(",");
  const pad = "        ";
  const out = [`${i.name}: flags=${flags}<${names}>  mtu ${i.mtu}`];
  for (const a of i.addrs) {
    if (a.family === 2) {
      let line = `${pad}inet ${a.addr}  netmask ${netmask4(a.prefixLen)}`;
      if (i.driver !== "loopback" && a.prefixLen < 31) {
        line += `  broadcast ${broadcast4(a.addr, a.prefixLen)}`;
      }
      out.push(line);
    }
  }
  if (i.lease) out.push(...formatLease(i.lease, now));
  for (const a of i.addrs) {
    if (a.family === 10) {
      const state = a.state && a.state !== "preferred" ? `  ${a.state}` : "";
      out.push(`${pad}inet6 ${a.addr}  prefixlen ${a.prefixLen}  scopeid ${scopeId(a)}${state}`);
    }
  }
  out.push(
    i.driver === "loopback"
      ? `${pad}loop  txqueuelen 1000  (Local Loopback)`
      : `${pad}ether ${i.mac}  txqueuelen 1000  (Ethernet)`,
  );
  const s = i.stats;
  out.push(
    `${pad}RX packets ${s.rxPackets}  bytes ${s.rxBytes} (${formatBytesScaled(s.rxBytes)})`,
    `${pad}RX errors 0  dropped ${s.rxDropped}  overruns 0  frame 0`,
    `${pad}TX packets ${s.txPackets}  bytes ${s.txBytes} (${formatBytesScaled(s.txBytes)})`,
    `${pad}TX errors 0  dropped ${s.txDropped} overruns 0  carrier 0  collisions 0`,
    `${pad}driver ${i.driver}  index ${i.index}`,
  );
  for (const [reason, n] of Object.entries(s.drops ?? {}).sort()) {
    out.push(`${pad}drop ${reason}: ${n}`);
  }
  return out;
}

/** The `ifconfig -s` / `netstat -i` table. */
export function formatIfaceTable(ifs: IfaceInfo[]): string[] {
  const out = ["Iface      MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg"];
  for (const i of ifs) {
    const f = ifaceFlags(i);
    const flg = (f & 0x2 ? "B" : "") + (f & 0x8 ? "L" : "") + (f & 0x1000 ? "M" : "") +
      (f & 0x40 ? "R" : "") + (f & 0x1 ? "U" : "");
    const s = i.stats;
    out.push(
      `${i.name.padEnd(8)} ${String(i.mtu).padStart(5)} ${String(s.rxPackets).padStart(8)} ${
        "0".padStart(6)
      } ${String(s.rxDropped).padStart(6)} ${"0".padStart(6)} ${String(s.txPackets).padStart(8)} ${
        "0".padStart(6)
      } ${String(s.txDropped).padStart(6)} ${"0".padStart(6)} ${flg}`,
    );
  }
  return out;
}

/** A configuration change parsed from `ifconfig IF …` words. */
export type IfChange =
  | { op: "ifaddr"; iface: string; action: "add" | "del"; cidr: string }
  | { op: "iflink"; iface: string; up?: boolean; mtu?: number };

/** Parse the words after the interface name into netctl requests, in order. */
export function parseIfChanges(iface: string, words: string[]): IfChange[] {
  const out: IfChange[] = [];
  for (let k = 0; k < words.length; k++) {
    const w = words[k];
    const next = () => {
      if (k + 1 >= words.length) throw new UsageError(`'${w}' needs an argument`);
      return words[++k];
    };
    if (w === "up" || w === "down") out.push({ op: "iflink", iface, up: w === "up" });
    else if (w === "mtu") out.push({ op: "iflink", iface, mtu: intArg(next(), "MTU", 68, 65535) });
    else if (w === "del" || w === "add") {
      out.push({ op: "ifaddr", iface, action: w, cidr: cidrArg(next()) });
    } else if (w === "netmask") {
      const last = out[out.length - 1];
      const plen = prefixFromNetmask(next());
      if (!last || last.op !== "ifaddr" || last.action !== "add" || plen === undefined) {
        throw new UsageError(`invalid netmask use: '${words[k]}'`);
      }
      last.cidr = `${last.cidr.split("/")[0]}/${plen}`;
    } else if (/^[0-9a-fA-F:.]+(\/\d+)?$/.test(w) && (w.includes(".") || w.includes(":"))) {
      out.push({ op: "ifaddr", iface, action: "add", cidr: cidrArg(w) });
    } else throw new UsageError(`unknown argument '${w}'`);
  }
  return out;
}

function cidrArg(text: string): string {
  const [addr, plen] = text.split("/");
  const v6 = addr.includes(":");
  if (!v6 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) {
    throw new UsageError(`invalid address '${text}'`);
  }
  const max = v6 ? 128 : 32;
  const len = plen === undefined
    ? (v6 ? 64 : classfulPrefix(addr))
    : intArg(plen, "prefix length", 0, max);
  return `${addr}/${len}`;
}

/** The classful prefix net-tools assumes for an IPv4 address given without one. */
export function classfulPrefix(addr: string): number {
  const first = Number(addr.split(".")[0]);
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

async function ifconfig(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    a: { type: "boolean", short: "a" },
    s: { type: "boolean", short: "s" },
  });
  if (positionals.length <= 1) {
    const all = await netctl({ op: "ifaces" }) as IfaceInfo[];
    const ifs = positionals.length ? all.filter((i) => i.name === positionals[0]) : all;
    if (positionals.length && ifs.length === 0) {
      console.error(`${positionals[0]}: error fetching interface information: Device not found`);
      return 1;
    }
    const lines = values.s ? formatIfaceTable(ifs) : ifs.flatMap((i) => [...formatIface(i), ""]);
    console.log(lines.join("\n"));
    return 0;
  }
  const [iface, ...words] = positionals;
  for (const change of parseIfChanges(iface, words)) await netctl(change);
  return 0;
}

export default tool("ifconfig", USAGE, ifconfig);
