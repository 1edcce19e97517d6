/**
 * The system-call ABI's constants, with Linux's values: what libc exports to programs and what
 * the kernel and netstack check against.
 */

/** Address families. */
export const AF_UNSPEC = 0;
/** Local (Unix-domain) sockets. */
export const AF_LOCAL = 1;
/** Alias of AF_LOCAL. */
export const AF_UNIX = 1;
/** IPv4. */
export const AF_INET = 2;
/** IPv6. */
export const AF_INET6 = 10;

/** Byte-stream sockets. */
export const SOCK_STREAM = 1;
/** Datagram sockets. */
export const SOCK_DGRAM = 2;
/** Raw network-protocol sockets. */
export const SOCK_RAW = 3;
/** Flag or-ed into the type: create nonblocking. */
export const SOCK_NONBLOCK = 0o4000;
/** Flag or-ed into the type: close on exec (accepted and ignored). */
export const SOCK_CLOEXEC = 0o2000000;

/** IP protocol numbers. */
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_RAW = 255;

/** Socket-level options. */
export const SOL_SOCKET = 1;
export const SO_DEBUG = 1;
export const SO_REUSEADDR = 2;
export const SO_TYPE = 3;
export const SO_ERROR = 4;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_KEEPALIVE = 9;
export const SO_OOBINLINE = 10;
export const SO_LINGER = 13;
export const SO_PASSCRED = 16;
export const SO_PEERCRED = 17;
export const SO_RCVTIMEO = 20;
export const SO_SNDTIMEO = 21;
export const SO_BINDTODEVICE = 25;
export const SO_TIMESTAMP = 29;
export const SO_ACCEPTCONN = 30;
export const SO_DOMAIN = 39;
export const SO_PROTOCOL = 38;
export const SO_REUSEPORT = 15;

/** IPPROTO_IP options. */
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_HDRINCL = 3;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_DROP_MEMBERSHIP = 36;

/** IPPROTO_IPV6 options. */
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_LEAVE_GROUP = 21;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVHOPLIMIT = 51;

/** IPPROTO_TCP options. */
export const TCP_NODELAY = 1;
export const TCP_MAXSEG = 2;
export const TCP_CORK = 3;
export const TCP_KEEPIDLE = 4;
export const TCP_KEEPINTVL = 5;
export const TCP_KEEPCNT = 6;
export const TCP_INFO = 11;
export const TCP_CONGESTION = 13;

/** send/recv flags. */
export const MSG_OOB = 0x1;
export const MSG_PEEK = 0x2;
export const MSG_DONTROUTE = 0x4;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;

/** shutdown() directions. */
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** poll() events. */
export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const POLLRDHUP = 0x2000;

/** fcntl() commands and flags. */
export const F_DUPFD = 0;
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const O_NONBLOCK = 0o4000;

/** Ancillary-data levels/types (cmsg). */
export const SCM_RIGHTS = 1;
export const SCM_CREDENTIALS = 2;

/** Signals the kernel understands for kill(). */
export const SIGINT = 2;
export const SIGKILL = 9;
export const SIGTERM = 15;

/** Capabilities a process may be granted at spawn. */
export const CAPABILITIES = ["net_bind_service", "net_raw", "net_admin"] as const;
/** One capability name. */
export type Capability = typeof CAPABILITIES[number];
