/**
 * ICMPv6 for the IPv6 layer (RFC 4443): echo replies, Neighbour Discovery and MLD handed to
 * `nd.ts` / `mld.ts`, errors about what we sent passed to the socket they quote (Packet Too Big
 * into the path MTU cache, RFC 8201), and the errors we send about what we received — never
 * about an ICMPv6 error, from :: or a multicast source, or to a multicast destination except
 * Packet Too Big, and rate limited (RFC 4443 §2.4).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { MldRepr } from "../wire/mld.ts";
import type { NdpRepr } from "../wire/ndp.ts";
import {
  encodeIcmpv6,
  Icmpv6DstUnreachableCode,
  type Icmpv6Repr,
  isIcmpv6Error,
  parseIcmpv6,
} from "../wire/icmpv6.ts";
import { IPV6_HEADER_LEN, IPV6_MIN_MTU, Ipv6NextHeader, type Ipv6Repr } from "../wire/ipv6.ts";
import { type Ipv6Chain, walkIpv6Extensions } from "../wire/ipv6_ext.ts";
import { IcmpRateLimiter } from "../ip/icmp_rate.ts";
import type { IpHost } from "../ip/ip_host.ts";
import type { PmtuUpdate } from "../ip/pmtu_cache.ts";
import { isMulticast6, isUnspecified6, key6 } from "./addr6.ts";
import type { Received } from "./ext_headers.ts";
import type { Ipv6Send, Route6, Route6Constraint } from "./route6.ts";
import type { Tcp6Port, Udp6Port } from "./transport6.ts";

const NH = Ipv6NextHeader;

/** What ICMPv6 needs from the IPv6 layer. */
export interface Icmp6Host {
  readonly host: IpHost;
  readonly tcp?: Tcp6Port;
  readonly udp?: Udp6Port;
  /** Default hop limit (from router advertisements, else 64). */
  readonly hopLimit: number;
  /** The route towards `dst`. */
  route(dst: Uint8Array, c?: Route6Constraint): Route6 | undefined;
  /** Send a datagram along `route`. */
  output(route: Route6, d: Ipv6Send): ErrnoCode | undefined;
  /** True if `addr` is a usable address of this host. */
  isLocal(addr: Uint8Array): boolean;
  /** A Packet Too Big reported `mtu` towards `dst`. */
  learnPathMtu(dst: Uint8Array, mtu: number): PmtuUpdate;
  /** A Neighbour Discovery message (`nd.ts`). */
  ndpInput(iface: NetInterface, ip: Ipv6Repr, m: NdpRepr, toMulticast: boolean): void;
  /** An MLD message (`mld.ts`). */
  mldInput(iface: NetInterface, ip: Ipv6Repr, m: MldRepr): void;
}

/** The ICMPv6 of one IPv6 layer. */
export class Icmp6 {
  /** ICMPv6 error budget (RFC 4443 §2.4(f)): 1000 a second, bursts of 50, as for IPv4. */
  #rate = new IcmpRateLimiter();

  constructor(readonly ip: Icmp6Host) {}

