/**
 * A host's resolver configuration, kept here because Serin has no file system: this is where
 * Linux's /etc/resolv.conf and /etc/hosts live. libc's resolver (libc/dns/) reads it with netctl
 * `{ op: "resolver" }` (open to every process); changes go through netctl
 * `{ op: "resolverset", nameservers?, search?, timeout?, attempts?, ndots?, hosts? }`
 * (net_admin), each field given replacing the current one. Boot fills `hosts` with the topology's
 * host names (kernel/net_setup.ts); the DHCP client (tools/dhcpc.ts) sets `nameservers` (option 6)
 * and `search` (option 15) there, and puts back what they were when its lease ends.
 */
import type { HostEntry, ResolverConf } from "../kernel/bus/messages.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./wire/addr.ts";

/** glibc's MAXNS: servers past the third are ignored there; here they are refused. */
export const MAX_NAMESERVERS = 3;
/** glibc's historical MAXDNSRCH. */
export const MAX_SEARCH = 6;
/** More host lines than a lab needs, fewer than would let one process fill the netstack. */
export const MAX_HOSTS = 1024;

/** resolv.conf's defaults (resolv.conf(5)): timeout 5 s, 2 attempts, ndots 1. */
export function defaultResolverConf(): ResolverConf {
  return { nameservers: [], search: [], timeout: 5, attempts: 2, ndots: 1, hosts: [] };
}

/** A host name or domain: dot-separated labels of letters, digits, '-' and '_', ≤ 253 chars. */
export function validDomain(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = (name.endsWith(".") ? name.slice(0, -1) : name).split(".");
  return labels.every((l) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

/** An address literal in canonical form, or undefined when it is not one. */
function canonicalAddr(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return formatIPv4(v4);
  const v6 = parseIPv6(text);
  return v6 ? formatIPv6(v6) : undefined;
}

function bad(what: string): never {
  throw new ErrnoError("EINVAL", `Bad resolver ${what}`);
}

function intIn(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) bad(`${what} ${v}`);
  return v;
}

function list(v: unknown, max: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length > max) bad(`${what} (a list of at most ${max})`);
  return v;
}

/** The host table entries of `v`, checked: addresses canonical, names lower case. */
function hostEntries(v: unknown): HostEntry[] {
  return list(v, MAX_HOSTS, "hosts").map((e) => {
    const r = e as Partial<HostEntry>;
    const addr = canonicalAddr(r?.addr);
    if (!addr) bad(`host address ${r?.addr}`);
    const names = list(r.names, 16, "host names").map((n) => {
      if (typeof n !== "string" || !validDomain(n)) bad(`host name ${n}`);
      return n.toLowerCase().replace(/\.$/, "");
    });
    if (names.length === 0) bad(`host entry for ${addr} (no names)`);
    return { addr, names };
  });
}

/** One host's resolver configuration, changed only through checked updates. */
export class ResolverConfStore {
  #conf: ResolverConf = defaultResolverConf();

  /** A copy of the configuration. */
  get(): ResolverConf {
    return structuredClone(this.#conf);
  }

  /** Apply `update` (every field checked before any changes; EINVAL names the bad one). */
  set(update: Partial<ResolverConf>): void {
    const next = { ...this.#conf };
    if (update.nameservers !== undefined) {
      next.nameservers = list(update.nameservers, MAX_NAMESERVERS, "nameservers").map((a) =>
        canonicalAddr(a) ?? bad(`nameserver ${a}`)
      );
    }
    if (update.search !== undefined) {
      next.search = list(update.search, MAX_SEARCH, "search").map((d) => {
        if (typeof d !== "string" || !validDomain(d)) bad(`search domain ${d}`);
        return d.toLowerCase().replace(/\.$/, "");
      });
    }
    if (update.timeout !== undefined) next.timeout = intIn(update.timeout, 1, 30, "timeout");
    if (update.attempts !== undefined) next.attempts = intIn(update.attempts, 1, 5, "attempts");
    if (update.ndots !== undefined) next.ndots = intIn(update.ndots, 0, 15, "ndots");
    if (update.hosts !== undefined) next.hosts = hostEntries(update.hosts);
    this.#conf = next;
  }
}
