/**
 * UDP demultiplexing for IPv4 and IPv6 (RFC 768, RFC 1122 §4.1.3.5): a received datagram goes to
 * every matching socket when broadcast or multicast, else to the most specific one (connected
 * beats bound, bound to an address beats the wildcard); ICMP errors reach the sockets that sent
 * what they quote. It implements the IP layers' UDP ports (`ip/transport4.ts`,
 * `ip6/transport6.ts`) over the host's UDP port table.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { DestKind4, Udp4Port } from "../ip/transport4.ts";
import type { DestKind6, Udp6Port } from "../ip6/transport6.ts";
import type { NetInterface } from "../link/interface.ts";
import type { ProtocolPorts } from "../sockets/ports.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../wire/checksum.ts";
import { IpProtocol, type Ipv4Repr } from "../wire/ipv4.ts";
import type { Ipv6Repr } from "../wire/ipv6.ts";
import { parseUdp } from "../wire/udp.ts";
import { Udp6Socket } from "./udp6_socket.ts";
import { UdpSocket } from "./udp_socket.ts";

/** The UDP sockets of one host, as the IP layers reach them. */
export class UdpDemux implements Udp4Port, Udp6Port {
  /** `ports` is the host's UDP port table. */
  constructor(readonly ports: ProtocolPorts) {}

  /** Deliver an IPv4 UDP datagram; false if no socket took it. */
  input4(_iface: NetInterface, ip: Ipv4Repr, kind: DestKind4): boolean {
    const udp = parseUdp(ip.payload, {
      pseudoSum: pseudoHeaderSum4(ip.src, ip.dst, IpProtocol.UDP, ip.payload.length),
    });
    let delivered = false;
    let best: UdpSocket | undefined;
    for (const s of this.ports.users(udp.dstPort)) {
      if (!(s instanceof UdpSocket) || !s.matches(ip.src, udp.srcPort, ip.dst, kind)) continue;
      if (kind !== "unicast") {
        s.deliver(udp.payload.slice(), ip.src, udp.srcPort);
        delivered = true;
      } else if (!best || score(s) > score(best)) best = s;
    }
    if (best) delivered = best.deliver(udp.payload.slice(), ip.src, udp.srcPort) || true;
    return delivered;
  }

  /** Tell the IPv4 sockets on `sport` connected to `dst`:`dport` about an ICMP error. */
  icmpError4(dst: number, sport: number, dport: number, code: ErrnoCode): void {
    for (const u of this.ports.users(sport)) {
      if (u instanceof UdpSocket) u.icmpError(code, dst, dport);
    }
  }

  /** Whether an IPv4 (or dual-stack) UDP socket holds local port `sport`. */
  holds4(sport: number): boolean {
    for (const u of this.ports.users(sport)) if (u instanceof UdpSocket) return true;
    return false;
  }

  /** Whether an IPv6 UDP socket holds local port `sport`. */
  holds6(sport: number): boolean {
    for (const u of this.ports.users(sport)) if (u instanceof Udp6Socket) return true;
    return false;
  }

  /** Deliver an IPv6 UDP datagram; false if no socket took it. */
  input6(iface: NetInterface, ip: Ipv6Repr, payload: Uint8Array, kind: DestKind6): boolean {
    const udp = parseUdp(payload, {
      pseudoSum: pseudoHeaderSum6(ip.src, ip.dst, IpProtocol.UDP, payload.length),
      ipVersion: 6,
    });
    let best: Udp6Socket | undefined;
    let delivered = false;
    for (const u of this.ports.users(udp.dstPort)) {
      if (!(u instanceof Udp6Socket) || !u.matches6(ip.src, udp.srcPort, ip.dst, kind)) continue;
      if (kind === "multicast") {
        u.deliver6(udp.payload.slice(), ip.src, udp.srcPort, iface.index, ip.hopLimit);
        delivered = true;
      } else if (!best || u.score6() > best.score6()) best = u;
    }
    if (best) {
      delivered =
        best.deliver6(udp.payload.slice(), ip.src, udp.srcPort, iface.index, ip.hopLimit) || true;
    }
    return delivered;
  }

  /** Tell the IPv6 sockets on `sport` connected to [`dst`]:`dport` about an ICMPv6 error. */
  icmpError6(dst: Uint8Array, sport: number, dport: number, code: ErrnoCode): void {
    for (const u of this.ports.users(sport)) {
      if (u instanceof Udp6Socket) u.icmpError6(code, dst, dport);
    }
  }
}

/** Connected beats bound, bound to an address beats the wildcard. */
function score(s: UdpSocket): number {
  return (s.remoteAddr !== undefined ? 2 : 0) + (s.localAddr !== 0 ? 1 : 0);
}
