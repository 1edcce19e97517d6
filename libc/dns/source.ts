/**
 * The source address a host would use to reach a destination, for getaddrinfo's sort, worked
 * out from the host's routes and interface addresses. glibc asks the kernel instead (connect a
 * UDP socket, then getsockname), and libc tries that first; Serin's UDP connect leaves the local
 * address unset (Linux's ip4_datagram_connect sets it from the route), so this fills the gap:
 * the route's interface, then (RFC 6724 §5, the rules that matter here) a usable address of the
 * destination's family with the same scope, the longest common prefix, not deprecated.
 */
import type { IfaceInfo, RouteInfo } from "../../kernel/bus/messages.ts";
import { parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import { scopeOf } from "./order.ts";

function bits(text: string): Uint8Array | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) {
    return Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255);
  }
  return parseIPv6(text);
}

/** Common leading bits of two addresses of one family. */
function common(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ^ b[i];
    if (x) return n + Math.clz32(x) - 24;
    n += 8;
  }
  return n;
}

/** The source for `dest`, or undefined when no route or no usable address reaches it. */
export function pickSource(
  dest: string,
  routes: readonly RouteInfo[],
  ifaces: readonly IfaceInfo[],
): { addr: string; prefixLen: number } | undefined {
  const d = bits(dest);
  if (!d) return undefined;
  const family = d.length === 4 ? 2 : 10;
  let best: RouteInfo | undefined;
  for (const r of routes) {
    const rd = r.family === family ? bits(r.dest) : undefined;
    if (!rd || common(rd, d) < r.prefixLen) continue;
    if (
      !best || r.prefixLen > best.prefixLen ||
      (r.prefixLen === best.prefixLen && r.metric < best.metric)
    ) {
      best = r;
    }
  }
  if (!best) return undefined;
  const iface = ifaces.find((i) => i.name === best!.iface);
  const usable = (iface?.addrs ?? []).filter((a) =>
    a.family === family && a.state !== "tentative" && a.state !== "duplicate"
  );
  const scope = scopeOf(dest);
  const rank = (a: { addr: string; state: string }) => {
    const b = bits(a.addr)!;
    return [
      scopeOf(a.addr) === scope ? 1 : 0,
      a.state === "deprecated" ? 0 : 1,
      common(b, d),
    ];
  };
  let pick: (typeof usable)[number] | undefined;
  for (const a of usable) {
    if (!pick) {
      pick = a;
      continue;
    }
    const x = rank(a), y = rank(pick);
    const i = x.findIndex((v, k) => v !== y[k]);
    if (i >= 0 && x[i] > y[i]) pick = a;
  }
  return pick && { addr: pick.addr, prefixLen: pick.prefixLen };
}
