/**
 * netstat: list Internet sockets the way net-tools' netstat does (-t -u -w -l -a -n -p), the
 * interface table (-i) and the stack's counters (-s).
 */
import type { IfaceInfo, SocketInfo } from "../kernel/bus/messages.ts";
import { netctl, ps } from "../libc/mod.ts";
import { parseCommand, tool } from "./_args.ts";
import { formatIfaceTable } from "./ifconfig.ts";

const USAGE = `Usage: netstat [-t] [-u] [-w] [-l|-a] [-n] [-p] [-e] | netstat -i | netstat -s
  -t, -u, -w  TCP, UDP, raw sockets (default: all three)
  -l          only listening sockets;  -a  all sockets (default: connected only)
  -n          numeric ports
  -p          show PID/program name
  -e          show each socket's data path: messages, or shared rings with their fill
  -i          interface table
  -s          protocol statistics`;

const SERVICES: Record<number, string> = {
  7: "echo",
  9: "discard",
  13: "daytime",
  19: "chargen",
  21: "ftp",
  22: "ssh",
  23: "telnet",
  25: "smtp",
  53: "domain",
  80: "http",
  443: "https",
  5001: "commplex-link",
};

/** An address as netstat prints it: "[::1]:80" → "::1:80"; ports named unless `numeric`. */
export function formatEndpoint(text: string, numeric: boolean): string {
  const m = /^\[?(.*?)\]?:(\d+|\*)$/.exec(text);
  if (!m) return text;
  const port = m[2] === "*" ? "*" : numeric ? m[2] : SERVICES[Number(m[2])] ?? m[2];
  return `${m[1]}:${port}`;
}

/** True for sockets netstat counts as listening: TCP LISTEN, and unconnected UDP/raw. */
export function isListening(s: SocketInfo): boolean {
  if (s.proto.startsWith("tcp")) return s.state === "LISTEN";
  return s.state === "" || s.state === "CLOSE" || /(^|:)\*$/.test(s.remote) || /:0$/.test(s.remote);
}

/** Which sockets to show. */
export interface SocketFilter {
  tcp: boolean;
  udp: boolean;
  raw: boolean;
  listening: boolean;
  all: boolean;
}

/** A socket's data path for -e: "messages", or its shared rings' fill ("rings 2M tx 1.5M rx 0"). */
export function formatDataPath(s: SocketInfo): string {
  const r = s.rings;
  if (!r) return "messages";
  const size = (n: number) =>
    n >= 1 << 20
      ? `${+(n / (1 << 20)).toFixed(1)}M`
      : n >= 1024
      ? `${Math.round(n / 1024)}K`
      : `${n}`;
  return `rings ${size(r.size)} tx ${size(r.tx)} rx ${size(r.rx)}`;
}

/**
 * The socket table with its heading; `names` maps pids to program names for -p, `extended`
 * adds the data path (-e).
 */
export function formatSockets(
  sockets: SocketInfo[],
  f: SocketFilter,
  numeric: boolean,
  names?: Map<number, string>,
  extended = false,
): string[] {
  const which = f.all ? "servers and established" : f.listening ? "only servers" : "w/o servers";
  const out = [
    `Active Internet connections (${which})`,
    "Proto Recv-Q Send-Q Local Address           Foreign Address         State" +
    (names ? "       PID/Program name" : "") +
    (extended ? (names ? "  " : "       ") + "Data path" : ""),
  ];
  for (const s of sockets) {
    const kind = s.proto.startsWith("tcp") ? f.tcp : s.proto.startsWith("udp") ? f.udp : f.raw;
    if (!kind) continue;
    if (!f.all && isListening(s) !== f.listening) continue;
    let line = `${s.proto.padEnd(5)} ${String(s.recvQ).padStart(6)} ${
      String(s.sendQ).padStart(6)
    } ${formatEndpoint(s.local, numeric).padEnd(23)} ${
      formatEndpoint(s.remote, numeric).padEnd(23)
    } ${s.state.padEnd(11)} `;
    if (names) {
      const owners = s.pids.length
        ? s.pids.map((p) => `${p}/${names.get(p) ?? "?"}`).join(",")
        : "-";
      line += extended ? owners.padEnd(17) + " " : owners;
    }
    if (extended) {
      line += s.proto.startsWith("tcp") && s.state !== "LISTEN" ? formatDataPath(s) : "-";
    }
    out.push(line.trimEnd());
  }
  return out;
}

/** Counters as indented "name: value" lines, nested objects as sections. */
export function formatStats(value: unknown, indent = ""): string[] {
  if (value === null || typeof value !== "object") return [`${indent}${String(value)}`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === "object") {
      out.push(`${indent}${k}:`, ...formatStats(v, indent + "    "));
    } else out.push(`${indent}${k}: ${String(v)}`);
  }
  return out;
}

async function netstat(args: string[]): Promise<number> {
  const { values } = parseCommand(args, {
    t: { type: "boolean", short: "t" },
    u: { type: "boolean", short: "u" },
    w: { type: "boolean", short: "w" },
    l: { type: "boolean", short: "l" },
    a: { type: "boolean", short: "a" },
    n: { type: "boolean", short: "n" },
    p: { type: "boolean", short: "p" },
    i: { type: "boolean", short: "i" },
    s: { type: "boolean", short: "s" },
    e: { type: "boolean", short: "e" },
  });
  if (values.i) {
    console.log(
      ["Kernel Interface table", ...formatIfaceTable(await netctl({ op: "ifaces" }) as IfaceInfo[])]
        .join("\n"),
    );
    return 0;
  }
  if (values.s) {
    console.log(formatStats(await netctl({ op: "stats" })).join("\n"));
    return 0;
  }
  const any = values.t || values.u || values.w;
  const filter: SocketFilter = {
    tcp: !any || values.t === true,
    udp: !any || values.u === true,
    raw: !any || values.w === true,
    listening: values.l === true,
    all: values.a === true,
  };
  const sockets = await netctl({ op: "sockets" }) as SocketInfo[];
  const names = values.p ? new Map((await ps()).map((p) => [p.pid, p.name])) : undefined;
  console.log(
    formatSockets(sockets, filter, values.n === true, names, values.e === true).join("\n"),
  );
  return 0;
}

export default tool("netstat", USAGE, netstat);
