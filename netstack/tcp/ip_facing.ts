/**
 * The TCP layer's interface as the IPv4 layer sees it: segment input, ICMP errors, timers and
 * output flushing, and socket creation. The implementation is `demux.ts`.
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
