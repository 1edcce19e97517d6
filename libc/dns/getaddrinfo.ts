/**
 * getaddrinfo and getnameinfo as glibc's (POSIX, RFC 3493): numeric addresses first, then the
 * hosts table, then DNS (lookup.ts) over the host's resolver configuration (netctl `resolver`,
 * see netstack/resolver_conf.ts), and the results sorted as RFC 6724 via glibc (order.ts).
 * Errors are {@link GaiError}s with glibc's codes and texts.
 */
import type { SockAddr } from "../../kernel/bus/messages.ts";
import {
  AF_INET,
  AF_INET6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
} from "../../kernel/abi.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import { DnsType } from "../../netstack/wire/dns.ts";
import { GaiError } from "./gai_error.ts";
import { hostsCanonical, hostsLookup, hostsReverse } from "./hosts.ts";
import { query, search } from "./lookup.ts";
import { sortDestinations } from "./order.ts";
import type { ResolverIo } from "./socket_io.ts";
import { serviceByName, serviceByPort } from "./services.ts";

/** Return wildcard addresses for a server when there is no node (glibc's value). */
export const AI_PASSIVE = 0x1;
/** Fill in `canonname` on the first result. */
export const AI_CANONNAME = 0x2;
/** The node must be an address literal: no lookup. */
export const AI_NUMERICHOST = 0x4;
/** The service must be a port number. */
export const AI_NUMERICSERV = 0x400;
/** getnameinfo: the address as a number, no lookup. */
export const NI_NUMERICHOST = 1;
/** getnameinfo: the port as a number. */
export const NI_NUMERICSERV = 2;
/** getnameinfo: fail (EAI_NONAME) when the address has no name. */
export const NI_NAMEREQD = 8;
/** getnameinfo: the service is a datagram service. */
export const NI_DGRAM = 16;

/** What the caller wants (all optional; AF_UNSPEC and every socket type by default). */
export interface AddrInfoHints {
  family?: number;
  socktype?: number;
  protocol?: number;
  flags?: number;
}

/** One result: a socket address with the socket type and protocol to use it with. */
export interface AddrInfo {
  family: typeof AF_INET | typeof AF_INET6;
  socktype: number;
  protocol: number;
  addr: SockAddr;
  /** The canonical name, on the first result when AI_CANONNAME was asked for. */
  canonname?: string;
}

interface Found {
  addr: string;
  scopeId?: number;
}

const KNOWN_FLAGS = AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_NUMERICSERV | 0x8 | 0x10 |
  0x20;

/** The socket types and protocols a result expands to (glibc's gaih_inet_typeproto). */
function socktypes(hints: AddrInfoHints, proto?: Array<"tcp" | "udp">): Array<[number, number]> {
  const all: Array<[number, number, "tcp" | "udp" | "raw"]> = [
    [SOCK_STREAM, IPPROTO_TCP, "tcp"],
    [SOCK_DGRAM, IPPROTO_UDP, "udp"],
    [SOCK_RAW, 0, "raw"],
  ];
  return all
    .filter(([t]) => !hints.socktype || hints.socktype === t)
    .filter(([, p]) => !hints.protocol || hints.protocol === p || p === 0)
    .filter(([, , n]) => !proto || (n !== "raw" && proto.includes(n)))
    .map(([t, p]) => [t, hints.protocol || p]);
}

/** The port of `service` and the protocols it exists for (undefined: any). */
function servicePort(
  service: string | undefined,
  hints: AddrInfoHints,
): { port: number; protos?: Array<"tcp" | "udp"> } {
  if (service === undefined || service === "") return { port: 0 };
  if (/^\d+$/.test(service)) {
    const port = Number(service);
    if (port > 65535) throw new GaiError("EAI_SERVICE", service);
    return { port };
  }
  if ((hints.flags ?? 0) & AI_NUMERICSERV) throw new GaiError("EAI_NONAME", service);
  const s = serviceByName(service);
  if (!s || hints.socktype === SOCK_RAW) throw new GaiError("EAI_SERVICE", service);
  return { port: s.port, protos: s.protos };
}

