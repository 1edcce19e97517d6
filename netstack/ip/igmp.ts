/**
 * IPv4 multicast membership (RFC 1112, IGMPv2 RFC 2236): group joins counted per socket on each
 * interface; the first join sends a membership report to the group, the last leave a leave-group
 * to all-routers (RFC 2236 §3), with TTL 1 and the router alert option. 224.0.0.1 is never
 * reported. Received IGMP is only counted (a host answers no queries yet).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import { encodeIgmp, IGMP_ALL_ROUTERS, IGMP_ALL_SYSTEMS } from "../wire/igmp.ts";
import { IpProtocol, IPV4_OPTION_ROUTER_ALERT } from "../wire/ipv4.ts";
import type { IpHost } from "./ip_host.ts";
import type { Ipv4Send, Route4 } from "./route4.ts";

/** What IGMP needs from the IPv4 layer. */
export interface IgmpHost {
  readonly host: IpHost;
  /** Send a datagram along `route`. */
  output(route: Route4, d: Ipv4Send): ErrnoCode | undefined;
}

/** Join or leave `group` on `iface`, reporting the first join and the last leave. */
export function joinGroup4(ip: IgmpHost, iface: NetInterface, group: number, join: boolean): void {
  const n = iface.groups4.get(group) ?? 0;
  if (join) iface.groups4.set(group, n + 1);
  else if (n <= 1) iface.groups4.delete(group);
  else iface.groups4.set(group, n - 1);
  ip.host.count(join ? "igmp: join" : "igmp: leave");
  const first = join && n === 0;
  const last = !join && n === 1;
  if ((!first && !last) || group === IGMP_ALL_SYSTEMS || iface.loopback) return;
  const dst = first ? group : IGMP_ALL_ROUTERS;
  const src = iface.addrs4[0]?.addr ?? 0;
  ip.output({ iface, nextHop: dst, src, broadcast: false, mtu: iface.mtu }, {
    src,
    dst,
    protocol: IpProtocol.IGMP,
    ttl: 1,
    options: IPV4_OPTION_ROUTER_ALERT,
    payload: encodeIgmp(first ? { kind: "report-v2", group } : { kind: "leave", group }),
  });
  ip.host.count(first ? "igmp: report-sent" : "igmp: leave-sent");
}
