/**
 * A host's resolver configuration, kept here because Serin has no file system: this is where
 * Linux's /etc/resolv.conf and /etc/hosts live. libc's resolver (libc/dns/) reads it with netctl
 * `{ op: "resolver" }` (open to every process); changes go through netctl
 * `{ op: "resolverset", nameservers?, search?, timeout?, attempts?, ndots?, hosts? }`
 * (net_admin), each field given replacing the current one. Boot fills `hosts` with the topology's
 * host names (kernel/net_setup.ts); the DHCP client (tools/dhcpc.ts) sets `nameservers` (option 6)
 * and `search` (option 15) there, and puts back what they were when its lease ends.
 *
 * IPv6 Router Advertisements add servers and search domains of their own (RDNSS and DNSSL,
 * RFC 8106), handed here by the NetworkTask through {@link ResolverConfStore.learnFromRa}. They
 * are kept apart from the configured ones, each with its lifetime counted against the clock the
 * store was given (checked whenever the configuration is read; no timers), at most
 * {@link MAX_RA_SERVERS} of them; a read lists the configured servers first and the RA-learned
 * ones after them, within glibc's three.
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
/** RA-learned servers kept at once (RFC 8106 §5.3.1 suggests three, as rdnssd keeps). */
export const MAX_RA_SERVERS = 3;
/** RA-learned search domains kept at once. */
export const MAX_RA_SEARCH = MAX_SEARCH;
/** An RDNSS/DNSSL lifetime that never ends (RFC 8106 §5.1). */
export const RA_INFINITE = 0xffffffff;

/** One RA-learned server or search domain with the time (ms) it expires. */
interface RaLearned {
  value: string;
  expires: number;
}

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
  #raServers: RaLearned[] = [];
  #raSearch: RaLearned[] = [];
  readonly #now: () => number;

  /** A store whose RA-learned entries expire by `now` (ms); without one they never expire. */
  constructor(now: () => number = () => 0) {
    this.#now = now;
  }

  /**
   * A copy of the configuration: configured servers and search domains first, then RA-learned
   * ones not yet expired (within {@link MAX_NAMESERVERS} and {@link MAX_SEARCH}).
   */
  get(): ResolverConf {
    this.#expire();
    const conf = structuredClone(this.#conf);
    conf.configured = { nameservers: [...conf.nameservers], search: [...conf.search] };
    const merge = (mine: string[], learned: RaLearned[], max: number) => {
      for (const l of learned) if (mine.length < max && !mine.includes(l.value)) mine.push(l.value);
    };
    merge(conf.nameservers, this.#raServers, MAX_NAMESERVERS);
    merge(conf.search, this.#raSearch, MAX_SEARCH);
    return conf;
  }

  /**
   * Take in one RDNSS (`servers`, address literals) or DNSSL (`search`) option's entries valid
   * for `lifetime` seconds (RFC 8106 §5.3.1): a known entry gets the new lifetime, lifetime 0
   * removes it, a new one is added — when the list is full, in place of the entry that expires
   * soonest, if that is sooner than the new one's. Entries that are not a valid address or
   * domain are skipped. Returns how many were skipped.
   */
  learnFromRa(kind: "servers" | "search", values: readonly string[], lifetime: number): number {
    this.#expire();
    const now = this.#now();
    const expires = lifetime >= RA_INFINITE ? Infinity : now + lifetime * 1000;
    const list = kind === "servers" ? this.#raServers : this.#raSearch;
    const max = kind === "servers" ? MAX_RA_SERVERS : MAX_RA_SEARCH;
    let skipped = 0;
    for (const raw of values) {
      const value = kind === "servers"
        ? canonicalAddr(raw)
        : validDomain(raw)
        ? raw.toLowerCase().replace(/\.$/, "")
        : undefined;
      if (value === undefined) {
        skipped++;
        continue;
      }
      const at = list.findIndex((l) => l.value === value);
      if (lifetime === 0) {
        if (at >= 0) list.splice(at, 1);
      } else if (at >= 0) {
        list[at].expires = expires;
      } else if (list.length < max) {
        list.push({ value, expires });
      } else {
        let soonest = 0;
        for (let i = 1; i < list.length; i++) {
          if (list[i].expires < list[soonest].expires) soonest = i;
        }
        if (list[soonest].expires < expires) list[soonest] = { value, expires };
      }
    }
    return skipped;
  }

  /** Drop RA-learned entries whose lifetime has run out. */
  #expire(): void {
    const now = this.#now();
    this.#raServers = this.#raServers.filter((l) => l.expires > now);
    this.#raSearch = this.#raSearch.filter((l) => l.expires > now);
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
