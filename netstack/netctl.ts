/**
 * Network configuration and inspection (what ifconfig, route, arp and netstat ask for). Reads are
 * open to every process; the kernel lets only net_admin holders reach the changes.
 */
import type {
  LeaseInfo,
  NeighInfo,
  NetCtl,
  RouteInfo,
  SocketInfo,
  TcpConnInfo,
} from "../kernel/bus/messages.ts";
import { ErrnoError } from "../kernel/errno.ts";
import { parseCidr4, parseIPv4, parseIPv6, parseMac } from "./wire/addr.ts";
import { parseCidr6 } from "./ip6/addr6.ts";
import type { NetInterface } from "./link/interface.ts";
import type { InetSocket } from "./sockets/socket.ts";
import type { MemoryLedger } from "./sockets/memory_ledger.ts";
import type { ResolverConfStore } from "./resolver_conf.ts";

/** The IPv4 configuration netctl reads and changes (the IPv4 layer implements it). */
export interface Ipv4Admin {
  addAddress(iface: NetInterface, addr: number, prefixLen: number): void;
  removeAddress(iface: NetInterface, addr: number, prefixLen: number): void;
  addRoute(
    dest: number,
    prefixLen: number,
    gateway: number,
    iface: NetInterface | undefined,
    metric: number,
  ): void;
  removeRoute(dest: number, prefixLen: number, gateway: number, iface?: NetInterface): void;
  routeList(): RouteInfo[];
  neighbourList(): NeighInfo[];
  addStaticNeighbour(iface: NetInterface, ip: number, mac: Uint8Array): void;
  removeNeighbour(ip: number): void;
  /** RFC 5227 probing of an address before use (DHCP's DECLINE check). */
  readonly arp: {
    probe(iface: NetInterface, addr: number, action: "probe" | "check" | "end"): boolean;
  };
}

/** The IPv6 configuration netctl reads and changes (the IPv6 layer implements it). */
export interface Ipv6Admin {
  addAddress(iface: NetInterface, addr: Uint8Array, prefixLen: number): void;
  removeAddress(iface: NetInterface, addr: Uint8Array, prefixLen: number): void;
  addRoute(
    dest: Uint8Array,
    prefixLen: number,
    gateway: Uint8Array | undefined,
    iface: NetInterface | undefined,
    metric: number,
  ): void;
  removeRoute(
    dest: Uint8Array,
    prefixLen: number,
    gateway: Uint8Array | undefined,
    iface?: NetInterface,
  ): void;
  routeList(): RouteInfo[];
  neighbourList(): NeighInfo[];
  /** The link came up: DAD again, solicit routers. */
  linkUp(iface: NetInterface): void;
  readonly neighbours: {
    addStatic(iface: NetInterface, addr: Uint8Array, mac: Uint8Array): void;
    remove(addr: Uint8Array): boolean;
  };
}

/** What netctl needs from the NetworkTask (the composition root implements it). */
export interface NetCtlHost {
  readonly name: string;
  readonly interfaces: readonly NetInterface[];
  readonly counters: ReadonlyMap<string, number>;
  readonly memory: MemoryLedger;
  /** Resolver configuration and hosts table (resolv.conf and /etc/hosts, for libc). */
  readonly resolver: ResolverConfStore;
  readonly ipv4: Ipv4Admin;
  readonly ipv6: Ipv6Admin;
  iface(name: string): NetInterface | undefined;
  route4(dst: number): { iface: NetInterface } | undefined;
  route6(dst: Uint8Array): { iface: NetInterface } | undefined;
  /** Re-arm the timer after a change that starts protocol work (DAD, router solicitation). */
  rearm(): void;
  /** Every open socket (netstat). */
  sockets(): Iterable<InetSocket>;
}

