/**
 * Every message that crosses the bus, declared once. Components dispatch with a `switch` on the
 * tag whose `default` assigns to `never`, so a missing case is a type error and an unknown tag
 * from outside gets ENOSYS.
 *
 * Channels:
 * - process ⇄ kernel: {@link Syscall} requests (fds are per-process handle numbers);
 * - kernel ⇄ netstack: {@link NetRequest} requests (fds replaced by netstack socket ids);
 * - process ⇄ netstack: {@link DirectCall} requests on INET sockets the process holds, named by
 *   socket id (the port is handed over by the kernel, see {@link NetAttach});
 * - boot (main thread) ⇄ kernel: {@link ControlRequest} requests and {@link KernelEvent} events;
 * - kernel → process worker: one {@link ProcessInit} message, then syscall replies.
 */

/** The envelope every endpoint carries. */
export type Envelope =
  | { t: "req"; id: number; body: unknown }
  | { t: "rep"; id: number; ok: true; value: unknown }
  | { t: "rep"; id: number; ok: false; errno: number; message: string }
  | { t: "evt"; body: unknown }
  | { t: "cancel"; id: number };

/**
 * A socket address; `family` uses the AF_* numbers (AF_LOCAL 1, AF_INET 2, AF_INET6 10).
 * AF_UNSPEC (0) is accepted by connect() on datagram sockets to dissolve the association.
 */
export type SockAddr =
  | { family: 0 }
  | { family: 1; path: string }
  | { family: 2; addr: string; port: number }
  | { family: 10; addr: string; port: number; scopeId?: number; flowInfo?: number };

/** Process credentials, as SO_PEERCRED and SCM_CREDENTIALS report them. */
export interface Creds {
  pid: number;
  uid: number;
  gid: number;
}

/** A socket option value: a number/flag, a string (SO_BINDTODEVICE), bytes, or a record. */
export type OptValue = number | boolean | string | Uint8Array | Record<string, unknown>;

/** One entry of a poll set. */
export interface PollFd {
  fd: number;
  events: number;
}

/** What `recvmsg` returns. */
export interface RecvResult {
  data: Uint8Array;
  /** Source address (datagram sockets). */
  addr?: SockAddr;
  /** Handles received with SCM_RIGHTS, already installed as fds in the receiver. */
  rights?: number[];
  /** Sender credentials (SCM_CREDENTIALS), when the receiver enabled SO_PASSCRED. */
  creds?: Creds;
  /** rxwait only: bytes are waiting in the shared rx ring (data is empty). */
  ring?: boolean;
  /** MSG_TRUNC etc. */
  flags: number;
  /** Receive time in ms (SO_TIMESTAMP). */
  timestamp?: number;
  /** The datagram's IPv6 hop limit (IPV6_HOPLIMIT ancillary data, with IPV6_RECVHOPLIMIT). */
  hopLimit?: number;
}

/** Socket calls that act on one open socket; the netstack serves these with `fd` = socket id. */
export type SocketCall =
  | { op: "bind"; fd: number; addr: SockAddr }
  | { op: "listen"; fd: number; backlog: number }
  | { op: "accept"; fd: number; flags: number }
  | { op: "connect"; fd: number; addr: SockAddr }
  | {
    op: "sendmsg";
    fd: number;
    data: Uint8Array;
    flags: number;
    addr?: SockAddr;
    rights?: number[];
    creds?: boolean;
  }
  | { op: "recvmsg"; fd: number; len: number; flags: number }
  | { op: "setsockopt"; fd: number; level: number; name: number; value: OptValue }
  | { op: "getsockopt"; fd: number; level: number; name: number }
  | { op: "getsockname"; fd: number }
  | { op: "getpeername"; fd: number }
  | { op: "shutdown"; fd: number; how: number };