  /** Handle an ICMPv6 message (`payload`) of the received packet `r`. */
  input(r: Received, payload: Uint8Array): void {
    const host = this.ip.host;
    const m = parseIcmpv6(payload, { src: r.ip.src, dst: r.ip.dst });
    switch (m.kind) {
      case "echo-request": {
        const route = this.ip.route(r.ip.src, { scopeId: r.iface.index });
        if (!route) return host.count("icmpv6: no-route-for-reply");
        const src = r.kind === "unicast" ? r.ip.dst : route.src;
        if (isUnspecified6(src)) return host.count("icmpv6: no-source-for-reply");
        this.ip.output(route, {
          src,
          dst: r.ip.src,
          nextHeader: NH.ICMPV6,
          hopLimit: this.ip.hopLimit,
          payload: encodeIcmpv6({
            kind: "echo-reply",
            identifier: m.identifier,
            sequence: m.sequence,
            data: m.data,
          }, { src, dst: r.ip.src }),
        });
        return;
      }
      case "echo-reply":
        return; // for raw sockets only
      case "dst-unreachable":
      case "packet-too-big":
      case "time-exceeded":
      case "param-problem":
        return this.#errorInput(m);
      case "ndp":
        return this.ip.ndpInput(r.iface, r.ip, m.message, r.kind === "multicast");
      case "mld":
        return this.ip.mldInput(r.iface, r.ip, m.message);
      case "other":
        return;
      default: {
        const never: never = m;
        throw new Error(`bad ICMPv6 ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * An ICMPv6 error about something we sent: learn the path MTU from Packet Too Big, then tell
   * the socket it quotes. As Linux's err handlers (tcp_v6_err, udpv6_err), nothing is learnt from
   * an error whose quote is not ours: from another source address, about a TCP segment outside a
   * connection's [SND.UNA, SND.NXT] (RFC 5927 §4.1), or a UDP port nobody holds.
   */
  #errorInput(m: Icmpv6Repr & { invoking: Uint8Array }) {
    const host = this.ip.host;
    const q = m.invoking;
    if (q.length < IPV6_HEADER_LEN) return host.count("icmpv6: short-quote");
    if (!this.ip.isLocal(q.subarray(8, 24))) {
      return host.count("icmpv6: error-quoting-another-host");
    }
    const dst = q.slice(24, 40);
    let chain: Ipv6Chain | undefined;
    try {
      chain = walkIpv6Extensions(q.subarray(IPV6_HEADER_LEN), q[6]);
    } catch {
      chain = undefined;
    }
    const up = chain?.upper;
    // A quoted TCP header's ports and sequence number, for TCP to check (RFC 5927 §4.1).
    const tcpQuote = chain?.upperLayer === NH.TCP && up && up.length >= 8
      ? {
        sport: (up[0] << 8) | up[1],
        dport: (up[2] << 8) | up[3],
        seq: ((up[4] << 24) | (up[5] << 16) | (up[6] << 8) | up[7]) >>> 0,
      }
      : undefined;
    // Nothing, path MTU included, is learnt from an error TCP does not believe (Linux's tcp_v6_err).
    if (
      tcpQuote &&
      this.ip.tcp?.icmpBelievable(dst, tcpQuote.sport, tcpQuote.dport, tcpQuote.seq) === false
    ) {
      return;
    }
    if (chain?.upperLayer === NH.UDP && up && up.length >= 2) {
      if (!this.ip.udp?.holds6((up[0] << 8) | up[1])) {
        return host.count("icmpv6: error-for-no-socket");
      }
    }
    if (m.kind === "packet-too-big") {
      // Below 1280 the report is ignored, as Linux 6.18 ignores it (tests/interop/pmtu_test.ts):
      // the path never goes under 1280 (RFC 8200 §5) and gets no atomic fragments (RFC 8021).
      if (m.mtu < IPV6_MIN_MTU) host.count("icmpv6: ptb-below-1280");
      const u = this.ip.learnPathMtu(dst, m.mtu);
      if (u.changed) {
        host.count("icmpv6: path-mtu-lowered");
        this.ip.tcp?.pathMtu6(dst, u.mtu);
      }
      return;
    }
    if (!chain) return host.count("icmpv6: bad-quote");
    if (chain.upper.length < 4) return;
    const sport = (chain.upper[0] << 8) | chain.upper[1];
    const dport = (chain.upper[2] << 8) | chain.upper[3];
    const code = icmp6Errno(m);
    if (chain.upperLayer === NH.UDP) this.ip.udp?.icmpError6(dst, sport, dport, code);
    else if (tcpQuote) this.ip.tcp?.icmpError6(dst, sport, dport, code, tcpQuote.seq);
  }

  /**
   * Send an ICMPv6 error about `offending` (a packet we received on `iface`) to its source,
   * unless RFC 4443 §2.4 forbids it: about an ICMPv6 error, from :: or a multicast source, or to
   * a multicast destination (unless `toMulticastOk`: Packet Too Big, unknown option 10xxxxxx).
   * Rate limited by a token bucket.
   */
  error(iface: NetInterface, offending: Uint8Array, msg: Icmpv6Repr, toMulticastOk = false): void {
    const host = this.ip.host;
    if (offending.length < IPV6_HEADER_LEN) return;
    const src = offending.slice(8, 24);
    const dst = offending.slice(24, 40);
    if (isUnspecified6(src) || isMulticast6(src)) return;
    if (isMulticast6(dst) && !toMulticastOk && msg.kind !== "packet-too-big") return;
    try {
      const c = walkIpv6Extensions(offending.subarray(IPV6_HEADER_LEN), offending[6]);
      if (c.upperLayer === NH.ICMPV6 && c.upper.length > 0 && isIcmpv6Error(c.upper[0])) return;
    } catch {
      // A broken chain is no ICMPv6 error; the reply may still go out.
    }
    if (!this.#rate.allow(key6(src), host.clock.now())) return host.count("icmpv6: rate-limited");
    const route = this.ip.route(src, { scopeId: iface.index });
    if (!route) return;
    const from = !isMulticast6(dst) && this.ip.isLocal(dst) ? dst : route.src;
    if (isUnspecified6(from)) return;
    host.count(`icmpv6: sent ${msg.kind}`);
    this.ip.output(route, {
      src: from,
      dst: src,
      nextHeader: NH.ICMPV6,
      hopLimit: 64,
      payload: encodeIcmpv6(msg, { src: from, dst: src }),
    });
  }
}

/** The errno an ICMPv6 error means for the socket it quotes (Linux's icmpv6_err_convert). */
export function icmp6Errno(m: Icmpv6Repr): ErrnoCode {
  switch (m.kind) {
    case "dst-unreachable":
      switch (m.code) {
        case Icmpv6DstUnreachableCode.PORT_UNREACHABLE:
          return "ECONNREFUSED";
        case Icmpv6DstUnreachableCode.NO_ROUTE:
          return "ENETUNREACH";
        case Icmpv6DstUnreachableCode.ADMIN_PROHIBITED:
          return "EACCES";
        default:
          return "EHOSTUNREACH";
      }
    case "packet-too-big":
      return "EMSGSIZE";
    default:
      return "EHOSTUNREACH";
  }
}
