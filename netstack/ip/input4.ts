/**
 * IPv4 input (RFC 791, RFC 1122 §3.2.1): a received datagram is validated (martians dropped,
 * `martians.ts`; bad options answered with Parameter Problem; source routes refused as Linux
 * does), forwarded when it is not ours and forwarding is on, reassembled when it is a fragment,
 * and handed to raw sockets and then to ICMP, UDP, TCP or IGMP. An unknown protocol draws a
 * protocol unreachable, a closed UDP port a port unreachable.
 */
import type { NetInterface } from "../link/interface.ts";
import { Icmpv4DstUnreachableCode } from "../wire/icmpv4.ts";
import {
  encodeIpv4,
  hasIpv4Option,
  IpProtocol,
  IPV4_HEADER_LEN,
  IPV4_MAX_LEN,
  ipv4OptionsError,
  Ipv4OptionType,
  type Ipv4Repr,
  parseIpv4,
} from "../wire/ipv4.ts";
import type { Icmp4 } from "./icmp4.ts";
import type { IpHost } from "./ip_host.ts";
import { martian4 } from "./martians.ts";
import { type Reassembler, reassemblyKey4 } from "./reassembly.ts";
import type { DestKind4, Raw4Endpoint, Tcp4Port, Udp4Port } from "./transport4.ts";

/** Loose and strict source routes: refused, as Linux refuses them by default. */
const SOURCE_ROUTE = [Ipv4OptionType.LSRR, Ipv4OptionType.SSRR];

/** What input needs from the IPv4 layer. */
export interface Input4Host {
  readonly host: IpHost;
  readonly forwarding: boolean;
  readonly reassembly: Reassembler;
  readonly raw: ReadonlySet<Raw4Endpoint>;
  readonly icmp: Icmp4;
  readonly tcp?: Tcp4Port;
  readonly udp?: Udp4Port;
  /** True if `addr` is one of this host's addresses (or in 127/8). */
  isLocal(addr: number): boolean;
  /** Forward a datagram that is not for us (`forward4.ts`). */
  forward(iface: NetInterface, ip: Ipv4Repr, bytes: Uint8Array): void;
}

