/**
 * The DHCPv4 client state machine (RFC 2131 §4.4, Figure 5), with an ARP probe of the offered
 * address before use (RFC 5227 §2.1). Pure: the time (milliseconds) and events go in, actions
 * come out; it sets no timers and does no I/O. The program (tools/dhcpc.ts) sends what it is
 * told, calls {@link DhcpClient.tick} at {@link DhcpClient.nextDeadline}, and configures the
 * interface on "bind".
 *
 * ```text
 *  INIT ─DISCOVER→ SELECTING ─OFFER/REQUEST→ REQUESTING ─ACK→ PROBING ─no conflict→ BOUND
 *   ↑                                          │NAK          │conflict: DECLINE     │T1
 *   └──────────────────────────────────────────┴─────────────┘            RENEWING ←┘
 *   ↑ lease expired, NAK                                             T2 ↓ (unicast REQUEST)
 *   └──────────────────────────────────────────────────────────── REBINDING (broadcast)
 * ```
 *
 * Replies that do not belong to the exchange are ignored and counted (`counters`): a wrong xid
 * or chaddr, a malformed message, an offer without a server identifier, an address that cannot
 * be a host's, and leases of impossible length (0). T1 and T2 that contradict the lease are
 * fixed as RFC 2131 §4.4.5 defaults them (T1 = lease/2, T2 = 7/8 lease).
 */
import { WireError } from "../../netstack/wire/errors.ts";
import {
  DHCP_FLAG_BROADCAST,
  DhcpMessageType as T,
  DhcpOp,
  DhcpOption as O,
  type DhcpRepr,
  parseDhcp,
} from "./message.ts";

/** States of RFC 2131 Figure 5, with PROBING for RFC 5227's check and STOPPED after release. */
export type DhcpState =
  | "INIT"
  | "SELECTING"
  | "REQUESTING"
  | "PROBING"
  | "BOUND"
  | "RENEWING"
  | "REBINDING"
  | "STOPPED";

/** What the client holds once bound. Times are in seconds, `acquiredAt` in clock milliseconds. */
export interface DhcpLease {
  addr: number;
  prefixLen: number;
  serverId: number;
  /** The first router on the leased subnet, if the server named one. */
  router?: number;
  dnsServers: number[];
  domainName?: string;
  mtu?: number;
  /** Lease length; Infinity for an infinite lease (0xffffffff). */
  leaseSecs: number;
  t1Secs: number;
  t2Secs: number;
  /** When the REQUEST that got this lease was sent: its times count from there (RFC 2131 §4.4.1). */
  acquiredAt: number;
}

/** Something the program must do. */
export type DhcpAction =
  | { kind: "send"; msg: DhcpRepr; to: "broadcast" | number }
  /** Send an ARP probe for `addr` (sender 0.0.0.0), or just report, and answer with probeResult. */
  | { kind: "probe"; addr: number; send: boolean }
  /** Stop watching `addr` for conflicts. */
  | { kind: "probe-end"; addr: number }
  /** Configure the lease (first time, or again after renewing: `renewed`). */
  | { kind: "bind"; lease: DhcpLease; renewed: boolean }
  /** Remove the lease's configuration. */
  | { kind: "unbind"; lease: DhcpLease; reason: string }
  /** A line for the user. */
  | { kind: "log"; text: string };

/** Settings of a client. */
export interface DhcpClientOptions {
  /** The interface's MAC. */
  mac: Uint8Array;
  /** Uniform in [0, 1): xids and retransmission jitter. */
  random: () => number;
  /** Sent as option 12 (dnsmasq registers it in its DNS). */
  hostName?: string;
  /** Probe the address with ARP before using it (RFC 5227). Default true. */
  arpProbe?: boolean;
}

/** Retransmission: 4 s, doubled each time up to 64 s, each ±1 s (RFC 2131 §4.1). */
export const FIRST_RETRANSMIT_MS = 4000;
/** Longest retransmission interval. */
export const MAX_RETRANSMIT_MS = 64000;
/** REQUESTs sent in REQUESTING before starting over (the 4…64 s schedule once through). */
export const REQUEST_TRIES = 5;
/** After a DECLINE, wait this long before starting over (RFC 2131 §3.1.5: at least 10 s). */
export const DECLINE_WAIT_MS = 10000;
/** RFC 5227 §1.1: PROBE_WAIT 1 s, PROBE_NUM 3, PROBE_MIN 1 s, PROBE_MAX 2 s, ANNOUNCE_WAIT 2 s. */
export const ARP_TIMING = { wait: 1000, num: 3, min: 1000, max: 2000, announceWait: 2000 };
/** Smallest retransmission interval while RENEWING/REBINDING (RFC 2131 §4.4.5). */
export const MIN_RENEW_RETRANSMIT_MS = 60000;