/** Everything a process may ask of the kernel. */
export type Syscall =
  | SocketCall
  | {
    op: "socket";
    domain: number;
    type: number;
    protocol: number;
    /** Reply `{ fd, sid }` (sid: the netstack socket id, for INET sockets) instead of the fd. */
    direct?: boolean;
  }
  | { op: "socketpair"; domain: number; type: number; protocol: number }
  | { op: "close"; fd: number }
  | { op: "dup"; fd: number }
  | { op: "dup2"; fd: number; newfd: number }
  | { op: "fcntl"; fd: number; cmd: number; arg: number }
  | { op: "poll"; fds: PollFd[]; timeout: number }
  | { op: "write"; fd: number; data: Uint8Array }
  | { op: "read"; fd: number; len: number }
  | { op: "unlink"; path: string }
  | { op: "getinfo" }
  | { op: "ps" }
  | { op: "kill"; pid: number; signal: number }
  | { op: "spawn"; module: string; args: string[] }
  | { op: "waitpid"; pid: number }
  | { op: "netctl"; req: NetCtl | LinkCtl }
  | { op: "exit"; status: number };

/** Network configuration and inspection, for ifconfig/route/arp/netstat. */
export type NetCtl =
  | { op: "ifaces" }
  | { op: "ifaddr"; iface: string; action: "add" | "del"; cidr: string }
  | { op: "iflink"; iface: string; up?: boolean; mtu?: number }
  /** The carrier of the interface's link changed (the kernel tells it after `link set`). */
  | { op: "ifcarrier"; iface: string; up: boolean }
  /**
   * RFC 5227 address probing, for a DHCP client (net_admin): "probe" sends an ARP probe for
   * `addr` (sender 0.0.0.0) and watches for hosts that claim it, "check" only reports, "end"
   * stops watching. Answers `{ conflict }`: whether a host claimed `addr` since the first probe.
   */
  | { op: "arpprobe"; iface: string; addr: string; action: "probe" | "check" | "end" }
  /** Record the DHCP lease an interface holds, for ifconfig; none clears it (net_admin). */
  | { op: "iflease"; iface: string; lease?: LeaseInfo }
  | { op: "routes" }
  | {
    op: "route";
    action: "add" | "del";
    dest: string;
    gateway?: string;
    iface?: string;
    metric?: number;
  }
  | { op: "neigh" }
  | { op: "neighset"; action: "add" | "del"; addr: string; mac?: string; iface?: string }
  | { op: "sockets" }
  /** Every TCP connection with its TCP_INFO (`ss -ti`), as {@link TcpConnInfo}s. */
  | { op: "tcpinfo" }
  | { op: "stats" }
  /** The host's resolver configuration (what /etc/resolv.conf and /etc/hosts hold on Linux). */
  | { op: "resolver" }
  /** Change it (net_admin): each field given replaces the current one (netstack/resolver_conf.ts). */
  | ({ op: "resolverset" } & Partial<ResolverConf>);

/**
 * A host's resolver configuration, kept by its netstack (Serin has no file system): what
 * resolv.conf (`nameserver`, `search`, `options timeout: attempts: ndots:`) and /etc/hosts hold
 * on Linux. libc's resolver reads it with netctl `resolver`; boot fills `hosts` with the
 * topology's host names, a DHCP client sets `nameservers` and `search` with `resolverset`.
 */
export interface ResolverConf {
  /** DNS server addresses (IPv4 or IPv6 literals), tried in order; at most 3, as glibc's MAXNS. */
  nameservers: string[];
  /** Search domains for names with fewer than `ndots` dots; at most 6. */
  search: string[];
  /** Seconds to wait for an answer from one server (resolv.conf `timeout:`, default 5, 1–30). */
  timeout: number;
  /** Rounds over the server list (resolv.conf `attempts:`, default 2, 1–5). */
  attempts: number;
  /** A name with at least this many dots is tried as is first (default 1, 0–15). */
  ndots: number;
  /** The hosts table: each name (lower case) with its addresses, in order. */
  hosts: HostEntry[];
  /**
   * In a read: only what `resolverset` set (and replaces), without the servers and domains
   * learned from router advertisements, which expire on their own.
   */
  configured?: { nameservers: string[]; search: string[] };
}