/** Handle an IPv4 datagram received on `iface` (link padding may follow it). */
export function input4(
  ipl: Input4Host,
  iface: NetInterface,
  bytes: Uint8Array,
  linkMulticast: boolean,
): void {
  const host = ipl.host;
  const ip = parseIpv4(bytes);
  const martian = martian4(iface, ip.src, ip.dst, ip.protocol, (a) => ipl.isLocal(a));
  if (martian) {
    // Counted where netstat -s shows it, and per interface (ifconfig), as Linux counts
    // in_martian_src/in_martian_dst; nothing answers a martian.
    host.count(`ipv4: ${martian}`);
    return iface.dropRx(`ipv4: ${martian}`);
  }
  const badOption = ip.options.length > 0 ? ipv4OptionsError(ip.options) : undefined;
  if (badOption !== undefined) {
    // Linux ip_rcv_options() → ip_options_compile(): Parameter Problem pointing at the option,
    // IPSTATS_MIB_INHDRERRORS, drop (RFC 1122 §3.2.2.5).
    host.count("ipv4: bad-options");
    ipl.icmp.error(bytes.subarray(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length), {
      kind: "param-problem",
      code: 0,
      pointer: IPV4_HEADER_LEN + badOption,
      invoking: new Uint8Array(0),
    });
    return iface.dropRx("ipv4: bad-options");
  }
  if (ip.options.length > 0 && hasIpv4Option(ip.options, SOURCE_ROUTE)) {
    // Linux ip_rcv_options(): accept_source_route is 0 on a host, "goto drop", as RFC 7126
    // §4.3-4.4 advises. RFC 1122 §3.2.1.8 wanted a host to be a source route's final
    // destination; Linux, the oracle here, is not, and neither is Serin.
    host.count("ipv4: source-route");
    return iface.dropRx("ipv4: source-route");
  }
  const kind = destKind(ipl, iface, ip.dst);
  if (!kind) {
    if (ipl.forwarding && !linkMulticast) return ipl.forward(iface, ip, bytes);
    return iface.dropRx("ipv4: not-for-us");
  }
  const whole = bytes.subarray(0, IPV4_HEADER_LEN + ip.options.length + ip.payload.length);
  if (ip.moreFragments || ip.fragmentOffset > 0) {
    const hl = IPV4_HEADER_LEN + ip.options.length;
    const r = ipl.reassembly.add({
      key: reassemblyKey4(ip.src, ip.dst, ip.protocol, ip.ident),
      offset: ip.fragmentOffset,
      more: ip.moreFragments,
      data: ip.payload,
      header: ip.fragmentOffset === 0 ? whole.subarray(0, hl) : undefined,
    }, host.clock.now());
    host.rearm();
    if (r.status === "dropped") return iface.dropRx(`ipv4: reassembly-${r.reason}`);
    if (r.status !== "complete") return;
    // The datagram takes the first fragment's header (its options included), as Linux's
    // ip_frag_reasm() does, which then refuses one over 65,535 bytes: "if (len > 65535) goto
    // out_oversize" ("Oversized IP packet", IPSTATS_MIB_REASMFAILS).
    const options = r.header?.subarray(IPV4_HEADER_LEN) ?? ip.options;
    if (IPV4_HEADER_LEN + options.length + r.payload.length > IPV4_MAX_LEN) {
      host.count("ipv4: reassembly-oversize");
      return iface.dropRx("ipv4: reassembly-oversize");
    }
    const h = r.header;
    const full: Ipv4Repr = {
      ...ip,
      ...(h && { dscp: h[1] >>> 2, ecn: h[1] & 3, ttl: h[8], dontFragment: (h[6] & 0x40) !== 0 }),
      moreFragments: false,
      fragmentOffset: 0,
      options,
      payload: r.payload,
    };
    return deliver(ipl, iface, full, encodeIpv4(full), kind);
  }
  deliver(ipl, iface, ip, whole, kind);
}

function destKind(ipl: Input4Host, iface: NetInterface, dst: number): DestKind4 | undefined {
  const k = iface.acceptsIPv4(dst);
  if (k) return k;
  // Weak host model (RFC 1122 §3.3.4.2): any of our addresses, on any interface.
  return ipl.isLocal(dst) ? "unicast" : undefined;
}

/** Hand a whole datagram for us to raw sockets and its protocol. */
function deliver(
  ipl: Input4Host,
  iface: NetInterface,
  ip: Ipv4Repr,
  datagram: Uint8Array,
  kind: DestKind4,
) {
  let rawTaken = false;
  for (const s of ipl.raw) {
    if (s.matches(ip.protocol, ip.src, ip.dst)) {
      s.deliver(datagram.slice(), ip.src);
      rawTaken = true;
    }
  }
  switch (ip.protocol) {
    case IpProtocol.ICMP:
      return ipl.icmp.input(iface, ip, kind);
    case IpProtocol.UDP:
      if (ipl.udp?.input4(iface, ip, kind)) return;
      ipl.host.count("udp: no-port");
      iface.dropRx("udp: no-port");
      if (kind === "unicast") {
        ipl.icmp.error(datagram, {
          kind: "dst-unreachable",
          code: Icmpv4DstUnreachableCode.PORT,
          nextHopMtu: 0,
          invoking: new Uint8Array(0),
        });
      }
      return;
    case IpProtocol.TCP:
      if (kind !== "unicast") return iface.dropRx("tcp: not-unicast");
      if (!ipl.tcp) return iface.dropRx("tcp: not-enabled");
      return ipl.tcp.input4(iface, ip, datagram);
    case IpProtocol.IGMP:
      ipl.host.count("igmp: received");
      return;
    default:
      if (!rawTaken && kind === "unicast") {
        ipl.icmp.error(datagram, {
          kind: "dst-unreachable",
          code: Icmpv4DstUnreachableCode.PROTOCOL,
          nextHopMtu: 0,
          invoking: new Uint8Array(0),
        });
      }
      if (!rawTaken) iface.dropRx("ipv4: unknown-protocol");
  }
}
