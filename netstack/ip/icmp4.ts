/**
 * ICMP for the IPv4 layer (RFC 792, RFC 1122 §3.2.2): echo replies, errors about what we sent
 * passed to the socket they quote (path MTU learned from "fragmentation needed", RFC 1191),
 * redirects, and the errors we send about what we received — never about an ICMP error, a
 * broadcast or multicast, a non-initial fragment, or a source that is not a unicast host, and
 * rate limited (RFC 1812 §4.3.2.8).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import {
  encodeIcmpv4,
  Icmpv4DstUnreachableCode,
  icmpv4Quote,
  type Icmpv4Repr,
  isIcmpv4Error,
  parseIcmpv4,
} from "../wire/icmpv4.ts";
import { IpProtocol, IPV4_HEADER_LEN, type Ipv4Repr } from "../wire/ipv4.ts";
import { IcmpRateLimiter } from "./icmp_rate.ts";
import type { IpHost } from "./ip_host.ts";
import type { PmtuEntry, PmtuUpdate } from "./pmtu_cache.ts";
import type { Ipv4Send, Route4 } from "./route4.ts";
import type { RoutingTable4 } from "./routing.ts";
import type { DestKind4, Tcp4Port, Udp4Port } from "./transport4.ts";

/** An ICMPv4 error message with the datagram it quotes. */
export type Icmpv4Error = Icmpv4Repr & { invoking: Uint8Array };

/** What ICMP needs from the IPv4 layer. */
export interface Icmp4Host {
  readonly host: IpHost;
  readonly routes: RoutingTable4;
  readonly tcp?: Tcp4Port;
  readonly udp?: Udp4Port;
  /** The route towards `dst`, if any. */
  route(dst: number): Route4 | undefined;
  /** Send a datagram along `route`. */
  output(route: Route4, d: Ipv4Send): ErrnoCode | undefined;
  /** True if `addr` is one of this host's addresses. */
  isLocal(addr: number): boolean;
  /** "Fragmentation needed" reported `mtu` towards `dst` (the path MTU cache's verdict). */
  learnPathMtu(dst: number, mtu: number): PmtuUpdate;
  /** The learned path MTU towards `dst`, if one applies now. */
  pathMtu(dst: number): PmtuEntry | undefined;
}

/** The ICMP of one IPv4 layer. */
export class Icmp4 {
  #rate = new IcmpRateLimiter();

  constructor(readonly ip: Icmp4Host) {}

  /** Handle an ICMP message received on `iface`. */
  input(iface: NetInterface, ip: Ipv4Repr, kind: DestKind4): void {
    const host = this.ip.host;
    const m = parseIcmpv4(ip.payload);
    switch (m.kind) {
      case "echo-request": {
        if (kind !== "unicast") return host.count("icmp: echo-to-broadcast-ignored");
        const route = this.ip.route(ip.src);
        if (!route) return host.count("icmp: no-route-for-reply");
        this.ip.output(route, {
          src: ip.dst,
          dst: ip.src,
          protocol: IpProtocol.ICMP,
          ttl: 64,
          payload: encodeIcmpv4({
            kind: "echo-reply",
            identifier: m.identifier,
            sequence: m.sequence,
            data: m.data,
          }),
        });
        return;
      }
      case "dst-unreachable":
      case "time-exceeded":
      case "param-problem":
      case "source-quench":
        return this.#errorInput(m);
      case "redirect":
        return this.#redirect(iface, ip, m.gateway, m.invoking);
      case "echo-reply":
      case "other":
        return; // for raw sockets only
    }
  }

