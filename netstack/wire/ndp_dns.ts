/**
 * The IPv6 Router Advertisement options for DNS configuration (RFC 8106 §5), the bodies
 * `ndp.ts` parses and emits for option types 25 and 31.
 *
 * ```text
 * Recursive DNS Server (25)                 DNS Search List (31)
 * +--------+--------+-----------------+     +--------+--------+-----------------+
 * |  Type  | Length |    Reserved     |     |  Type  | Length |    Reserved     |
 * +--------+--------+-----------------+     +--------+--------+-----------------+
 * |             Lifetime              |     |             Lifetime              |
 * +-----------------------------------+     +-----------------------------------+
 * |  Addresses of IPv6 Recursive DNS  |     |  Domain Names of DNS Search List  |
 * |  Servers (16 bytes each)          |     |  (RFC 1035 §3.1, uncompressed,    |
 * |                                   |     |   zero-padded to 8 bytes)         |
 * ```
 *
 * RDNSS Length is odd and at least 3 (one to 127 addresses); DNSSL Length is at least 2. A
 * malformed body is reported as a reason string, not thrown: the option is then ignored and the
 * rest of the Router Advertisement still applies (RFC 8106 §5.1, §5.2).
 */

import { put32, u32 } from "./_bytes.ts";

/** Where the Lifetime field of both options starts. */
export const NDP_DNS_LIFETIME = 4;
/** Where the addresses or domain names start. */
export const NDP_DNS_BODY = 8;

/** An RDNSS option: DNS server addresses valid for `lifetime` seconds (0xffffffff: infinity). */
export interface RdnssOption {
  kind: "rdnss";
  lifetime: number;
  servers: Uint8Array[];
}

/** A DNSSL option: search domains valid for `lifetime` seconds (0xffffffff: infinity). */
export interface DnsslOption {
  kind: "dnssl";
  lifetime: number;
  domains: string[];
}

/** Parse an RDNSS option (`o` is the whole option, type and length first); a string is why not. */
export function parseRdnss(o: Uint8Array): RdnssOption | string {
  const units = o[1];
  if (units < 3 || units % 2 === 0) return `RDNSS length ${units}`;
  const servers: Uint8Array[] = [];
  for (let i = NDP_DNS_BODY; i + 16 <= o.length; i += 16) servers.push(o.slice(i, i + 16));
  return { kind: "rdnss", lifetime: u32(o, NDP_DNS_LIFETIME), servers };
}

/**
 * Parse a DNSSL option; a string is why not. Each name is a sequence of labels ending in the
 * root label; a zero byte where a name would start begins the padding, which must be zeros.
 * Compression pointers, labels over 63 bytes, names over 255 bytes, a name cut by the option's
 * end and bytes that are not printable ASCII (or are '.') are malformed.
 */
export function parseDnssl(o: Uint8Array): DnsslOption | string {
  if (o[1] < 2) return `DNSSL length ${o[1]}`;
  const domains: string[] = [];
  let i = NDP_DNS_BODY;
  while (i < o.length && o[i] !== 0) {
    const labels: string[] = [];
    let wire = 0;
    for (;;) {
      if (i >= o.length) return "DNSSL name cut by the option's end";
      const n = o[i++];
      wire += 1 + n;
      if (n === 0) break;
      if (n > 63) return `DNSSL label length ${n}`;
      if (wire > 255) return "DNSSL name over 255 bytes";
      if (i + n > o.length) return "DNSSL label cut by the option's end";
      let label = "";
      for (let k = i; k < i + n; k++) {
        if (o[k] <= 0x20 || o[k] >= 0x7f || o[k] === 0x2e) return `DNSSL label byte ${o[k]}`;
        label += String.fromCharCode(o[k]);
      }
      labels.push(label);
      i += n;
    }
    domains.push(labels.join("."));
  }
  for (; i < o.length; i++) if (o[i] !== 0) return "DNSSL padding not zero";
  if (domains.length === 0) return "DNSSL without a name";
  return { kind: "dnssl", lifetime: u32(o, NDP_DNS_LIFETIME), domains };
}

function labelsOf(domain: string): string[] {
  const labels = domain.replace(/\.$/, "").split(".");
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new RangeError(`DNSSL label "${l}"`);
  }
  return labels;
}

/** Bytes an RDNSS or DNSSL option takes when emitted (padded to a multiple of 8). */
export function ndpDnsOptionLength(o: RdnssOption | DnsslOption): number {
  if (o.kind === "rdnss") return NDP_DNS_BODY + 16 * o.servers.length;
  let n = NDP_DNS_BODY;
  for (const d of o.domains) n += labelsOf(d).reduce((s, l) => s + 1 + l.length, 1);
  return (n + 7) & ~7;
}

/**
 * Write the body of `o` (lifetime, addresses or names) into `b`, the whole option already sized
 * and zeroed, its type and length written by the caller. A label of 0 or over 63 bytes is a
 * caller bug (RangeError).
 */
export function emitNdpDnsOption(o: RdnssOption | DnsslOption, b: Uint8Array): void {
  put32(b, NDP_DNS_LIFETIME, o.lifetime);
  let i = NDP_DNS_BODY;
  if (o.kind === "rdnss") {
    for (const s of o.servers) b.set(s.subarray(0, 16), i), i += 16;
    return;
  }
  for (const d of o.domains) {
    for (const l of labelsOf(d)) {
      b[i++] = l.length;
      for (let k = 0; k < l.length; k++) b[i++] = l.charCodeAt(k) & 0xff;
    }
    b[i++] = 0;
  }
}