/** The options the client asks for (option 55). */
export const PARAMETER_REQUEST_LIST = [
  O.SUBNET_MASK,
  O.ROUTER,
  O.DNS_SERVERS,
  O.DOMAIN_NAME,
  O.MTU,
  O.LEASE_TIME,
  O.RENEWAL_TIME,
  O.REBINDING_TIME,
];

const INFINITE_LEASE = 0xffffffff;

/** True for an address a server may hand out: not 0/8, loopback, multicast, class E. */
function hostAddress(a: number): boolean {
  const top = a >>> 24;
  return top !== 0 && top !== 127 && top < 224;
}

/** Prefix length of a contiguous netmask, or undefined. */
export function maskPrefix(mask: number): number | undefined {
  const inv = ~mask >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined;
  return 32 - Math.log2(inv + 1);
}

/** The classful prefix for an address given without a mask (RFC 2132 §3.3 leaves it open). */
function classful(a: number): number {
  const top = a >>> 24;
  return top < 128 ? 8 : top < 192 ? 16 : 24;
}

/** A DHCPv4 client for one interface. */
export class DhcpClient {
  /** Current state. */
  state: DhcpState = "INIT";
  /** The lease held (BOUND, RENEWING, REBINDING), or being probed (PROBING). */
  lease?: DhcpLease;
  /** Why messages were ignored, and other events, by name. */
  readonly counters = new Map<string, number>();
  /** Messages sent in this exchange (for "no server answers" messages). */
  tries = 0;

  #opts: DhcpClientOptions;
  #xid = 0;
  #started = 0;
  #deadline?: number;
  #interval = FIRST_RETRANSMIT_MS;
  #offer?: DhcpRepr;
  /**
   * When the first REQUEST of this exchange left: an ACK may answer any of its retransmissions
   * (same xid), so the lease counts from the earliest, never longer than the server's.
   */
  #requestSentAt = 0;
  #probesLeft = 0;
  #naks = 0;
  #t1At = Infinity;
  #t2At = Infinity;
  #expiresAt = Infinity;

  constructor(opts: DhcpClientOptions) {
    this.#opts = { arpProbe: true, ...opts };
  }

  /** The transaction id of the current exchange; replies must carry it. */
  get xid(): number {
    return this.#xid;
  }

  /** When {@link tick} wants to be called next, or undefined. */
  nextDeadline(): number | undefined {
    return this.#deadline;
  }

