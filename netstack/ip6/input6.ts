/**
 * IPv6 input (RFC 8200): a received packet is validated (martians dropped, `martians6.ts`),
 * forwarded when it is not ours and forwarding is on, walked through its extension headers and
 * reassembled (`ext_headers.ts`), then handed to raw ICMPv6 sockets and to ICMPv6, UDP or TCP.
 * An unknown next header draws a Parameter Problem, a closed UDP port a port unreachable.
 */
import type { NetInterface } from "../link/interface.ts";
import type { IpHost } from "../ip/ip_host.ts";
import { Icmpv6DstUnreachableCode, Icmpv6ParamProblemCode } from "../wire/icmpv6.ts";
import { IPV6_HEADER_LEN, Ipv6NextHeader, type Ipv6Repr, parseIpv6 } from "../wire/ipv6.ts";
import { isLoopback6, isMulticast6, key6 } from "./addr6.ts";
import { type DestKind, type ExtHeaderHost, type Received, walkExtensions } from "./ext_headers.ts";
import type { Icmp6 } from "./icmp6.ts";
import { martian6 } from "./martians6.ts";
import type { Raw6Endpoint, Tcp6Port, Udp6Port } from "./transport6.ts";

const NH = Ipv6NextHeader;

/** What input needs from the IPv6 layer. */
export interface Input6Host {
  readonly host: IpHost;
  readonly forwarding: boolean;
  readonly raw: ReadonlySet<Raw6Endpoint>;
  readonly icmp: Icmp6;
  readonly tcp?: Tcp6Port;
  readonly udp?: Udp6Port;
  /** Extension-header processing's view of the layer (`ext_headers.ts`). */
  readonly extHost: ExtHeaderHost;
  /** True if `addr` is a usable address of this host (or ::1). */
  isLocal(addr: Uint8Array): boolean;
  /** Forward a packet that is not for us (`forward6.ts`). */
  forward(iface: NetInterface, ip: Ipv6Repr, packet: Uint8Array): void;
}

/** Handle an IPv6 packet received on `iface` (link padding may follow it). */
export function input6(ipl: Input6Host, iface: NetInterface, bytes: Uint8Array): void {
  const ip = parseIpv6(bytes);
  const packet = bytes.subarray(0, IPV6_HEADER_LEN + ip.payload.length);
  const martian = martian6(iface.loopback, ip.src, ip.dst);
  if (martian) {
    // Linux counts Ip6InHdrErrors (netstat -s here) and drops; nothing answers a martian.
    ipl.host.count(`ipv6: ${martian}`);
    return iface.dropRx(`ipv6: ${martian}`);
  }
  const kind = destKind(ipl, iface, ip.dst);
  if (!kind) {
    if (ipl.forwarding && !isMulticast6(ip.dst)) return ipl.forward(iface, ip, packet);
    return iface.dropRx("ipv6: not-for-us");
  }
  walkExtensions(ipl.extHost, { iface, ip, packet, kind }, ip.nextHeader, ip.payload);
}

function destKind(ipl: Input6Host, iface: NetInterface, dst: Uint8Array): DestKind | undefined {
  if (isMulticast6(dst)) {
    const k = key6(dst);
    if (iface.groups6.has(k)) return "multicast";
    if (iface.loopback && ipl.host.interfaces.some((i) => i.groups6.has(k))) return "multicast";
    return undefined;
  }
  if (iface.loopback && isLoopback6(dst)) return "unicast";
  // Weak host model, as Linux: any usable address of ours, on any interface.
  return ipl.isLocal(dst) ? "unicast" : undefined;
}

/** Hand the upper layer `proto` of `r` on; `nhPointer` is where its Next Header was (-1: unknown). */
export function upper6(
  ipl: Input6Host,
  r: Received,
  proto: number,
  payload: Uint8Array,
  nhPointer: number,
): void {
  let rawTaken = false;
  if (proto === NH.ICMPV6) {
    for (const s of ipl.raw) {
      if (s.matches(r.ip.src, r.ip.dst, payload)) {
        s.deliver(payload.slice(), r.ip.src, r.iface.index, r.ip.hopLimit);
        rawTaken = true;
      }
    }
  }
  switch (proto) {
    case NH.ICMPV6:
      return ipl.icmp.input(r, payload);
    case NH.UDP:
      if (ipl.udp?.input6(r.iface, r.ip, payload, r.kind)) return;
      ipl.host.count("udp: no-port");
      r.iface.dropRx("udp: no-port");
      if (r.kind === "unicast") {
        ipl.icmp.error(r.iface, r.packet, {
          kind: "dst-unreachable",
          code: Icmpv6DstUnreachableCode.PORT_UNREACHABLE,
          invoking: r.packet,
        });
      }
      return;
    case NH.TCP:
      if (r.kind !== "unicast") return r.iface.dropRx("tcp: not-unicast");
      if (!ipl.tcp) return r.iface.dropRx("tcp: not-enabled");
      return ipl.tcp.input6(r.iface, r.ip.src, r.ip.dst, payload);
    case NH.NO_NEXT_HEADER:
      return ipl.host.count("ipv6: no-next-header");
    default:
      if (nhPointer >= 0) {
        ipl.icmp.error(r.iface, r.packet, {
          kind: "param-problem",
          code: Icmpv6ParamProblemCode.UNRECOGNIZED_NEXT_HEADER,
          pointer: nhPointer,
          invoking: r.packet,
        });
      }
      if (!rawTaken) r.iface.dropRx("ipv6: unknown-next-header");
  }
}
