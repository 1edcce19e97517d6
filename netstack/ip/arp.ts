/**
 * ARP for the IPv4 layer (RFC 826): one {@link ArpCache} per interface, created on first use;
 * received requests and replies (martians dropped, `martians.ts`), replies and gratuitous
 * announcements sent, and datagrams parked while their next hop resolves. When resolution fails
 * the datagrams' senders hear EHOSTUNREACH and, as on Linux, an ICMP host unreachable.
 */
import type { NeighInfo } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import type { NetInterface } from "../link/interface.ts";
import { formatIPv4, formatMac } from "../wire/addr.ts";
import { ArpOp, encodeArp, parseArp } from "../wire/arp.ts";
import { BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from "../wire/ethernet.ts";
import { Icmpv4DstUnreachableCode, type Icmpv4Repr } from "../wire/icmpv4.ts";
import { IPV4_HEADER_LEN } from "../wire/ipv4.ts";
import { ArpCache } from "./arp_cache.ts";
import { ArpProbes } from "./arp_probe.ts";
import type { IpHost } from "./ip_host.ts";
import { arpMartian } from "./martians.ts";
import type { SendOwner } from "./route4.ts";

/** Most datagrams queued per unresolved neighbour (Linux unres_qlen is 101). */
const ARP_QUEUE = 100;
const ZERO_MAC = new Uint8Array(6);

/** A datagram waiting for ARP, with the socket to tell if resolution fails. */
export interface Waiting4 {
  datagram: Uint8Array;
  owner?: SendOwner;
}

/** What ARP needs from the IPv4 layer. */
export interface ArpHost {
  readonly host: IpHost;
  /** True if `addr` is one of this host's addresses. */
  isLocal(addr: number): boolean;
  /** Send an ICMP error about `offending` to its source (rate limited). */
  icmpError(offending: Uint8Array, msg: Icmpv4Repr & { invoking: Uint8Array }): void;
}

/** The ARP caches and ARP traffic of one host. */
export class Arp4 {
  #caches = new Map<NetInterface, ArpCache<Waiting4>>();
  #probes = new Map<NetInterface, ArpProbes>();

  constructor(readonly ip: ArpHost) {}

  /** The ARP cache of `iface`, created on first use. */
  cache(iface: NetInterface): ArpCache<Waiting4> {
    let c = this.#caches.get(iface);
    if (c) return c;
    const host = this.ip.host;
    c = new ArpCache<Waiting4>({
      sendRequest: (ip, unicastTo) =>
        this.send(iface, ArpOp.REQUEST, ip, ZERO_MAC, unicastTo ?? BROADCAST_MAC),
      onResolved: (_ip, mac, waiting) => {
        for (const w of waiting) host.sendFrame(iface, mac, ETHERTYPE_IPV4, w.datagram);
      },
      onUnreachable: (ip, waiting) => {
        host.count("arp: unresolved");
        for (const w of waiting) {
          w.owner?.onSendError("EHOSTUNREACH", dstOf(w.datagram, ip));
          // As Linux does, our own sender also gets an ICMP host unreachable (ping prints
          // "Destination Host Unreachable"); it comes from the address it sent from.
          this.ip.icmpError(w.datagram, {
            kind: "dst-unreachable",
            code: Icmpv4DstUnreachableCode.HOST,
            nextHopMtu: 0,
            invoking: new Uint8Array(0),
          });
        }
      },
    }, { queueLen: ARP_QUEUE });
    this.#caches.set(iface, c);
    return c;
  }

  /** Handle an ARP packet received on `iface`. */
  input(iface: NetInterface, bytes: Uint8Array): void {
    const host = this.ip.host;
    const a = parseArp(bytes);
    this.#probes.get(iface)?.input(a, iface.mac);
    if (arpMartian(iface, a.senderIp, a.targetIp, (x) => this.ip.isLocal(x))) {
      host.count("arp: martian");
      return iface.dropRx("arp: martian");
    }
    const forUs = iface.addrs4.some((x) => x.addr === a.targetIp);
    if (a.senderIp !== 0) {
      this.cache(iface).update(a.senderIp, a.senderMac, host.clock.now(), {
        solicited: a.op === ArpOp.REPLY && forUs,
        create: forUs,
      });
    }
    if (a.op === ArpOp.REQUEST && forUs && a.senderIp !== a.targetIp) {
      this.send(iface, ArpOp.REPLY, a.senderIp, a.senderMac, a.senderMac, a.targetIp);
    }
    host.rearm();
  }

  /** Send an ARP packet on `iface` (from `senderIp`, else the interface's source for target). */
  send(
    iface: NetInterface,
    op: number,
    targetIp: number,
    targetMac: Uint8Array,
    dstMac: Uint8Array,
    senderIp?: number,
  ): void {
    const src = senderIp ?? iface.sourceFor(targetIp);
    if (src === undefined) return;
    this.ip.host.sendFrame(
      iface,
      dstMac,
      ETHERTYPE_ARP,
      encodeArp({ op, senderMac: iface.mac, senderIp: src, targetMac, targetIp }),
    );
  }

  /**
   * RFC 5227 probing of `addr` on `iface` for a DHCP client: "probe" sends an ARP probe (sender
   * 0.0.0.0) and watches, "check" reports, "end" stops. True when a host claimed `addr`.
   */
  probe(iface: NetInterface, addr: number, action: "probe" | "check" | "end"): boolean {
    let p = this.#probes.get(iface);
    if (action === "end") {
      const claimed = p?.claimed(addr) ?? false;
      p?.end(addr);
      return claimed;
    }
    if (!p) this.#probes.set(iface, p = new ArpProbes());
    if (action === "probe") {
      p.watch(addr);
      if (iface.up && !iface.loopback) {
        this.send(iface, ArpOp.REQUEST, addr, ZERO_MAC, BROADCAST_MAC, 0);
      }
    }
    return p.claimed(addr);
  }

  /** Announce `addr` on `iface` (gratuitous ARP request). */
  announce(iface: NetInterface, addr: number): void {
    this.send(iface, ArpOp.REQUEST, addr, ZERO_MAC, BROADCAST_MAC, addr);
  }

  /** Add a permanent ARP entry. */
  addStatic(iface: NetInterface, ip: number, mac: Uint8Array): void {
    this.cache(iface).addStatic(ip, mac);
  }

  /** Remove an ARP entry from every interface (ENOENT if none). */
  remove(ip: number): void {
    let found = false;
    for (const c of this.#caches.values()) found = c.remove(ip) || found;
    if (!found) throw new ErrnoError("ENOENT", `No ARP entry for ${formatIPv4(ip)}`);
  }

  /** ARP entries for `arp -n`. */
  list(): NeighInfo[] {
    const out: NeighInfo[] = [];
    for (const [iface, cache] of this.#caches) {
      for (const n of cache.list()) {
        out.push({
          family: 2,
          addr: formatIPv4(n.ip),
          mac: n.mac ? formatMac(n.mac) : undefined,
          iface: iface.name,
          state: n.state.toLowerCase(),
        });
      }
    }
    return out;
  }

  /** Run every cache's due timers (retries, aging). */
  poll(now: number): void {
    for (const c of this.#caches.values()) c.poll(now);
  }

  /** The earliest timer of any cache. */
  nextDeadline(): number | undefined {
    let best: number | undefined;
    for (const c of this.#caches.values()) {
      const d = c.nextDeadline();
      if (d !== undefined && (best === undefined || d < best)) best = d;
    }
    return best;
  }
}

/** The destination address of an IPv4 datagram (or `fallback` when too short). */
export function dstOf(datagram: Uint8Array, fallback: number): number {
  if (datagram.length < IPV4_HEADER_LEN) return fallback;
  return ((datagram[16] << 24) | (datagram[17] << 16) | (datagram[18] << 8) | datagram[19]) >>> 0;
}
