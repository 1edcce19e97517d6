/**
 * Destination address ordering for getaddrinfo (RFC 6724 §6), as glibc 2.36 does it: each
 * destination is paired with the source address the host would use for it (found by connecting
 * a UDP socket, as glibc does), then sorted by the rules below; ties keep their order (rule 10).
 *
 * glibc, the oracle here, keeps RFC 3484's policy table rather than RFC 6724's: IPv4 has
 * precedence 10 (RFC 6724: 35) and ULAs (fc00::/7) fall under ::/0 with precedence 40 (RFC 6724:
 * 3). So a host with a ULA or global IPv6 source prefers a ULA destination over IPv4, and a host
 * with a global source puts IPv4 before ULA destinations only because their labels differ (rule
 * 5). Measured with `getent ahosts` against /etc/hosts records in a namespace (see the tests).
 *
 * Rules applied: 1 avoid unusable destinations (no source), 2 prefer matching scope, 5 prefer
 * matching label, 6 prefer higher precedence, 8 prefer smaller scope, 9 longest matching prefix
 * (IPv6: over the whole address; IPv4: only inside the source's subnet, as glibc). Rules 3, 4 and
 * 7 (deprecated, home and native addresses) are left out as glibc leaves them out.
 */
import { parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";

/** A destination and the source the host would use for it (undefined: unreachable). */
export interface SortCandidate {
  /** IPv4 or IPv6 literal. */
  addr: string;
  source?: { addr: string; prefixLen: number };
}

/** An address as 16 bytes, IPv4 as ::ffff:a.b.c.d. */
function bytes16(text: string): { b: Uint8Array; v4: boolean } | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) {
    const b = new Uint8Array(16);
    b[10] = b[11] = 0xff;
    b[12] = v4 >>> 24;
    b[13] = (v4 >>> 16) & 255;
    b[14] = (v4 >>> 8) & 255;
    b[15] = v4 & 255;
    return { b, v4: true };
  }
  const b = parseIPv6(text);
  return b ? { b, v4: false } : undefined;
}

/** Length of the common prefix of `a` and `b`, in bits. */
function commonBits(a: Uint8Array, b: Uint8Array, from = 0): number {
  let n = 0;
  for (let i = from; i < a.length; i++) {
    const x = a[i] ^ b[i];
    if (x === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(x) - 24;
  }
  return n;
}

function inPrefix(b: Uint8Array, prefix: number[], bits: number): boolean {
  const p = Uint8Array.from({ length: 16 }, (_, i) => prefix[i] ?? 0);
  return commonBits(b, p) >= bits;
}

const LOOPBACK6 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** glibc's label table: [prefix bytes, prefix length, label]; ::/0 is 1. */
const LABELS: Array<[number[], number, number]> = [
  [LOOPBACK6, 128, 0],
  [[0x20, 0x02], 16, 2],
  [[], 96, 3],
  [MAPPED, 96, 4],
  [[0xfe, 0xc0], 10, 5],
  [[0xfc], 7, 6],
  [[0x20, 0x01, 0, 0], 32, 7],
];

/** glibc's precedence table; ::/0 is 40. */
const PRECEDENCE: Array<[number[], number, number]> = [
  [LOOPBACK6, 128, 50],
  [[0x20, 0x02], 16, 30],
  [[], 96, 20],
  [MAPPED, 96, 10],
];

function lookup(b: Uint8Array, table: Array<[number[], number, number]>, dflt: number): number {
  // ::/96 must not swallow ::1 or ::ffff:0:0/96: the table is most specific first.
  for (const [p, bits, v] of table) if (inPrefix(b, p, bits)) return v;
  return dflt;
}

/** The address's scope (RFC 6724 §3.1/§3.2 as glibc's get_scope). */
export function scopeOf(text: string): number {
  const a = bytes16(text);
  if (!a) return 15;
  const b = a.b;
  if (a.v4) return (b[12] === 169 && b[13] === 254) || b[12] === 127 ? 2 : 14;
  if (b[0] === 0xff) return b[1] & 0xf;
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0x80) return 2;
  if (b[0] === 0xfe && (b[1] & 0xc0) === 0xc0) return 5;
  return 14;
}

/** The label of an address in glibc's policy table. */
export function labelOf(text: string): number {
  const a = bytes16(text);
  return a ? lookup(a.b, LABELS, 1) : 1;
}

/** The precedence of an address in glibc's policy table. */
export function precedenceOf(text: string): number {
  const a = bytes16(text);
  return a ? lookup(a.b, PRECEDENCE, 40) : 0;
}

/** Rule 9's measure: common prefix bits with the source (IPv4: 0 outside its subnet). */
function matchLength(c: SortCandidate): number {
  const d = bytes16(c.addr), s = c.source && bytes16(c.source.addr);
  if (!d || !s || d.v4 !== s.v4) return 0;
  if (!d.v4) return commonBits(d.b, s.b);
  const bits = commonBits(d.b, s.b, 12);
  return bits >= c.source!.prefixLen ? bits : 0;
}

/** Compare two candidates: negative when `a` goes first. */
export function compareDestinations(a: SortCandidate, b: SortCandidate): number {
  // Rule 1: avoid unusable destinations.
  if (!!a.source !== !!b.source) return a.source ? -1 : 1;
  const sa = scopeOf(a.addr), sb = scopeOf(b.addr);
  if (a.source && b.source) {
    // Rule 2: prefer matching scope.
    const ma = sa === scopeOf(a.source.addr), mb = sb === scopeOf(b.source.addr);
    if (ma !== mb) return ma ? -1 : 1;
    // Rule 5: prefer matching label.
    const la = labelOf(a.addr) === labelOf(a.source.addr);
    const lb = labelOf(b.addr) === labelOf(b.source.addr);
    if (la !== lb) return la ? -1 : 1;
  }
  // Rule 6: prefer higher precedence.
  const pa = precedenceOf(a.addr), pb = precedenceOf(b.addr);
  if (pa !== pb) return pb - pa;
  // Rule 8: prefer smaller scope.
  if (sa !== sb) return sa - sb;
  // Rule 9: longest matching prefix, between destinations of one family.
  if (a.source && b.source && a.addr.includes(":") === b.addr.includes(":")) {
    const d = matchLength(b) - matchLength(a);
    if (d !== 0) return d;
  }
  return 0; // Rule 10: leave the order unchanged.
}

/** Sort destinations (stable) by {@link compareDestinations}. */
export function sortDestinations<T extends SortCandidate>(list: readonly T[]): T[] {
  return [...list].sort(compareDestinations); // Array.prototype.sort is stable
}