/** One line of the hosts table: an address and the names it answers to. */
export interface HostEntry {
  /** An IPv4 or IPv6 literal. */
  addr: string;
  /** Canonical name first, then aliases. */
  names: string[];
}

/**
 * Calls a process makes straight to its host's netstack on the port the kernel handed it, for
 * INET sockets it holds (`fd` is the socket id the kernel returned with the fd). The netstack
 * checks that the process holds the socket. Everything that changes fd tables (socket, accept,
 * close, dup) still goes to the kernel.
 */
export type DirectCall =
  | Exclude<SocketCall, { op: "accept" }>
  | { op: "poll"; fds: PollFd[]; timeout: number }
  /** Put bytes libc read ahead back in front of a stream socket's receive queue. */
  | { op: "unread"; fd: number; data: Uint8Array }
  /**
   * The caller's last fd to a socket it alone ever held is closing: release it now (ignored
   * when another process holds it; the kernel's close then releases it as usual).
   */
  | { op: "release"; fd: number }
  /**
   * Use the SharedArrayBuffer sent just before as a {@link DirectShare} as this stream socket's
   * shared rings (kernel/bus/shared_stream.ts). EBUSY when another process holds the socket.
   */
  | { op: "share"; fd: number }
  /** Stop using the shared rings (before the socket is passed on): their bytes stay in order. */
  | { op: "unshare"; fd: number }
  /** Wait until the shared tx ring is at most half full, or takes no more bytes. */
  | { op: "txwait"; fd: number }
  /**
   * A receive that leaves bytes in the shared rx ring: answers `{ ring: true }` as soon as rx
   * holds some, otherwise what recvmsg would (EOF, an error, EAGAIN, bytes from elsewhere).
   */
  | { op: "rxwait"; fd: number; len: number; flags: number };

/**
 * One-way events a process sends on its direct port: `bell` tells the netstack a shared ring
 * changed after it asked to be told (new tx bytes, or room in rx).
 */
export type DirectEvent = { op: "bell"; fd: number };

/**
 * Sent by a process on its direct port (structured clone, not CBOR: it carries a
 * SharedArrayBuffer) right before the {@link DirectCall} `share` that uses it.
 */
export interface DirectShare {
  share: { fd: number; sab: SharedArrayBuffer };
}

/**
 * Sent by the kernel to a netstack (structured clone, not CBOR: it carries a port) when a
 * process starts on its host: the netstack serves {@link DirectCall}s from `pid` on `port`.
 */
export interface NetAttach {
  /** `memory`: the process's memory budget at the netstack, in bytes (default: the kernel's). */
  process: { pid: number; caps: string[]; uid?: number; memory?: number };
  port: MessagePort;
}

/** What the kernel asks of a host's netstack. */
export type NetRequest =
  | Exclude<SocketCall, { op: "accept" }>
  | { op: "accept"; fd: number; flags: number; pid?: number }
  /**
   * Create a socket held by `pid`; `nonblock` creates it O_NONBLOCK (SOCK_NONBLOCK); `uid`
   * (default 0) is its creator's, for SO_REUSEPORT groups.
   */
  | {
    op: "socket";
    pid: number;
    domain: number;
    type: number;
    protocol: number;
    nonblock?: boolean;
    uid?: number;
  }
  | { op: "release"; fd: number }
  | { op: "exited"; pid: number }
  | { op: "owner"; fd: number; pid: number; add: boolean }
  /** `pid`: the process polling, charged for the poll's memory at the netstack. */
  | { op: "poll"; fds: PollFd[]; timeout: number; pid?: number }
  | { op: "setnonblock"; fd: number; on: boolean }
  | { op: "netctl"; req: NetCtl };

