/**
 * One-line, tcpdump-like text for a frame, for sniffers, debug logs and test failure messages:
 *
 * ```text
 * IPv4 10.0.0.1 > 10.0.0.2 TCP 80 > 49152 [S.] seq=1 ack=2 win=65160 len=0 mss=1460,sackOK,...
 * ARP who-has 10.0.0.2 tell 10.0.0.1
 * IPv6 fe80::1 > ff02::1:ff00:2 ICMPv6 neighbor solicitation who-has fd00::2, src lladdr ...
 * IPv4 10.0.0.1 > 10.0.0.2 frag id=62643 off=1480 + UDP len=1480
 * ```
 *
 * Never throws: a layer that fails to parse prints `malformed (reason)` after whatever the outer
 * layers already showed. Checksums are verified, so a bad one shows as `malformed`.
 */
import { formatIPv4, formatIPv6, formatMac } from "./addr.ts";
import { ArpOp, parseArp } from "./arp.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "./checksum.ts";
import { WireError } from "./errors.ts";
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  etherTypeName,
  parseEthernet,
} from "./ethernet.ts";
import { type Icmpv4Repr, parseIcmpv4 } from "./icmpv4.ts";
import { type Icmpv6Repr, parseIcmpv6 } from "./icmpv6.ts";
import { parseIgmp } from "./igmp.ts";
import { IpProtocol, ipProtocolName, type Ipv4Repr, parseIpv4 } from "./ipv4.ts";
import { Ipv6NextHeader, type Ipv6Repr, parseIpv6 } from "./ipv6.ts";
import { type Ipv6ExtHeader, walkIpv6Extensions } from "./ipv6_ext.ts";
import type { MldRepr } from "./mld.ts";
import type { NdpOption, NdpRepr } from "./ndp.ts";
import { parseTcp, TcpFlag, type TcpOptions, type TcpRepr } from "./tcp.ts";
import { parseUdp } from "./udp.ts";

/** Options for {@link formatFrame}. */
export interface FormatOptions {
  /** Prefix the line with the Ethernet source and destination MACs. Default false. */
  link?: boolean;
}

/**
 * One line describing an Ethernet II frame. Never throws.
 *
 * @example
 * ```ts
 * formatFrame(frame); // "ARP who-has 10.231.0.2 tell 10.231.0.1"
 * ```
 */
export function formatFrame(frame: Uint8Array, options: FormatOptions = {}): string {
  return guard("", () => {
    const eth = parseEthernet(frame);
    let prefix = options.link ? `${formatMac(eth.src)} > ${formatMac(eth.dst)}, ` : "";
    if (eth.vlan) prefix += `vlan ${eth.vlan.vid} p${eth.vlan.pcp}, `;
    return prefix + formatEtherPayload(eth.ethertype, eth.payload);
  });
}

/** One line describing a bare IP packet (version taken from the first nibble). Never throws. */
export function formatIpPacket(packet: Uint8Array): string {
  if (packet.length === 0) return "malformed (ip: truncated)";
  switch (packet[0] >>> 4) {
    case 4:
      return formatIpv4Packet(packet);
    case 6:
      return formatIpv6Packet(packet);
    default:
      return `malformed (ip: bad-version: version ${packet[0] >>> 4})`;
  }
}

function formatEtherPayload(ethertype: number, payload: Uint8Array): string {
  switch (ethertype) {
    case ETHERTYPE_ARP:
      return guard("ARP", () => formatArp(payload));
    case ETHERTYPE_IPV4:
      return formatIpv4Packet(payload);
    case ETHERTYPE_IPV6:
      return formatIpv6Packet(payload);
    default:
      return `ethertype ${etherTypeName(ethertype)} len=${payload.length}`;
  }
}

/** Run `fn`; on any exception return "`label` malformed (reason)" instead. */
function guard(label: string, fn: () => string): string {
  try {
    return fn();
  } catch (e) {
    return `${label ? `${label} ` : ""}malformed (${reasonOf(e, label)})`;
  }
}

