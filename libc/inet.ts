/** inet_pton/inet_ntop and socket-address constructors and printing. */
import { AF_INET, AF_INET6, AF_LOCAL } from "../kernel/abi.ts";
import type { SockAddr } from "../kernel/bus/messages.ts";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../netstack/wire/addr.ts";

/** Text to network-order bytes (4 for AF_INET, 16 for AF_INET6), or null when invalid. */
export function inet_pton(af: number, text: string): Uint8Array | null {
  if (af === AF_INET) {
    const v = parseIPv4(text);
    if (v === undefined) return null;
    return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  if (af === AF_INET6) return parseIPv6(text) ?? null;
  return null;
}

/** Network-order bytes to text, or null when the length does not fit the family. */
export function inet_ntop(af: number, bytes: Uint8Array): string | null {
  if (af === AF_INET && bytes.length === 4) {
    return formatIPv4(((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0);
  }
  if (af === AF_INET6 && bytes.length === 16) return formatIPv6(bytes);
  return null;
}

/** An AF_INET socket address. */
export function inet(addr: string, port: number): SockAddr {
  return { family: AF_INET, addr, port };
}

/** An AF_INET6 socket address. */
export function inet6(addr: string, port: number, scopeId?: number): SockAddr {
  return scopeId === undefined
    ? { family: AF_INET6, addr, port }
    : { family: AF_INET6, addr, port, scopeId };
}

/** An AF_LOCAL socket address. */
export function local(path: string): SockAddr {
  return { family: AF_LOCAL, path };
}

/** Print an address the way tools do: 10.0.0.1:80, [fe80::1]:80, /run/x. */
export function formatSockAddr(a: SockAddr | undefined): string {
  if (!a) return "?";
  switch (a.family) {
    case 0:
      return "(unspecified)";
    case AF_LOCAL:
      return a.path || "(unnamed)";
    case AF_INET:
      return `${a.addr}:${a.port}`;
    case AF_INET6:
      return `[${a.addr}${a.scopeId ? `%${a.scopeId}` : ""}]:${a.port}`;
  }
}