/** What the boot code (main thread) asks of the kernel. */
export type ControlRequest =
  | {
    op: "spawn";
    module: string;
    args: string[];
    host?: string;
    uid?: number;
    caps?: string[];
    ppid?: number;
    /** The process's memory budget in bytes (default: the boot's `processMemory`). */
    memory?: number;
  }
  | { op: "ps" }
  | { op: "kill"; pid: number; signal: number }
  | { op: "wait"; pid: number }
  | { op: "stats" }
  | { op: "killdriver"; label: string }
  | { op: "drivers" }
  /** Link control (served by the hardware worker). */
  | { op: "link"; req: LinkCtl }
  /** A netctl request on `host`'s netstack, with no permission check (the boot code's). */
  | { op: "netctl"; host: string; req: NetCtl }
  /** Host names with a netstack. */
  | { op: "hosts" }
  | { op: "shutdown" };

/** What the kernel tells the boot code without being asked. */
export type KernelEvent =
  | { ev: "output"; pid: number; fd: number; data: Uint8Array }
  | { ev: "exit"; pid: number; status: number }
  | { ev: "log"; line: string };

/** The first message a process worker receives: who it is and what to run. */
export interface ProcessInit {
  kind: "init";
  pid: number;
  module: string;
  args: string[];
}

/** A signal the kernel delivers to a running process (SIGINT, SIGTERM). */
export interface ProcessSignal {
  kind: "signal";
  signal: number;
}

/** A row of the process table as `ps` shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  name: string;
  host: string;
  state: "running" | "exited";
  exitStatus?: number;
  fds: number;
  caps: string[];
  /** System calls the kernel served (calls on the direct netstack port are not counted). */
  syscalls: number;
  /** Bytes of kernel memory charged to the process now (queues, pending calls). */
  memory: number;
  /** Its memory budget in bytes, in the kernel and again in its host's netstack. */
  memoryLimit: number;
}

/** An interface address as `netctl ifaces` reports it. */
export interface IfaceAddr {
  family: 2 | 10;
  addr: string;
  prefixLen: number;
  /** IPv6: "link", "global", "host"; IPv4: "global" or "host". */
  scope: string;
  /** IPv6 DAD state: "tentative", "preferred", "deprecated", "duplicate"; IPv4: "preferred". */
  state: string;
}

/** Counters of one interface. */
export interface IfaceStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
  /** Drops by reason, e.g. { "ipv4: bad-checksum": 2 }. */
  drops: Record<string, number>;
}

/** One interface, as `netctl ifaces` reports it (ifconfig). */
export interface IfaceInfo {
  name: string;
  index: number;
  /** "loopback", "e1000", "rtl8139", "virtio-net", "tap", "wire". */
  driver: string;
  mac: string;
  mtu: number;
  up: boolean;
  linkUp: boolean;
  addrs: IfaceAddr[];
  stats: IfaceStats;
  /** The DHCP lease a client (tools/dhcpc.ts) recorded with netctl `iflease`. */
  lease?: LeaseInfo;
}

/** A DHCP lease as ifconfig shows it. Times are wall-clock milliseconds (Date.now()). */
export interface LeaseInfo {
  /** The leased address in CIDR form. */
  cidr: string;
  /** The DHCP server (its server identifier). */
  server: string;
  router?: string;
  dns: string[];
  domain?: string;
  mtu?: number;
  /** The client's state: BOUND, RENEWING, REBINDING. */
  state: string;
  /** Lease length in seconds; absent for an infinite lease. */
  leaseSecs?: number;
  /** When the lease was granted (the REQUEST left), renews (T1), rebinds (T2), expires. */
  obtained: number;
  renewAt?: number;
  rebindAt?: number;
  expiresAt?: number;
}

/** One route, as `netctl routes` reports it (route -n). */
export interface RouteInfo {
  family: 2 | 10;
  dest: string;
  prefixLen: number;
  /** Absent for directly connected routes. */
  gateway?: string;
  iface: string;
  metric: number;
  /** Linux-style flags: U up, G gateway, H host, D dynamic (redirect). */
  flags: string;
}