/** The reason text for an exception: a WireError's message, else the error's own message. */
function reasonOf(e: unknown, label: string): string {
  if (e instanceof WireError) return e.message;
  return `${label || "frame"}: ${e instanceof Error ? e.message : String(e)}`;
}

function formatArp(payload: Uint8Array): string {
  const arp = parseArp(payload);
  const sender = formatIPv4(arp.senderIp);
  const target = formatIPv4(arp.targetIp);
  switch (arp.op) {
    case ArpOp.REQUEST:
      return `ARP who-has ${target} tell ${sender}`;
    case ArpOp.REPLY:
      return `ARP ${sender} is-at ${formatMac(arp.senderMac)}`;
    default:
      return `ARP op ${arp.op} ${sender} > ${target}`;
  }
}

// ---------------------------------------------------------------------------------------------
// IPv4

function formatIpv4Packet(bytes: Uint8Array): string {
  let ip: Ipv4Repr;
  try {
    ip = parseIpv4(bytes);
  } catch (e) {
    return `IPv4 malformed (${reasonOf(e, "ipv4")})`;
  }
  const head = `IPv4 ${formatIPv4(ip.src)} > ${formatIPv4(ip.dst)}`;
  return guard(head, () => {
    const name = ipProtocolName(ip.protocol);
    if (ip.moreFragments || ip.fragmentOffset > 0) {
      const more = ip.moreFragments ? " +" : "";
      return `${head} frag id=${ip.ident} off=${ip.fragmentOffset}${more} ${name} ` +
        `len=${ip.payload.length}`;
    }
    const p = ip.payload;
    const pseudo = pseudoHeaderSum4(ip.src, ip.dst, ip.protocol, p.length);
    let rest: string;
    switch (ip.protocol) {
      case IpProtocol.TCP:
        rest = guard("TCP", () => formatTcp(parseTcp(p, { pseudoSum: pseudo })));
        break;
      case IpProtocol.UDP:
        rest = guard("UDP", () => formatUdp(p, pseudo, 4));
        break;
      case IpProtocol.ICMP:
        rest = guard("ICMP", () => formatIcmpv4(parseIcmpv4(p)));
        break;
      case IpProtocol.IGMP:
        rest = guard("IGMP", () => formatIgmp(p));
        break;
      default:
        rest = `${name} len=${p.length}`;
    }
    return `${head} ${rest}`;
  });
}

function formatUdp(p: Uint8Array, pseudoSum: number, ipVersion: 4 | 6): string {
  const udp = parseUdp(p, { pseudoSum, ipVersion });
  return `UDP ${udp.srcPort} > ${udp.dstPort} len=${udp.payload.length}`;
}

const UNREACH4: Record<number, string> = {
  0: "net",
  1: "host",
  2: "protocol",
  3: "port",
  4: "frag-needed",
  5: "source-route",
  9: "net-prohibited",
  10: "host-prohibited",
  13: "admin-prohibited",
};

function formatIcmpv4(m: Icmpv4Repr): string {
  switch (m.kind) {
    case "echo-request":
    case "echo-reply":
      return `ICMP echo ${m.kind === "echo-request" ? "request" : "reply"} ` +
        `id=${m.identifier} seq=${m.sequence} len=${m.data.length}`;
    case "dst-unreachable": {
      const what = UNREACH4[m.code] ?? `code ${m.code}`;
      const mtu = m.code === 4 ? ` mtu=${m.nextHopMtu}` : "";
      return `ICMP unreachable ${what}${mtu} for ${quote4(m.invoking)}`;
    }
    case "source-quench":
      return `ICMP source quench for ${quote4(m.invoking)}`;
    case "redirect":
      return `ICMP redirect to ${formatIPv4(m.gateway)} code ${m.code} for ${quote4(m.invoking)}`;
    case "time-exceeded":
      return `ICMP time exceeded ${m.code === 0 ? "ttl" : m.code === 1 ? "reassembly" : m.code}` +
        ` for ${quote4(m.invoking)}`;
    case "param-problem":
      return `ICMP parameter problem pointer=${m.pointer} for ${quote4(m.invoking)}`;
    case "other":
      return `ICMP type ${m.type} code ${m.code} len=${m.rest.length + 4}`;
    default: {
      const never: never = m;
      return `ICMP malformed (unknown ${JSON.stringify(never)})`;
    }
  }
}

