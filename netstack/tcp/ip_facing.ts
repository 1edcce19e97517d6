/**
 * The TCP layer's interface as the IP layers see it: segment input, ICMP errors and path MTU
 * changes, timers and output flushing, and (still, for IPv4) socket creation. The implementation
 * is `demux.ts`; the NetworkTask hands it to both IP layers.
 */
import type { NetInterface } from "../link/interface.ts";
import type { InetSocket } from "../sockets/socket.ts";
import type { Ipv4Repr } from "../wire/ipv4.ts";
import type { ErrnoCode } from "../../kernel/errno.ts";

/** What the IPv4 layer needs from TCP. */
export interface TcpLayer {
  input4(iface: NetInterface, ip: Ipv4Repr, datagram: Uint8Array): void;
  icmpError4(
    dst: number,
    sport: number,
    dport: number,
    code: ErrnoCode,
    mtu: number,
    seq: number,
  ): void;
  /** Whether an ICMP error quoting our segment (sport to dst:dport, `seq`) is believable. */
  icmpBelievable(dst: number, sport: number, dport: number, seq: number): boolean;
  createSocket(sid: number): InetSocket;
  poll(now: number): void;
  flush(): void;
  nextDeadline(): number | undefined;
}

/** What the IPv6 layer needs from TCP. */
export interface Tcp6Layer {
  input6(iface: NetInterface, src: Uint8Array, dst: Uint8Array, segment: Uint8Array): void;
  icmpError6(dst: Uint8Array, sport: number, dport: number, code: ErrnoCode, seq: number): void;
  /** The path MTU towards `dst` dropped to `mtu`: shrink segments. */
  pathMtu6(dst: Uint8Array, mtu: number): void;
  /** Whether an ICMPv6 error quoting our segment (sport to dst:dport, `seq`) is believable. */
  icmpBelievable(dst: Uint8Array, sport: number, dport: number, seq: number): boolean;
}
