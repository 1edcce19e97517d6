/**
 * IPv6 address helpers (RFC 4291): classification, prefixes, solicited-node groups, modified
 * EUI-64 interface identifiers and IPv4-mapped addresses. Addresses are 16-byte Uint8Arrays.
 */
import { formatIPv6, parseIPv6 } from "../wire/addr.ts";

/** The unspecified address ::. */
export const UNSPECIFIED6: Uint8Array = new Uint8Array(16);
/** The loopback address ::1. */
export const LOOPBACK6: Uint8Array = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
/** All-nodes link-local multicast ff02::1. */
export const ALL_NODES: Uint8Array = Uint8Array.of(
  0xff,
  2,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
);
/** All-routers link-local multicast ff02::2. */
export const ALL_ROUTERS: Uint8Array = Uint8Array.of(
  0xff,
  2,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  2,
);
/** All MLDv2-capable routers ff02::16. */
export const ALL_MLDV2_ROUTERS: Uint8Array = Uint8Array.of(
  0xff,
  2,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0x16,
);

/** A map key for an address (its canonical text). */
export function key6(a: Uint8Array): string {
  return formatIPv6(a);
}

/** True for ::. */
export function isUnspecified6(a: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
  return true;
}

/** True for ::1. */
export function isLoopback6(a: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/** True for ff00::/8. */
export function isMulticast6(a: Uint8Array): boolean {
  return a[0] === 0xff;
}

/** True for fe80::/10. */
export function isLinkLocal6(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1] & 0xc0) === 0x80;
}

/** True for a multicast address of link-local (or smaller) scope, e.g. ff02::1. */
export function isLinkScopeMulticast6(a: Uint8Array): boolean {
  return a[0] === 0xff && (a[1] & 0x0f) <= 2;
}

/** True for ::ffff:0:0/96. */
export function isV4Mapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

/** The IPv4 address inside a v4-mapped address. */
export function v4FromMapped(a: Uint8Array): number {
  return ((a[12] << 24) | (a[13] << 16) | (a[14] << 8) | a[15]) >>> 0;
}

/** ::ffff:a.b.c.d for an IPv4 address. */
export function mappedFromV4(v4: number): Uint8Array {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = v4 >>> 24;
  a[13] = (v4 >>> 16) & 255;
  a[14] = (v4 >>> 8) & 255;
  a[15] = v4 & 255;
  return a;
}

/** The scope name `netctl ifaces` shows: "host", "link" or "global". */
export function scopeOf6(a: Uint8Array): "host" | "link" | "global" {
  if (isLoopback6(a)) return "host";
  if (isLinkLocal6(a) || isLinkScopeMulticast6(a)) return "link";
  return "global";
}

/** Equality of two addresses. */
export function equal6(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True if the first `len` bits of `a` and `b` agree. */
export function prefixMatch6(a: Uint8Array, b: Uint8Array, len: number): boolean {
  const full = len >>> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = len & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (a[full] & m) === (b[full] & m);
}

/** `a` with every bit past `len` cleared. */
export function maskPrefix6(a: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    out[i] = a[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** Length of the common prefix of `a` and `b` in bits (RFC 6724 rule 8). */
export function commonPrefixLen6(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const x = a[i] ^ b[i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** The solicited-node multicast group ff02::1:ffXX:XXXX of `a` (RFC 4291 §2.7.1). */
export function solicitedNode(a: Uint8Array): Uint8Array {
  const g = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0);
  g[13] = a[13];
  g[14] = a[14];
  g[15] = a[15];
  return g;
}

/** `prefix` (its first 64 bits) joined to the modified EUI-64 identifier of `mac` (RFC 4291 App. A). */
export function eui64Address(prefix: Uint8Array, mac: Uint8Array): Uint8Array {
  const a = new Uint8Array(16);
  a.set(prefix.subarray(0, 8), 0);
  a[8] = mac[0] ^ 0x02;
  a[9] = mac[1];
  a[10] = mac[2];
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = mac[3];
  a[14] = mac[4];
  a[15] = mac[5];
  return a;
}

/** The link-local address fe80::/64 + EUI-64 of `mac`. */
export function linkLocalFromMac(mac: Uint8Array): Uint8Array {
  const p = new Uint8Array(16);
  p[0] = 0xfe;
  p[1] = 0x80;
  return eui64Address(p, mac);
}

/** Parse "2001:db8::1/64" (prefix length defaults to 128). */
export function parseCidr6(text: string): { addr: Uint8Array; prefixLen: number } | undefined {
  const [a, p, ...rest] = text.split("/");
  if (rest.length) return undefined;
  const addr = parseIPv6(a);
  if (!addr) return undefined;
  if (p === undefined) return { addr, prefixLen: 128 };
  if (!/^\d{1,3}$/.test(p) || Number(p) > 128) return undefined;
  return { addr, prefixLen: Number(p) };
}