/** A short summary of a quoted IPv4 header (and ports), read defensively from raw bytes. */
function quote4(b: Uint8Array): string {
  if (b.length < 20 || b[0] >>> 4 !== 4) return `${b.length} bytes`;
  const u32 = (i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  const hl = (b[0] & 0x0f) << 2;
  return `${formatIPv4(u32(12))} > ${formatIPv4(u32(16))} ${quoteTransport(b[9], b, hl)}`;
}

function quoteTransport(protocol: number, b: Uint8Array, off: number): string {
  const name = ipProtocolName(protocol);
  if (
    (protocol === IpProtocol.TCP || protocol === IpProtocol.UDP) && off >= 20 &&
    b.length >= off + 4
  ) {
    const sp = (b[off] << 8) | b[off + 1];
    const dp = (b[off + 2] << 8) | b[off + 3];
    return `${name} ${sp} > ${dp}`;
  }
  return name;
}

function formatIgmp(p: Uint8Array): string {
  const m = parseIgmp(p);
  switch (m.kind) {
    case "query":
      return m.group === 0 ? "IGMP general query" : `IGMP query ${formatIPv4(m.group)}`;
    case "report-v1":
      return `IGMP v1 report ${formatIPv4(m.group)}`;
    case "report-v2":
      return `IGMP v2 report ${formatIPv4(m.group)}`;
    case "leave":
      return `IGMP leave ${formatIPv4(m.group)}`;
    case "other":
      return `IGMP type 0x${m.type.toString(16)} len=${p.length}`;
    default: {
      const never: never = m;
      return `IGMP malformed (unknown ${JSON.stringify(never)})`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TCP

/** tcpdump's flag letters, in tcpdump's order: ACK prints as ".". */
const TCP_FLAG_LETTERS: ReadonlyArray<[number, string]> = [
  [TcpFlag.FIN, "F"],
  [TcpFlag.SYN, "S"],
  [TcpFlag.RST, "R"],
  [TcpFlag.PSH, "P"],
  [TcpFlag.ACK, "."],
  [TcpFlag.URG, "U"],
  [TcpFlag.ECE, "E"],
  [TcpFlag.CWR, "W"],
];

function formatTcp(t: TcpRepr): string {
  let flags = "";
  for (const [bit, letter] of TCP_FLAG_LETTERS) if (t.flags & bit) flags += letter;
  let s = `TCP ${t.srcPort} > ${t.dstPort} [${flags || "none"}] seq=${t.seq}`;
  if (t.flags & TcpFlag.ACK) s += ` ack=${t.ack}`;
  s += ` win=${t.window}`;
  if (t.flags & TcpFlag.URG) s += ` urg=${t.urgent}`;
  s += ` len=${t.payload.length}`;
  const opts = formatTcpOptions(t.options);
  return opts ? `${s} ${opts}` : s;
}

function formatTcpOptions(o: TcpOptions): string {
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`mss=${o.mss}`);
  if (o.sackPermitted) parts.push("sackOK");
  if (o.timestamp) parts.push(`TS val ${o.timestamp.value} ecr ${o.timestamp.echo}`);
  if (o.windowScale !== undefined) parts.push(`wscale=${o.windowScale}`);
  if (o.sack && o.sack.length > 0) {
    parts.push(`sack ${o.sack.map(([l, r]) => `{${l}:${r}}`).join("")}`);
  }
  for (const u of o.unknown ?? []) parts.push(`opt-${u.kind} len=${u.data.length + 2}`);
  return parts.join(",");
}

// ---------------------------------------------------------------------------------------------
// IPv6

function formatIpv6Packet(bytes: Uint8Array): string {
  let ip: Ipv6Repr;
  try {
    ip = parseIpv6(bytes);
  } catch (e) {
    return `IPv6 malformed (${reasonOf(e, "ipv6")})`;
  }
  const head = `IPv6 ${formatIPv6(ip.src)} > ${formatIPv6(ip.dst)}`;
  return guard(head, () => {
    const chain = walkIpv6Extensions(ip.payload, ip.nextHeader);
    const exts = chain.headers.map(formatExt);
    const frag = chain.headers.find((h) => h.kind === "fragment");
    const name = ipProtocolName(chain.upperLayer);
    const p = chain.upper;
    const pre = [head, ...exts].join(" ");
    if (frag && frag.kind === "fragment" && (frag.more || frag.fragmentOffset > 0)) {
      return `${pre} ${name} len=${p.length}`;
    }
    const pseudo = pseudoHeaderSum6(ip.src, ip.dst, chain.upperLayer, p.length);
    let rest: string;
    switch (chain.upperLayer) {
      case IpProtocol.TCP:
        rest = guard("TCP", () => formatTcp(parseTcp(p, { pseudoSum: pseudo })));
        break;
      case IpProtocol.UDP:
        rest = guard("UDP", () => formatUdp(p, pseudo, 6));
        break;
      case IpProtocol.ICMPV6:
        rest = guard("ICMPv6", () => formatIcmpv6(parseIcmpv6(p, ip)));
        break;
      case Ipv6NextHeader.NO_NEXT_HEADER:
        rest = "no next header";
        break;
      default:
        rest = `${name} len=${p.length}`;
    }
    return `${pre} ${rest}`;
  });
}

function formatExt(h: Ipv6ExtHeader): string {
  switch (h.kind) {
    case "hop-by-hop":
      return "HBH";
    case "destination":
      return "DSTOPT";
    case "routing":
      return `RH type=${h.routingType} left=${h.segmentsLeft}`;
    case "fragment":
      return `frag id=0x${h.identification.toString(16)} off=${h.fragmentOffset}${
        h.more ? " +" : ""
      }`;
    case "ah":
      return `AH spi=0x${h.spi.toString(16)}`;
    default: {
      const never: never = h;
      return `ext ${JSON.stringify(never)}`;
    }
  }
}

const UNREACH6: Record<number, string> = {
  0: "no-route",
  1: "admin-prohibited",
  2: "beyond-scope",
  3: "address",
  4: "port",
  5: "source-policy",
  6: "reject-route",
};

function formatIcmpv6(m: Icmpv6Repr): string {
  switch (m.kind) {
    case "echo-request":
    case "echo-reply":
      return `ICMPv6 echo ${m.kind === "echo-request" ? "request" : "reply"} ` +
        `id=${m.identifier} seq=${m.sequence} len=${m.data.length}`;
    case "dst-unreachable":
      return `ICMPv6 unreachable ${UNREACH6[m.code] ?? `code ${m.code}`} for ${quote6(m.invoking)}`;
    case "packet-too-big":
      return `ICMPv6 packet too big mtu=${m.mtu} for ${quote6(m.invoking)}`;
    case "time-exceeded":
      return `ICMPv6 time exceeded ${
        m.code === 0 ? "hop-limit" : m.code === 1 ? "reassembly" : m.code
      } for ${quote6(m.invoking)}`;
    case "param-problem":
      return `ICMPv6 parameter problem code ${m.code} pointer=${m.pointer} for ${
        quote6(m.invoking)
      }`;
    case "ndp":
      return formatNdp(m.message);
    case "mld":
      return formatMld(m.message);
    case "other":
      return `ICMPv6 type ${m.type} code ${m.code} len=${m.rest.length + 4}`;
    default: {
      const never: never = m;
      return `ICMPv6 malformed (unknown ${JSON.stringify(never)})`;
    }
  }
}

/** A short summary of a quoted IPv6 header (and ports when no extension headers follow). */
function quote6(b: Uint8Array): string {
  if (b.length < 40 || b[0] >>> 4 !== 6) return `${b.length} bytes`;
  return `${formatIPv6(b.subarray(8, 24))} > ${formatIPv6(b.subarray(24, 40))} ${
    quoteTransport(b[6], b, 40)
  }`;
}

function formatNdp(m: NdpRepr): string {
  let s: string;
  switch (m.kind) {
    case "router-solicit":
      s = "ICMPv6 router solicitation";
      break;
    case "router-advert": {
      const flags = `${m.managed ? "M" : ""}${m.other ? "O" : ""}`;
      s = `ICMPv6 router advertisement hlim=${m.curHopLimit} lifetime=${m.routerLifetime}` +
        (flags ? ` [${flags}]` : "");
      break;
    }
    case "neighbor-solicit":
      s = `ICMPv6 neighbor solicitation who-has ${formatIPv6(m.target)}`;
      break;
    case "neighbor-advert": {
      const flags = `${m.router ? "R" : ""}${m.solicited ? "S" : ""}${m.override ? "O" : ""}`;
      s = `ICMPv6 neighbor advertisement ${formatIPv6(m.target)}` + (flags ? ` [${flags}]` : "");
      break;
    }
    case "redirect":
      s = `ICMPv6 redirect ${formatIPv6(m.destination)} to ${formatIPv6(m.target)}`;
      break;
    default: {
      const never: never = m;
      return `ICMPv6 malformed (unknown NDP ${JSON.stringify(never)})`;
    }
  }
  for (const o of m.options) s += `, ${formatNdpOption(o)}`;
  return s;
}

function formatNdpOption(o: NdpOption): string {
  switch (o.kind) {
    case "source-lladdr":
      return `src lladdr ${formatMac(o.addr)}`;
    case "target-lladdr":
      return `tgt lladdr ${formatMac(o.addr)}`;
    case "prefix-info":
      return `prefix ${formatIPv6(o.prefix)}/${o.prefixLength}`;
    case "redirected-header":
      return `redirected header len=${o.data.length}`;
    case "mtu":
      return `mtu ${o.mtu}`;
    case "rdnss":
      return `rdnss ${o.servers.map(formatIPv6).join(" ")} lifetime ${o.lifetime}s`;
    case "dnssl":
      return `dnssl ${o.domains.join(" ")} lifetime ${o.lifetime}s`;
    case "unknown":
      return `opt-${o.type} len=${o.data.length + 2}${o.malformed ? " (malformed)" : ""}`;
    default: {
      const never: never = o;
      return `option ${JSON.stringify(never)}`;
    }
  }
}

const MLD_RECORD: Record<number, string> = {
  1: "is_in",
  2: "is_ex",
  3: "to_in",
  4: "to_ex",
  5: "allow",
  6: "block",
};

function formatMld(m: MldRepr): string {
  switch (m.kind) {
    case "query": {
      const v = m.v2 ? "MLDv2" : "MLD";
      const which = m.multicastAddress.every((b) => b === 0)
        ? "general"
        : formatIPv6(m.multicastAddress);
      return `ICMPv6 ${v} query ${which}`;
    }
    case "report-v1":
      return `ICMPv6 MLD report ${formatIPv6(m.multicastAddress)}`;
    case "done":
      return `ICMPv6 MLD done ${formatIPv6(m.multicastAddress)}`;
    case "report-v2": {
      const records = m.records.map((r) =>
        `${MLD_RECORD[r.recordType] ?? `type ${r.recordType}`} ${formatIPv6(r.multicastAddress)}${
          r.sources.length > 0 ? ` (${r.sources.length} sources)` : ""
        }`
      );
      return `ICMPv6 MLDv2 report ${m.records.length} record${m.records.length === 1 ? "" : "s"}${
        records.length > 0 ? `: ${records.join(", ")}` : ""
      }`;
    }
    default: {
      const never: never = m;
      return `ICMPv6 malformed (unknown MLD ${JSON.stringify(never)})`;
    }
  }
}