/** Serve one netctl request against `task`. */
export function runNetctl(task: NetCtlHost, req: NetCtl): unknown {
  const iface = (name: string | undefined) => {
    const i = name ? task.iface(name) : undefined;
    if (!i) throw new ErrnoError("ENODEV", `No such interface ${name}`);
    return i;
  };
  switch (req.op) {
    case "ifaces":
      return task.interfaces.map((i) => i.info());
    case "ifaddr": {
      if (req.cidr.includes(":")) {
        const c6 = parseCidr6(req.cidr);
        if (!c6) throw new ErrnoError("EINVAL", `Bad address ${req.cidr}`);
        const i = iface(req.iface);
        if (req.action === "add") task.ipv6.addAddress(i, c6.addr, c6.prefixLen);
        else task.ipv6.removeAddress(i, c6.addr, c6.prefixLen);
        task.rearm();
        return null;
      }
      const c = parseCidr4(req.cidr);
      if (!c) throw new ErrnoError("EINVAL", `Bad address ${req.cidr}`);
      const i = iface(req.iface);
      if (req.action === "add") task.ipv4.addAddress(i, c.addr, c.prefixLen);
      else task.ipv4.removeAddress(i, c.addr, c.prefixLen);
      return null;
    }
    case "iflink": {
      const i = iface(req.iface);
      if (req.mtu !== undefined) {
        if (!Number.isInteger(req.mtu) || req.mtu < 68 || req.mtu > 65536) {
          throw new ErrnoError("EINVAL", `Bad MTU ${req.mtu}`);
        }
        i.mtu = req.mtu;
      }
      if (req.up !== undefined) {
        const wasUp = i.up;
        i.up = req.up;
        if (req.up && !wasUp) task.ipv6.linkUp(i); // DAD again, solicit routers
        task.rearm();
      }
      return null;
    }
    case "ifcarrier": {
      const i = iface(req.iface);
      const was = i.linkUp;
      i.linkUp = req.up === true;
      if (i.linkUp && !was && i.up) task.ipv6.linkUp(i);
      task.rearm();
      return null;
    }
    case "arpprobe": {
      const addr = parseIPv4(req.addr);
      if (addr === undefined || addr === 0) {
        throw new ErrnoError("EINVAL", `Bad address ${req.addr}`);
      }
      return { conflict: task.ipv4.arp.probe(iface(req.iface), addr, req.action) };
    }
    case "iflease":
      iface(req.iface).lease = req.lease === undefined ? undefined : checkLease(req.lease);
      return null;
    case "routes":
      return [...task.ipv4.routeList(), ...task.ipv6.routeList()];
    case "route": {
      if (req.dest.includes(":") || req.dest === "default6" || req.gateway?.includes(":")) {
        const dest = req.dest === "default" || req.dest === "default6"
          ? { addr: new Uint8Array(16), prefixLen: 0 }
          : parseCidr6(req.dest);
        if (!dest) throw new ErrnoError("EINVAL", `Bad destination ${req.dest}`);
        const gw = req.gateway === undefined ? undefined : parseIPv6(req.gateway);
        if (req.gateway !== undefined && !gw) {
          throw new ErrnoError("EINVAL", `Bad gateway ${req.gateway}`);
        }
        const dev6 = req.iface === undefined ? undefined : iface(req.iface);
        if (req.action === "add") {
          task.ipv6.addRoute(dest.addr, dest.prefixLen, gw, dev6, req.metric ?? 1024);
        } else task.ipv6.removeRoute(dest.addr, dest.prefixLen, gw, dev6);
        return null;
      }
      const dest = req.dest === "default" ? { addr: 0, prefixLen: 0 } : parseCidr4(req.dest);
      if (!dest) throw new ErrnoError("EINVAL", `Bad destination ${req.dest}`);
      const gateway = req.gateway === undefined ? 0 : parseIPv4(req.gateway);
      if (gateway === undefined) throw new ErrnoError("EINVAL", `Bad gateway ${req.gateway}`);
      const dev = req.iface === undefined ? undefined : iface(req.iface);
      if (req.action === "add") {
        task.ipv4.addRoute(dest.addr, dest.prefixLen, gateway, dev, req.metric ?? 0);
      } else task.ipv4.removeRoute(dest.addr, dest.prefixLen, gateway, dev);
      return null;
    }
    case "neigh":
      return [...task.ipv4.neighbourList(), ...task.ipv6.neighbourList()];
    case "neighset": {
      if (req.addr.includes(":")) {
        const a6 = parseIPv6(req.addr);
        if (!a6) throw new ErrnoError("EINVAL", `Bad address ${req.addr}`);
        if (req.action === "del") {
          if (!task.ipv6.neighbours.remove(a6)) {
            throw new ErrnoError("ENOENT", `No neighbour entry for ${req.addr}`);
          }
          return null;
        }
        const mac6 = req.mac === undefined ? undefined : parseMac(req.mac);
        if (!mac6) throw new ErrnoError("EINVAL", `Bad MAC ${req.mac}`);
        const dev6 = req.iface ? iface(req.iface) : task.route6(a6)?.iface;
        if (!dev6) throw new ErrnoError("ENETUNREACH", `No interface for ${req.addr}`);
        task.ipv6.neighbours.addStatic(dev6, a6, mac6);
        return null;
      }
      const addr = parseIPv4(req.addr);
      if (addr === undefined) throw new ErrnoError("EINVAL", `Bad address ${req.addr}`);
      if (req.action === "del") return task.ipv4.removeNeighbour(addr), null;
      const mac = req.mac === undefined ? undefined : parseMac(req.mac);
      if (!mac) throw new ErrnoError("EINVAL", `Bad MAC ${req.mac}`);
      const dev = req.iface ? iface(req.iface) : task.route4(addr)?.iface;
      if (!dev) throw new ErrnoError("ENETUNREACH", `No interface for ${req.addr}`);
      task.ipv4.addStaticNeighbour(dev, addr, mac);
      return null;
    }
    case "sockets":
      return [...task.sockets()].map(socketInfo);
    case "tcpinfo":
      return tcpProbe(task.sockets());
    case "stats":
      return {
        host: task.name,
        counters: Object.fromEntries(task.counters),
        // Bytes charged to each process (memory_ledger.ts), and to all of them.
        memory: { total: task.memory.total, byPid: task.memory.snapshot() },
        interfaces: Object.fromEntries(task.interfaces.map((i) => [i.name, i.stats])),
      };
    case "resolver":
      return task.resolver.get();
    case "resolverset": {
      const { op: _, ...update } = req;
      task.resolver.set(update);
      return null;
    }
    default: {
      const never: never = req;
      throw new ErrnoError("ENOSYS", `Unknown netctl ${(never as { op?: string })?.op}`);
    }
  }
}

