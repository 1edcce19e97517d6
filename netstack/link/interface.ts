/**
 * A network interface as the stack sees it (SerenityOS's NetworkAdapter): name, MAC, MTU,
 * addresses, link state and counters, in front of a {@link LinkPort} that carries its frames.
 */
import type { LinkPort } from "../../drivers/link/port.ts";
import type { IfaceAddr, IfaceInfo, IfaceStats, LeaseInfo } from "../../kernel/bus/messages.ts";
import { formatIPv4, formatIPv6, formatMac, prefixMask4 } from "../wire/addr.ts";

/** An IPv4 address configured on an interface. */
export interface Ipv4Address {
  addr: number;
  prefixLen: number;
}

/** DAD and lifetime state of an IPv6 address (RFC 4862). */
export type Ipv6AddrState = "tentative" | "preferred" | "deprecated" | "duplicate";

/** An IPv6 address configured on an interface. */
export interface Ipv6Address {
  addr: Uint8Array;
  prefixLen: number;
  state: Ipv6AddrState;
  /** How the address came to be. */
  origin: "manual" | "link-local" | "slaac" | "loopback";
  /** When the address goes away (ms, Infinity = never). */
  validUntil: number;
  /** When the address becomes deprecated (ms, Infinity = never). */
  preferredUntil: number;
  /** While tentative: when DAD succeeds if nobody objected. */
  dadDoneAt?: number;
}

/** What creating an interface needs. */
export interface InterfaceOptions {
  name: string;
  driver: string;
  mac: Uint8Array;
  mtu: number;
  /** Where frames go; the interface registers itself as the port's receiver. */
  port: LinkPort;
  loopback?: boolean;
  /**
   * Largest IPv4 TCP datagram the link takes in one frame, cut to the MTU further on (a TAP with
   * offloads: Linux does the cutting). 0 or absent: every frame fits the MTU.
   */
  gsoMax?: number;
}

/** One network interface with its configuration and counters. */
export class NetInterface {
  readonly name: string;
  readonly driver: string;
  readonly mac: Uint8Array;
  readonly loopback: boolean;
  mtu: number;
  /** See {@link InterfaceOptions.gsoMax}. */
  readonly gsoMax: number;
  up = true;
  linkUp = true;
  readonly addrs4: Ipv4Address[] = [];
  /** The DHCP lease recorded by netctl `iflease` (for ifconfig only; the netstack ignores it). */
  lease?: LeaseInfo;
  /** IPv4 multicast groups joined (group → number of sockets). */
  readonly groups4 = new Map<number, number>();
  readonly addrs6: Ipv6Address[] = [];
  /** IPv6 multicast groups joined (canonical text → address and number of users). */
  readonly groups6 = new Map<string, { addr: Uint8Array; refs: number }>();
  readonly stats: IfaceStats = {
    rxPackets: 0,
    rxBytes: 0,
    txPackets: 0,
    txBytes: 0,
    rxDropped: 0,
    txDropped: 0,
    drops: {},
  };
  #port: LinkPort;

  constructor(
    readonly index: number,
    opts: InterfaceOptions,
    onFrame: (i: NetInterface, f: Uint8Array) => void,
    onBurstEnd?: (i: NetInterface) => void,
  ) {
    this.name = opts.name;
    this.driver = opts.driver;
    this.mac = opts.mac;
    this.mtu = opts.mtu;
    this.gsoMax = opts.gsoMax ?? 0;
    this.loopback = opts.loopback ?? false;
    this.#port = opts.port;
    opts.port.onFrame((frame) => {
      if (!this.up) return this.dropRx("iface: down");
      this.stats.rxPackets++;
      this.stats.rxBytes += frame.length;
      onFrame(this, frame);
    });
    if (onBurstEnd) opts.port.onBurstEnd?.(() => onBurstEnd(this));
  }

  /** Put a frame on the link (counted; dropped with a reason when down). */
  transmit(frame: Uint8Array): void {
    if (!this.up || !this.linkUp) {
      this.stats.txDropped++;
      this.#count("tx: iface down");
      return;
    }
    this.stats.txPackets++;
    this.stats.txBytes += frame.length;
    this.#port.send(frame);
  }

  /** Count a received frame dropped for `reason` (e.g. "ipv4: bad-checksum"). */
  dropRx(reason: string): void {
    this.stats.rxDropped++;
    this.#count(reason);
  }

  #count(reason: string) {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1;
  }

  /** The configured address that shares a subnet with `dst`, if any. */
  sourceFor(dst: number): number | undefined {
    for (const a of this.addrs4) {
      const m = prefixMask4(a.prefixLen);
      if (((a.addr & m) >>> 0) === ((dst & m) >>> 0)) return a.addr;
    }
    return this.addrs4[0]?.addr;
  }

  /** True if `addr` is one of ours, or a broadcast address of one of our subnets. */
  acceptsIPv4(addr: number): "unicast" | "broadcast" | "multicast" | undefined {
    if (addr === 0xffffffff) return "broadcast";
    if ((addr >>> 28) === 0xe) {
      return this.groups4.has(addr) || addr === 0xe0000001 ? "multicast" : undefined;
    }
    for (const a of this.addrs4) {
      if (a.addr === addr) return "unicast";
      const m = prefixMask4(a.prefixLen);
      if (a.prefixLen < 31 && ((a.addr | ~m) >>> 0) === addr) return "broadcast";
    }
    if (this.loopback && (addr >>> 24) === 127) return "unicast";
    return undefined;
  }

  /** Disconnect from the link. */
  close(): void {
    this.#port.close();
  }

  /** The counters, with the frames the link itself lost (e.g. a full ring) added in. */
  #withLinkDrops(): IfaceStats {
    const stats = { ...this.stats, drops: { ...this.stats.drops } };
    for (const [reason, n] of Object.entries(this.#port.linkDrops?.() ?? {})) {
      stats.drops[reason] = (stats.drops[reason] ?? 0) + n;
      if (reason.startsWith("link: rx")) stats.rxDropped += n;
      else stats.txDropped += n;
    }
    return stats;
  }

  /** The `netctl ifaces` view. */
  info(): IfaceInfo {
    return {
      name: this.name,
      index: this.index,
      driver: this.driver,
      mac: formatMac(this.mac),
      mtu: this.mtu,
      up: this.up,
      linkUp: this.linkUp,
      addrs: this.addrs4.map((a): IfaceAddr => ({
        family: 2 as const,
        addr: formatIPv4(a.addr),
        prefixLen: a.prefixLen,
        scope: this.loopback ? "host" : "global",
        state: "preferred",
      })).concat(this.addrs6.map((a): IfaceAddr => ({
        family: 10 as const,
        addr: formatIPv6(a.addr),
        prefixLen: a.prefixLen,
        scope: scope6(a.addr),
        state: a.state,
      }))),
      stats: this.#withLinkDrops(),
      ...(this.lease ? { lease: this.lease } : {}),
    };
  }
}

function scope6(a: Uint8Array): string {
  if (a[0] === 0xfe && (a[1] & 0xc0) === 0x80) return "link";
  return a.every((b, i) => b === (i === 15 ? 1 : 0)) ? "host" : "global";
}
