/**
 * Printing helpers shared by the tools: millisecond times the way iputils prints them, byte
 * counts the way net-tools scales them, IPv4 netmasks and broadcasts, throughput.
 */

/** A round-trip time as iputils prints it: 3 decimals below 1 ms, 2 below 10, 1 below 100. */
export function formatRtt(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** A byte count as net-tools prints it after the raw number: "0.0 B", "1.5 KB", "12.3 MB". */
export function formatBytesScaled(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  let v = bytes;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${(Math.floor(v * 10) / 10).toFixed(1)} ${units[i]}`;
}

/** The dotted-quad netmask of an IPv4 prefix length (24 → "255.255.255.0"). */
export function netmask4(prefixLen: number): string {
  const m = prefixLen <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLen, 32))) >>> 0;
  return [m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].join(".");
}

/** The prefix length of a contiguous dotted-quad netmask, or undefined when not contiguous. */
export function prefixFromNetmask(mask: string): number | undefined {
  const parts = mask.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return undefined;
  }
  const m = parts.reduce((acc, p) => acc * 256 + Number(p), 0);
  const bits = m.toString(2).padStart(32, "0");
  return /^1*0*$/.test(bits) ? bits.indexOf("0") === -1 ? 32 : bits.indexOf("0") : undefined;
}

/** The IPv4 broadcast address of `addr`/`prefixLen`. */
export function broadcast4(addr: string, prefixLen: number): string {
  const a = addr.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
  const host = prefixLen >= 32 ? 0 : 2 ** (32 - prefixLen) - 1;
  const b = (a - (a % (host + 1))) + host;
  return [Math.floor(b / 2 ** 24) & 255, (b >>> 16) & 255, (b >>> 8) & 255, b & 255].join(".");
}

/** Throughput summary: "1048576 bytes in 0.500 s = 2.10 MB/s = 16.78 Mbit/s" (decimal units). */
export function formatThroughput(bytes: number, ms: number): string {
  const s = Math.max(ms, 0.001) / 1000;
  const mbs = bytes / s / 1e6;
  return `${bytes} bytes in ${s.toFixed(3)} s = ${mbs.toFixed(2)} MB/s = ${
    (mbs * 8).toFixed(2)
  } Mbit/s`;
}