/** A literal address of either family, with its zone for IPv6 ("fe80::1%2"). */
function literal(node: string): { family: 2 | 10; found: Found } | undefined {
  const v4 = parseIPv4(node);
  if (v4 !== undefined) return { family: AF_INET, found: { addr: formatIPv4(v4) } };
  const pct = node.indexOf("%");
  const v6 = parseIPv6(pct < 0 ? node : node.slice(0, pct));
  if (!v6) return undefined;
  const zone = pct < 0 ? undefined : node.slice(pct + 1);
  const scopeId = zone !== undefined && /^\d+$/.test(zone) ? Number(zone) : undefined;
  if (zone !== undefined && scopeId === undefined) return undefined;
  return { family: AF_INET6, found: { addr: formatIPv6(v6), scopeId } };
}

const familyOf = (addr: string): 2 | 10 => parseIPv4(addr) !== undefined ? AF_INET : AF_INET6;

/**
 * Resolve `node` and `service` into socket addresses (getaddrinfo(3)).
 *
 * @example
 * const [first] = await getaddrinfo("beta", "7", { socktype: SOCK_STREAM });
 * await connect(fd, first.addr);
 */
export async function resolveAddrInfo(
  io: ResolverIo,
  node: string | undefined,
  service: string | undefined,
  hints: AddrInfoHints = {},
): Promise<AddrInfo[]> {
  const flags = hints.flags ?? 0;
  const family = hints.family ?? 0;
  if (flags & ~KNOWN_FLAGS) throw new GaiError("EAI_BADFLAGS");
  if (family !== 0 && family !== AF_INET && family !== AF_INET6) throw new GaiError("EAI_FAMILY");
  const st = hints.socktype ?? 0;
  if (![0, SOCK_STREAM, SOCK_DGRAM, SOCK_RAW].includes(st)) throw new GaiError("EAI_SOCKTYPE");
  if ((node === undefined || node === "") && !service) throw new GaiError("EAI_NONAME");
  if (flags & AI_CANONNAME && !node) throw new GaiError("EAI_BADFLAGS");
  const { port, protos } = servicePort(service, hints);
  const types = socktypes(hints, protos);
  if (types.length === 0) throw new GaiError("EAI_SERVICE", service);
  const wanted = (f: number) => family === 0 || family === f;

  let found: Found[];
  let canonical: string | undefined;
  let sort = true;
  if (!node) {
    // No node: the wildcard (AI_PASSIVE) or the loopback address, IPv6 first as glibc.
    const passive = (flags & AI_PASSIVE) !== 0;
    found = [{ addr: passive ? "::" : "::1" }, { addr: passive ? "0.0.0.0" : "127.0.0.1" }]
      .filter((f) => wanted(familyOf(f.addr)));
    sort = false;
  } else {
    const lit = literal(node);
    if (lit) {
      if (!wanted(lit.family)) throw new GaiError("EAI_ADDRFAMILY", node);
      found = [lit.found];
      canonical = node;
      sort = false;
    } else {
      if (flags & AI_NUMERICHOST) throw new GaiError("EAI_NONAME", node);
      const r = await byName(io, node, family);
      found = r.addrs.map((addr) => ({ addr }));
      canonical = r.canonical;
    }
  }
  if (sort && found.length > 1) {
    const withSource = await Promise.all(
      found.map(async (f) => ({ ...f, source: await io.source(f.addr) })),
    );
    found = sortDestinations(withSource).map(({ addr, scopeId }) => ({ addr, scopeId }));
  }
  const out: AddrInfo[] = [];
  for (const f of found) {
    const fam = familyOf(f.addr);
    const addr: SockAddr = fam === AF_INET
      ? { family: AF_INET, addr: f.addr, port }
      : f.scopeId
      ? { family: AF_INET6, addr: f.addr, port, scopeId: f.scopeId }
      : { family: AF_INET6, addr: f.addr, port };
    for (const [socktype, protocol] of types) out.push({ family: fam, socktype, protocol, addr });
  }
  if (out.length > 0 && flags & AI_CANONNAME) out[0].canonname = canonical ?? node;
  return out;
}

