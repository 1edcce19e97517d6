/**
 * What the TCP layer and its sockets know of each other. The layer (`demux.ts`) sees a socket
 * only as a {@link TcpEndpoint}: addresses, options, its connection or listener, its wait
 * queue. A socket sees the layer only as {@link TcpSockets}. Neither imports the other.
 */
import type { ErrnoCode } from "../../kernel/errno.ts";
import type { Stack6 } from "../stack6.ts";
import type { Route4 } from "../stack.ts";
import type { Route6 } from "../stack6.ts";
import type { TcpConnection } from "./connection.ts";
import type { TcpListener } from "./listener.ts";

/** A TCP socket as the TCP layer sees it. */
export interface TcpEndpoint {
  /** AF_INET (2) or AF_INET6 (10). */
  readonly family: number;
  localAddr: number;
  localPort: number;
  remoteAddr: number;
  remotePort: number;
  /** AF_INET6 sockets: local address (v4-mapped when talking IPv4). */
  local6?: Uint8Array;
  /** AF_INET6 sockets: peer address (v4-mapped for an IPv4 peer). */
  remote6?: Uint8Array;
  /** Interface index of a link-local IPv6 peer. */
  remoteScope: number;
  conn?: TcpConnection;
  listener?: TcpListener;
  /** TCP_MAXSEG, when set. */
  maxseg?: number;
  nodelay: boolean;
  congestion: "newreno" | "cubic";
  keepIdle: number;
  keepIntvl: number;
  keepCnt: number;
  /** The socket options TCP follows (SO_SNDBUF/RCVBUF, SO_KEEPALIVE, IP_TTL, IPv6 ones). */
  readonly opts: {
    readonly sndbuf: number;
    readonly rcvbuf: number;
    readonly keepalive: boolean;
    readonly ttl: number;
    /** IPV6_UNICAST_HOPS (-1: the host's default). */
    readonly unicastHops: number;
    readonly v6only: boolean;
    /** SO_OOBINLINE: the urgent byte stays in the stream. */
    readonly oobInline?: boolean;
  };
  /** The holder's memory account: data for a socket over budget is dropped. */
  readonly account?: { readonly over: boolean; drops: number };
  readonly wq: { wake(): void };
  /** Record a pending error (SO_ERROR). */
  setError(code: ErrnoCode): void;
}

/** The TCP layer as its sockets see it. */
export interface TcpSockets {
  /** The host's services sockets use (routes, ports, addresses). */
  readonly stack: Stack6;
  /** Start listening on `sock`'s port with room for `backlog` connections. */
  listen(sock: TcpEndpoint, backlog: number): TcpListener;
  /** Active open for `sock` (addresses and ports set) along `route`; the MSS follows its MTU. */
  connect(sock: TcpEndpoint, route: Route4 | Route6): TcpConnection;
  /** A fresh socket id for an accepted connection's socket. */
  allocateSid(): number;
  /** `child`, a socket made for `conn` (which `listener` completed), takes over its segments. */
  attachAccepted(child: TcpEndpoint, conn: TcpConnection, peerKey: string): void;
  /** Let the socket's connection send what was queued (or the window update a read allows). */
  kick(sock: TcpEndpoint): void;
  /** The socket's last handle is gone; its connection may linger until CLOSED. */
  released(sock: TcpEndpoint): void;
}
