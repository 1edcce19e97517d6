/**
 * Address representations used across Serin, with parsing and printing:
 * IPv4 as an unsigned 32-bit number, IPv6 as a 16-byte Uint8Array, MAC as a 6-byte Uint8Array.
 */

/** Parse dotted-quad IPv4 text ("10.0.0.1") to an unsigned 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** Print an IPv4 address number as dotted-quad text. */
export function formatIPv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Parse IPv6 text (RFC 4291 §2.2, with "::" and an embedded IPv4 tail) to 16 bytes. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const pct = text.indexOf("%");
  if (pct >= 0) text = text.slice(0, pct);
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const tailText = halves[halves.length - 1];
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const items = s.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i];
      if (g.includes(".")) {
        if (i !== items.length - 1 || s !== tailText) return undefined;
        const v4 = parseIPv4(g);
        if (v4 === undefined) return undefined;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 255;
  });
  return out;
}

/** Print 16 IPv6 bytes in RFC 5952 canonical text form. */
export function formatIPv6(addr: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((addr[i] << 8) | addr[i + 1]);
  // Longest run of zero groups (length >= 2), first one on ties.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(g);
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(((g[6] << 16) | g[7]) >>> 0)}`;
  }
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Parse "aa:bb:cc:dd:ee:ff" (or with dashes) to 6 bytes, or undefined. */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Print 6 MAC bytes as lower-case colon-separated hex. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** True when two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The netmask number for an IPv4 prefix length (0..32). */
export function prefixMask4(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/** Parse "10.0.0.1/24" to address and prefix length, or undefined. */
export function parseCidr4(text: string): { addr: number; prefixLen: number } | undefined {
  const parts = text.split("/");
  if (parts.length > 2 || (parts.length === 2 && !/^\d{1,2}$/.test(parts[1]))) return undefined;
  const addr = parseIPv4(parts[0]);
  const prefixLen = parts.length === 1 ? 32 : Number(parts[1]);
  if (addr === undefined || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32) {
    return undefined;
  }
  return { addr, prefixLen };
}
