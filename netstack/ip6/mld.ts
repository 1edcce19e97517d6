/**
 * Multicast Listener Discovery for a host (MLDv2, RFC 3810): group joins counted per user on
 * each interface; the first join and the last leave send a state-change report to
 * ff02::16 (hop limit 1, with the router alert option, from the link-local address), and a query
 * is answered with a current-state report of the groups asked about. ff02::1 is never reported
 * (RFC 3810 §6).
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import type { IpHost } from "../ip/ip_host.ts";
import { encodeIcmpv6 } from "../wire/icmpv6.ts";
import { Ipv6NextHeader, Ipv6OptionType, type Ipv6Repr } from "../wire/ipv6.ts";
import { emitIpv6OptionsHeader } from "../wire/ipv6_ext.ts";
import { MldRecordType, type MldRepr } from "../wire/mld.ts";
import {
  ALL_MLDV2_ROUTERS,
  ALL_NODES,
  equal6,
  isLinkLocal6,
  isUnspecified6,
  key6,
  UNSPECIFIED6,
} from "./addr6.ts";
import type { Ipv6Send, Route6 } from "./route6.ts";

/** What MLD needs from the IPv6 layer. */
export interface MldHost {
  readonly host: IpHost;
  /** Send a datagram along `route`. */
  output(route: Route6, d: Ipv6Send): ErrnoCode | undefined;
}

/** The MLD listener state of one host. */
export class Mld {
  constructor(readonly ip: MldHost) {}

  /** Join or leave `group` on `iface`; MLDv2 report when membership starts or ends. */
  joinGroup(iface: NetInterface, group: Uint8Array, join: boolean): void {
    const k = key6(group);
    const g = iface.groups6.get(k);
    if (join) {
      if (g) return void g.refs++;
      iface.groups6.set(k, { addr: group.slice(), refs: 1 });
      this.#report(iface, group, MldRecordType.CHANGE_TO_EXCLUDE);
    } else {
      if (!g) return;
      if (--g.refs > 0) return;
      iface.groups6.delete(k);
      this.#report(iface, group, MldRecordType.CHANGE_TO_INCLUDE);
    }
  }

  /** An MLD message: answer a query with a current-state report of every group. */
  input(iface: NetInterface, _ip: Ipv6Repr, m: MldRepr): void {
    if (m.kind !== "query") return;
    const records = [...iface.groups6.values()]
      .filter((g) => !equal6(g.addr, ALL_NODES))
      .filter((g) => isUnspecified6(m.multicastAddress) || equal6(g.addr, m.multicastAddress))
      .map((g) => ({
        recordType: MldRecordType.MODE_IS_EXCLUDE,
        multicastAddress: g.addr,
        sources: [],
        auxData: new Uint8Array(0),
      }));
    if (records.length) this.#send(iface, { kind: "report-v2", records });
  }

  #report(iface: NetInterface, group: Uint8Array, recordType: number) {
    if (iface.loopback || equal6(group, ALL_NODES)) return; // RFC 3810 §6: never ff02::1
    this.#send(iface, {
      kind: "report-v2",
      records: [{ recordType, multicastAddress: group, sources: [], auxData: new Uint8Array(0) }],
    });
  }

  #send(iface: NetInterface, m: MldRepr) {
    const src = linkLocal(iface) ?? UNSPECIFIED6;
    const icmp = encodeIcmpv6({ kind: "mld", message: m }, { src, dst: ALL_MLDV2_ROUTERS });
    const hbh = new Uint8Array(8);
    emitIpv6OptionsHeader(Ipv6NextHeader.ICMPV6, [{
      type: Ipv6OptionType.ROUTER_ALERT,
      data: new Uint8Array(2),
    }], hbh);
    const payload = new Uint8Array(hbh.length + icmp.length);
    payload.set(hbh);
    payload.set(icmp, hbh.length);
    this.ip.output({ iface, nextHop: ALL_MLDV2_ROUTERS, src }, {
      src,
      dst: ALL_MLDV2_ROUTERS,
      nextHeader: Ipv6NextHeader.HOP_BY_HOP,
      hopLimit: 1,
      payload,
    });
    this.ip.host.count("mld: report-sent");
  }
}

/** The usable link-local address of `iface`, if it has one yet. */
export function linkLocal(iface: NetInterface): Uint8Array | undefined {
  return iface.addrs6.find((a) =>
    isLinkLocal6(a.addr) && (a.state === "preferred" || a.state === "deprecated")
  )?.addr;
}