  #count(what: string) {
    this.counters.set(what, (this.counters.get(what) ?? 0) + 1);
  }

  #jitter(ms: number): number {
    return ms + Math.round((this.#opts.random() * 2 - 1) * 1000);
  }

  #newXid() {
    this.#xid = Math.floor(this.#opts.random() * 0x100000000) >>> 0;
  }

  /** A message of `type` from this client, with the options every request carries. */
  #message(type: number, now: number, extra: Partial<DhcpRepr> = {}): DhcpRepr {
    return {
      op: DhcpOp.BOOTREQUEST,
      xid: this.#xid,
      secs: Math.min(0xffff, Math.floor((now - this.#started) / 1000)),
      flags: 0,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: this.#opts.mac,
      messageType: type,
      clientId: Uint8Array.of(1, ...this.#opts.mac),
      ...extra,
    };
  }

  /** Start (or restart) acquiring a lease: DISCOVER now. */
  start(now: number): DhcpAction[] {
    this.state = "INIT";
    this.#newXid();
    this.#started = now;
    this.#interval = FIRST_RETRANSMIT_MS;
    this.tries = 0;
    this.#offer = undefined;
    return this.#discover(now);
  }

  #discover(now: number): DhcpAction[] {
    this.state = "SELECTING";
    this.tries++;
    this.#deadline = now + this.#jitter(this.#interval);
    this.#interval = Math.min(MAX_RETRANSMIT_MS, this.#interval * 2);
    // The broadcast bit: Serin takes no unicast for an address it does not have yet.
    const msg = this.#message(T.DISCOVER, now, {
      flags: DHCP_FLAG_BROADCAST,
      hostName: this.#opts.hostName,
      parameterRequestList: PARAMETER_REQUEST_LIST,
    });
    return [{ kind: "send", msg, to: "broadcast" }];
  }

  #request(now: number): DhcpAction[] {
    const o = this.#offer!;
    this.tries++;
    if (this.tries === 1) this.#requestSentAt = now;
    this.#deadline = now + this.#jitter(this.#interval);
    this.#interval = Math.min(MAX_RETRANSMIT_MS, this.#interval * 2);
    const msg = this.#message(T.REQUEST, now, {
      flags: DHCP_FLAG_BROADCAST,
      requestedIp: o.yiaddr,
      serverId: o.serverId,
      hostName: this.#opts.hostName,
      parameterRequestList: PARAMETER_REQUEST_LIST,
    });
    return [{ kind: "send", msg, to: "broadcast" }];
  }

  /** A REQUEST to extend the lease: unicast to its server (RENEWING) or broadcast (REBINDING). */
  #extend(now: number): DhcpAction[] {
    const l = this.lease!;
    const end = this.state === "RENEWING" ? this.#t2At : this.#expiresAt;
    // RFC 2131 §4.4.5: wait half the time left, at least 60 s, before sending again.
    this.#deadline = Math.min(end, now + Math.max(MIN_RENEW_RETRANSMIT_MS, (end - now) / 2));
    const msg = this.#message(T.REQUEST, now, {
      ciaddr: l.addr,
      hostName: this.#opts.hostName,
      parameterRequestList: PARAMETER_REQUEST_LIST,
    });
    return [{ kind: "send", msg, to: this.state === "RENEWING" ? l.serverId : "broadcast" }];
  }

  /** Time has passed: retransmit, move on to RENEWING/REBINDING, or give up the lease. */
  tick(now: number): DhcpAction[] {
    if (this.#deadline === undefined || now < this.#deadline) return [];
    switch (this.state) {
      case "INIT":
        return this.start(now);
      case "SELECTING": {
        const out = this.#discover(now);
        if (this.tries > 1) {
          out.push({
            kind: "log",
            text: `no DHCP server has answered ${this.tries - 1} DISCOVER${
              this.tries > 2 ? "s" : ""
            }; trying again`,
          });
        }
        return out;
      }
      case "REQUESTING":
        if (this.tries >= REQUEST_TRIES) {
          this.#count("request timed out");
          return [{ kind: "log", text: "no answer to REQUEST; starting over" }, ...this.start(now)];
        }
        return this.#request(now);
      case "PROBING":
        return this.#probeStep(now);
      case "BOUND":
      case "RENEWING":
      case "REBINDING":
        return this.#leaseTimers(now);
      case "STOPPED":
        this.#deadline = undefined;
        return [];
    }
  }

  #leaseTimers(now: number): DhcpAction[] {
    if (now >= this.#expiresAt) {
      const lease = this.lease!;
      this.lease = undefined;
      this.#count("lease expired");
      return [
        { kind: "unbind", lease, reason: "lease expired" },
        ...this.start(now),
      ];
    }
    if (now >= this.#t2At && this.state !== "REBINDING") {
      this.state = "REBINDING";
      this.#newXid();
      this.#requestSentAt = now;
      return this.#extend(now);
    }
    if (now >= this.#t1At && this.state === "BOUND") {
      this.state = "RENEWING";
      this.#newXid();
      this.#started = now; // secs counts from the start of the renewal (RFC 2131 §2)
      this.#requestSentAt = now;
      return this.#extend(now);
    }
    // A retransmission while RENEWING or REBINDING.
    return this.#extend(now);
  }

  /** A datagram arrived on port 68. */
  receive(bytes: Uint8Array, now: number): DhcpAction[] {
    let m: DhcpRepr;
    try {
      m = parseDhcp(bytes);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.#count(`malformed: ${err.reason}`);
      return [];
    }
    if (m.op !== DhcpOp.BOOTREPLY) return this.#ignore("not a reply");
    if (m.xid !== this.#xid) return this.#ignore("wrong xid");
    if (!m.chaddr.every((b, i) => b === this.#opts.mac[i])) return this.#ignore("wrong chaddr");
    switch (m.messageType) {
      case T.OFFER:
        return this.#onOffer(m, now);
      case T.ACK:
        return this.#onAck(m, now);
      case T.NAK:
        return this.#onNak(m, now);
      default:
        return this.#ignore("unexpected message type");
    }
  }

  #ignore(why: string): DhcpAction[] {
    this.#count(why);
    return [];
  }

  /** The lease an OFFER or ACK describes, or the reason it is unusable. */
  #leaseOf(m: DhcpRepr, now: number): DhcpLease | string {
    if (!hostAddress(m.yiaddr)) return "bad address";
    if (m.serverId === undefined || !hostAddress(m.serverId)) return "no server id";
    if (m.leaseTime === undefined || m.leaseTime === 0) return "impossible lease";
    const prefixLen = m.subnetMask === undefined ? classful(m.yiaddr) : maskPrefix(m.subnetMask);
    if (prefixLen === undefined || prefixLen === 0 || prefixLen === 32) return "bad netmask";
    const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
    const host = m.yiaddr & ~mask;
    if (prefixLen < 31 && (host === 0 || host === (~mask >>> 0))) return "bad address";
    const sameNet = (a: number) => ((a ^ m.yiaddr) & mask) === 0;
    const router = m.routers?.find((r) => hostAddress(r) && sameNet(r) && r !== m.yiaddr);
    if (m.routers?.length && router === undefined) this.#count("router off the subnet");
    const lease = m.leaseTime === INFINITE_LEASE ? Infinity : m.leaseTime;
    let t2 = m.rebindingTime ?? -1;
    let t1 = m.renewalTime ?? -1;
    let fixed = false;
    if (lease !== Infinity) {
      if (!(t2 > 0 && t2 < lease)) {
        fixed ||= m.rebindingTime !== undefined;
        t2 = Math.floor(lease * 7 / 8);
      }
      if (!(t1 > 0 && t1 < t2)) {
        fixed ||= m.renewalTime !== undefined;
        t1 = Math.floor(lease / 2) < t2 ? Math.floor(lease / 2) : Math.floor(t2 / 2);
      }
    } else t1 = t2 = Infinity;
    if (fixed) this.#count("lease times fixed");
    return {
      addr: m.yiaddr,
      prefixLen,
      serverId: m.serverId,
      router,
      dnsServers: (m.dnsServers ?? []).filter(hostAddress),
      domainName: m.domainName,
      mtu: m.mtu !== undefined && m.mtu >= 576 ? m.mtu : undefined,
      leaseSecs: lease,
      t1Secs: t1,
      t2Secs: t2,
      acquiredAt: now,
    };
  }

  #onOffer(m: DhcpRepr, now: number): DhcpAction[] {
    if (this.state !== "SELECTING") return this.#ignore("unexpected OFFER");
    const lease = this.#leaseOf(m, now);
    if (typeof lease === "string") return this.#ignore(`offer: ${lease}`);
    this.#offer = m;
    this.state = "REQUESTING";
    this.tries = 0;
    this.#interval = FIRST_RETRANSMIT_MS;
    return this.#request(now);
  }

  #onAck(m: DhcpRepr, now: number): DhcpAction[] {
    const s = this.state;
    if (s !== "REQUESTING" && s !== "RENEWING" && s !== "REBINDING") {
      return this.#ignore("unexpected ACK");
    }
    if (s === "REQUESTING") {
      if (m.serverId !== this.#offer!.serverId) return this.#ignore("ack: wrong server");
      if (m.yiaddr !== this.#offer!.yiaddr) return this.#ignore("ack: not the address requested");
    }
    const lease = this.#leaseOf(m, this.#requestSentAt);
    if (typeof lease === "string") return this.#ignore(`ack: ${lease}`);
    this.#naks = 0;
    if (s === "REQUESTING") {
      this.lease = lease;
      if (!this.#opts.arpProbe) return this.#bind(now, false);
      this.state = "PROBING";
      this.#probesLeft = ARP_TIMING.num;
      this.#deadline = now + Math.floor(this.#opts.random() * ARP_TIMING.wait);
      return [];
    }
    const old = this.lease!;
    if (lease.addr !== old.addr) {
      // The server moved us (RFC 2131 leaves it open): give up the old address, take the new.
      this.lease = lease;
      return [
        { kind: "unbind", lease: old, reason: "server assigned a new address" },
        ...this.#bind(now, false),
      ];
    }
    this.lease = lease;
    return this.#bind(now, true);
  }

  /** One step of RFC 5227 probing: the next probe, or the verdict after the last one. */
  #probeStep(now: number): DhcpAction[] {
    const addr = this.lease!.addr;
    if (this.#probesLeft > 0) {
      this.#probesLeft--;
      const gap = this.#probesLeft > 0
        ? ARP_TIMING.min + Math.floor(this.#opts.random() * (ARP_TIMING.max - ARP_TIMING.min))
        : ARP_TIMING.announceWait;
      this.#deadline = now + gap;
      return [{ kind: "probe", addr, send: true }];
    }
    this.#deadline = undefined;
    return [{ kind: "probe", addr, send: false }];
  }

  /** What the netstack saw for the address being probed: another host claims it, or not. */
  probeResult(addr: number, conflict: boolean, now: number): DhcpAction[] {
    if (this.state !== "PROBING" || this.lease?.addr !== addr) return [];
    if (conflict) {
      const lease = this.lease;
      this.lease = undefined;
      this.#count("address in use (DECLINE)");
      const msg = this.#message(T.DECLINE, now, {
        requestedIp: addr,
        serverId: lease.serverId,
        message: "address in use",
      });
      this.state = "INIT";
      this.#deadline = now + DECLINE_WAIT_MS;
      return [
        { kind: "probe-end", addr },
        { kind: "send", msg, to: "broadcast" },
        { kind: "log", text: `${fmt(addr)} is in use by another host; declined it` },
      ];
    }
    if (this.#probesLeft > 0 || this.#deadline !== undefined) return [];
    return [{ kind: "probe-end", addr }, ...this.#bind(now, false)];
  }

  #bind(now: number, renewed: boolean): DhcpAction[] {
    const l = this.lease!;
    this.state = "BOUND";
    this.tries = 0;
    this.#t1At = l.acquiredAt + l.t1Secs * 1000;
    this.#t2At = l.acquiredAt + l.t2Secs * 1000;
    this.#expiresAt = l.acquiredAt + l.leaseSecs * 1000;
    this.#deadline = l.leaseSecs === Infinity ? undefined : Math.max(now, this.#t1At);
    return [{ kind: "bind", lease: l, renewed }];
  }

  #onNak(m: DhcpRepr, now: number): DhcpAction[] {
    const s = this.state;
    if (s !== "REQUESTING" && s !== "RENEWING" && s !== "REBINDING") {
      return this.#ignore("unexpected NAK");
    }
    const server = s === "REQUESTING" ? this.#offer!.serverId! : this.lease!.serverId;
    // In REBINDING any server may answer; otherwise only the one we asked.
    if (s !== "REBINDING" && m.serverId !== undefined && m.serverId !== server) {
      return this.#ignore("nak: wrong server");
    }
    this.#count("NAK");
    this.#naks++;
    const out: DhcpAction[] = [{
      kind: "log",
      text: `server ${fmt(m.serverId ?? server)} refused${m.message ? ` (${m.message})` : ""}`,
    }];
    if (this.lease && s !== "REQUESTING") {
      out.push({ kind: "unbind", lease: this.lease, reason: "NAK" });
    }
    this.lease = undefined;
    if (this.#naks === 1) return [...out, ...this.start(now)];
    // A server that refuses every time gets DISCOVERs no faster than the retransmission schedule.
    this.state = "INIT";
    this.#deadline = now + Math.min(MAX_RETRANSMIT_MS, FIRST_RETRANSMIT_MS << (this.#naks - 2));
    return out;
  }

  /** Give the lease back (RFC 2131 §4.4.6) and stop. */
  release(now: number): DhcpAction[] {
    const l = this.lease;
    const held = this.state === "BOUND" || this.state === "RENEWING" ||
      this.state === "REBINDING";
    const probing = this.state === "PROBING";
    this.state = "STOPPED";
    this.#deadline = undefined;
    this.lease = undefined;
    if (l && probing) return [{ kind: "probe-end", addr: l.addr }];
    if (!l || !held) return [];
    this.#newXid();
    const msg = this.#message(T.RELEASE, now, { ciaddr: l.addr, serverId: l.serverId });
    return [
      { kind: "send", msg, to: l.serverId },
      { kind: "unbind", lease: l, reason: "released" },
    ];
  }
}

function fmt(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