function socketInfo(s: InetSocket): SocketInfo {
  const fmt = (a: () => { family: number; addr?: string; port?: number }) => {
    try {
      const x = a();
      return x.family === 10 ? `[${x.addr}]:${x.port || "*"}` : `${x.addr}:${x.port || "*"}`;
    } catch {
      // No peer: net-tools prints the wildcard address of the socket's family.
      return s.family === 10 ? "[::]:*" : "0.0.0.0:*";
    }
  };
  const q = s.queues();
  const rings = s.rings();
  return {
    proto: s.proto,
    local: fmt(() => s.getsockname() as { family: number; addr: string; port: number }),
    remote: fmt(() => s.getpeername() as { family: number; addr: string; port: number }),
    state: s.stateName(),
    recvQ: q.recvQ,
    sendQ: q.sendQ,
    pids: [...s.owners],
    ...(rings ? { rings } : {}),
  };
}

/**
 * `ss -ti` for the whole host: every connected TCP socket with its TCP_INFO, for the web view's
 * sampler (tools/ui/), which asks only while a page watches.
 */
function tcpProbe(sockets: Iterable<InetSocket>): TcpConnInfo[] {
  const out: TcpConnInfo[] = [];
  for (const s of sockets) {
    const conn = (s as { conn?: { info(): Record<string, unknown> } }).conn;
    if (!s.proto.startsWith("tcp") || !conn) continue;
    try {
      const a = s.getsockname() as { addr: string; port: number };
      const b = s.getpeername() as { addr: string; port: number };
      const local = `${a.addr}:${a.port}`, remote = `${b.addr}:${b.port}`;
      out.push({ sid: s.sid, local, remote, pids: [...s.owners], info: { ...conn.info() } });
    } catch {
      // not connected (yet)
    }
  }
  return out;
}

/** A copy of a lease a process recorded, with only the fields ifconfig reads, checked. */
function checkLease(l: LeaseInfo): LeaseInfo {
  const str = (v: unknown, what: string) => {
    if (typeof v !== "string" || v.length > 255) {
      throw new ErrnoError("EINVAL", `Bad lease ${what}`);
    }
    return v;
  };
  const num = (v: unknown, what: string) => {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ErrnoError("EINVAL", `Bad lease ${what}`);
    }
    return v;
  };
  const opt = <T>(v: unknown, f: (v: unknown, what: string) => T, what: string) =>
    v === undefined ? undefined : f(v, what);
  if (typeof l !== "object" || l === null || !Array.isArray(l.dns) || l.dns.length > 8) {
    throw new ErrnoError("EINVAL", "Bad lease");
  }
  return {
    cidr: str(l.cidr, "cidr"),
    server: str(l.server, "server"),
    router: opt(l.router, str, "router"),
    dns: l.dns.map((d) => str(d, "dns")),
    domain: opt(l.domain, str, "domain"),
    mtu: opt(l.mtu, num, "mtu"),
    state: str(l.state, "state"),
    leaseSecs: opt(l.leaseSecs, num, "leaseSecs"),
    obtained: num(l.obtained, "obtained"),
    renewAt: opt(l.renewAt, num, "renewAt"),
    rebindAt: opt(l.rebindAt, num, "rebindAt"),
    expiresAt: opt(l.expiresAt, num, "expiresAt"),
  };
}