  /**
   * An ICMP error about something we sent: learn the path MTU from "fragmentation needed", then
   * tell the socket it quotes. As Linux's err handlers (tcp_v4_err, udp_err), nothing is learnt
   * from an error whose quote is not ours: from another source address, about a TCP segment
   * outside a connection's [SND.UNA, SND.NXT] (RFC 5927 §4.1), or a UDP port nobody holds.
   */
  #errorInput(m: Icmpv4Error) {
    const host = this.ip.host;
    const q = m.invoking;
    if (q.length < IPV4_HEADER_LEN + 8) return host.count("icmp: short-quote");
    const hl = (q[0] & 15) * 4;
    const proto = q[9];
    const src = ((q[12] << 24) | (q[13] << 16) | (q[14] << 8) | q[15]) >>> 0;
    const dst = ((q[16] << 24) | (q[17] << 16) | (q[18] << 8) | q[19]) >>> 0;
    const sport = (q[hl] << 8) | q[hl + 1];
    const dport = (q[hl + 2] << 8) | q[hl + 3];
    const code = icmpErrno(m);
    if (!code) return;
    if (!this.ip.isLocal(src)) return host.count("icmp: error-quoting-another-host");
    const seq = q.length >= hl + 8
      ? ((q[hl + 4] << 24) | (q[hl + 5] << 16) | (q[hl + 6] << 8) | q[hl + 7]) >>> 0
      : -1;
    if (
      proto === IpProtocol.TCP && (seq < 0 || !this.ip.tcp?.icmpBelievable(dst, sport, dport, seq))
    ) {
      return;
    }
    if (proto === IpProtocol.UDP && !this.ip.udp?.holds4(sport)) {
      return host.count("icmp: error-for-no-socket");
    }
    let mtu = 0;
    if (m.kind === "dst-unreachable" && m.code === Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED) {
      // A report of 0 (a router predating RFC 1191) or below 552 locks the path at 552; one
      // above the MTU in use is ignored. TCP hears the path MTU in force, if one was learnt.
      this.ip.learnPathMtu(dst, m.nextHopMtu);
      mtu = this.ip.pathMtu(dst)?.mtu ?? 0;
    }
    if (proto === IpProtocol.UDP) this.ip.udp?.icmpError4(dst, sport, dport, code);
    else if (proto === IpProtocol.TCP) this.ip.tcp?.icmpError4(dst, sport, dport, code, mtu, seq);
  }

  #redirect(iface: NetInterface, ip: Ipv4Repr, gateway: number, quote: Uint8Array) {
    if (quote.length < IPV4_HEADER_LEN) return;
    const dst = ((quote[16] << 24) | (quote[17] << 16) | (quote[18] << 8) | quote[19]) >>> 0;
    // Honoured only from the gateway we use for that destination, to a neighbour on-link.
    const outcome = this.ip.routes.applyRedirect(dst, gateway, ip.src, this.ip.host.clock.now());
    this.ip.host.count(`icmp: redirect ${outcome}`);
    void iface;
  }

  /**
   * Send an ICMP error about `offending` (a datagram we received) to its source, unless RFC 1122
   * §3.2.2 forbids it: about an ICMP error, a broadcast/multicast, a non-initial fragment, or a
   * source that is not a unicast host. Rate limited.
   */
  error(offending: Uint8Array, msg: Icmpv4Error): void {
    const host = this.ip.host;
    if (offending.length < IPV4_HEADER_LEN) return;
    const src =
      ((offending[12] << 24) | (offending[13] << 16) | (offending[14] << 8) | offending[15]) >>> 0;
    const dst =
      ((offending[16] << 24) | (offending[17] << 16) | (offending[18] << 8) | offending[19]) >>> 0;
    const proto = offending[9];
    const fragOff = ((offending[6] & 0x1f) << 8) | offending[7];
    const hl = (offending[0] & 15) * 4;
    if (fragOff !== 0) return;
    if (
      src === 0 || src === 0xffffffff || (src >>> 28) >= 0xe || dst === 0xffffffff ||
      (dst >>> 28) === 0xe
    ) return;
    if (proto === IpProtocol.ICMP && offending.length > hl && isIcmpv4Error(offending[hl])) return;
    if (host.interfaces.some((i) => i.acceptsIPv4(dst) === "broadcast")) return;
    if (!this.#rate.allow(src, host.clock.now())) return host.count("icmp: rate-limited");
    const route = this.ip.route(src);
    if (!route) return;
    const reply = { ...msg, invoking: icmpv4Quote(offending) } as Icmpv4Repr;
    host.count(`icmp: sent ${msg.kind}`);
    this.ip.output(route, {
      src: this.ip.isLocal(dst) ? dst : route.src,
      dst: src,
      protocol: IpProtocol.ICMP,
      ttl: 64,
      payload: encodeIcmpv4(reply),
    });
  }
}

/** The errno an ICMP error means for the socket it quotes (Linux's icmp_err_convert). */
export function icmpErrno(m: Icmpv4Repr): ErrnoCode | undefined {
  switch (m.kind) {
    case "dst-unreachable":
      switch (m.code) {
        case Icmpv4DstUnreachableCode.PORT:
          return "ECONNREFUSED";
        case Icmpv4DstUnreachableCode.PROTOCOL:
          return "ENOPROTOOPT";
        case Icmpv4DstUnreachableCode.NET:
          return "ENETUNREACH";
        case Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED:
          return "EMSGSIZE";
        default:
          return "EHOSTUNREACH";
      }
    case "time-exceeded":
      return "EHOSTUNREACH";
    case "param-problem":
      return "EHOSTUNREACH";
    default:
      return undefined;
  }
}