/** The addresses of a name, from the hosts table or DNS, in the order found. */
async function byName(
  io: ResolverIo,
  node: string,
  family: number,
): Promise<{ addrs: string[]; canonical: string }> {
  const conf = await io.conf();
  const fromHosts = hostsLookup(conf.hosts, node)
    .filter((a) => family === 0 || familyOf(a) === family);
  if (fromHosts.length > 0) {
    return { addrs: fromHosts, canonical: hostsCanonical(conf.hosts, node) ?? node };
  }
  if (conf.nameservers.length === 0) throw new GaiError("EAI_NONAME", node);
  const types = family === AF_INET
    ? [DnsType.A]
    : family === AF_INET6
    ? [DnsType.AAAA]
    : [DnsType.A, DnsType.AAAA];
  const r = await search(io, conf, node, types);
  if ("results" in r) {
    const addrs: string[] = [];
    let canonical = r.name;
    for (const x of r.results) {
      if (x.kind !== "found") continue;
      if (addrs.length === 0) canonical = x.canonical;
      addrs.push(...x.values);
    }
    return { addrs, canonical };
  }
  switch (r.kind) {
    case "nodata":
      throw new GaiError("EAI_NODATA", node);
    case "again":
      throw new GaiError("EAI_AGAIN", node);
    default:
      throw new GaiError("EAI_NONAME", node);
  }
}

/** The reverse-lookup name of an address: 4.3.2.1.in-addr.arpa or nibbles under ip6.arpa. */
export function reverseName(addr: string): string | undefined {
  const v4 = parseIPv4(addr);
  if (v4 !== undefined) {
    return `${v4 & 255}.${(v4 >>> 8) & 255}.${(v4 >>> 16) & 255}.${v4 >>> 24}.in-addr.arpa`;
  }
  const v6 = parseIPv6(addr);
  if (!v6) return undefined;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) {
    nibbles.push((v6[i] & 15).toString(16), (v6[i] >> 4).toString(16));
  }
  return `${nibbles.join(".")}.ip6.arpa`;
}

/**
 * The host and service names of a socket address (getnameinfo(3)): the hosts table, then a PTR
 * query; the numeric forms when there is no name (unless NI_NAMEREQD).
 */
export async function resolveNameInfo(
  io: ResolverIo,
  sa: SockAddr,
  flags = 0,
): Promise<{ host: string; service: string }> {
  if (sa.family !== AF_INET && sa.family !== AF_INET6) throw new GaiError("EAI_FAMILY");
  const numeric = sa.family === AF_INET6 && sa.scopeId ? `${sa.addr}%${sa.scopeId}` : sa.addr;
  const service = flags & NI_NUMERICSERV
    ? String(sa.port)
    : serviceByPort(sa.port, flags & NI_DGRAM ? "udp" : "tcp") ?? String(sa.port);
  if (flags & NI_NUMERICHOST) return { host: numeric, service };
  const canon = literal(sa.addr)?.found.addr;
  if (!canon) throw new GaiError("EAI_NONAME", sa.addr);
  const conf = await io.conf();
  let host = hostsReverse(conf.hosts, canon);
  if (host === undefined && conf.nameservers.length > 0) {
    const r = await query(io, conf, reverseName(canon)!, DnsType.PTR);
    if (r.kind === "found") host = r.values[0];
    else if (r.kind === "again" && flags & NI_NAMEREQD) throw new GaiError("EAI_AGAIN", sa.addr);
  }
  if (host === undefined && flags & NI_NAMEREQD) throw new GaiError("EAI_NONAME", sa.addr);
  return { host: host ?? numeric, service };
}