/** One neighbour (ARP or NDP) entry, as `netctl neigh` reports it. */
export interface NeighInfo {
  family: 2 | 10;
  addr: string;
  mac?: string;
  iface: string;
  /** "incomplete", "reachable", "stale", "delay", "probe", "permanent", "failed". */
  state: string;
}

/** One socket, as `netctl sockets` reports it (netstat). */
export interface SocketInfo {
  /** "tcp", "tcp6", "udp", "udp6", "raw", "raw6". */
  proto: string;
  local: string;
  remote: string;
  /** TCP state name ("LISTEN", "ESTABLISHED", …); "" for UDP/raw. */
  state: string;
  recvQ: number;
  sendQ: number;
  /** Processes holding the socket. */
  pids: number[];
  /**
   * A stream socket whose bytes go through shared rings: the ring size and the bytes in tx
   * (the send buffer plus what the process wrote since) and rx (waiting for the process).
   */
  rings?: { size: number; tx: number; rx: number };
}

/**
 * Link control (`link show`, `link set`, as `ip link` and `tc netem` do on Linux), served by
 * the hardware worker that holds the links. Processes reach it as netctl calls (`linkset`
 * needs net_admin), the boot code as a control request.
 */
export type LinkCtl =
  | { op: "links" }
  /**
   * Change a link: `faults` fields given replace the current ones (0 removes one), `clear`
   * first removes them all; `up` sets the carrier, which hosts' NICs see as link state.
   */
  | { op: "linkset"; link: string; faults?: LinkFaults; clear?: boolean; up?: boolean }
  /**
   * The link's recent frames after sequence number `since` (at most `max`, default 512).
   * Recording starts with the first call and stops when no call came for 10 s.
   */
  | { op: "linkframes"; link: string; since?: number; max?: number; snap?: number };

/** A link's impairments, netem's: probabilities 0..1, times in ms, rate in bit/s. */
export interface LinkFaults {
  loss?: number;
  /** Gilbert–Elliott bursty loss: good → bad, and bad → good, per frame. */
  geP?: number;
  geR?: number;
  dup?: number;
  reorder?: number;
  corrupt?: number;
  delayMs?: number;
  jitterMs?: number;
  rateBitsPerSec?: number;
}

/** One cable plugged into a link, as `link show` reports it. */
export interface LinkPortInfo {
  /** "host/iface". */
  label: string;
  /** Frames and bytes from the host onto the link, and from the link to the host. */
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
}

/** One link (a switch or a TAP uplink), as `link show` reports it. */
export interface LinkInfo {
  name: string;
  kind: "switch" | "tap";
  /** Carrier. */
  up: boolean;
  /** False for a TAP on its fast path (no faults or capture at boot): it cannot be changed. */
  controllable: boolean;
  faults: LinkFaults;
  ports: LinkPortInfo[];
  /** Frames the link's impairments lost, duplicated, … and dropped while down. */
  drops: {
    lost: number;
    duplicated: number;
    reordered: number;
    corrupted: number;
    rateDropped: number;
    down: number;
  };
}

/** One recorded frame of a link. */
export interface LinkFrame {
  /** Sequence number within the link's recording, from 1. */
  seq: number;
  /** Milliseconds since the Unix epoch. */
  time: number;
  /** The cable: "host/iface". */
  port: string;
  /** "out": from the host onto the link; "in": from the link to the host (TAPs). */
  dir: "in" | "out";
  /** The frame, cut at 1518 bytes (or the request's `snap`). */
  data: Uint8Array;
  /** Its length on the wire. */
  len: number;
}

/** One TCP connection as `netctl tcpinfo` reports it: addresses, holders and TCP_INFO. */
export interface TcpConnInfo {
  /** The netstack's socket id. */
  sid: number;
  local: string;
  remote: string;
  pids: number[];
  /** netstack/tcp/state.ts's TcpInfo: state, srtt, rttvar, rto (ms), cwnd, ssthresh (bytes)… */
  info: Record<string, unknown>;
}
