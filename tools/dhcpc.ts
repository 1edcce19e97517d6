/**
 * dhcpc: the DHCPv4 client, a system program as SerenityOS's DHCPClient and Linux's dhclient.
 * It runs tools/dhcp/client.ts's state machine on a UDP socket on port 68 bound to one interface
 * (SO_BINDTODEVICE, SO_BROADCAST: it sends from 0.0.0.0 to 255.255.255.255 before it has an
 * address) and applies the lease through netctl: the address, the default route, the MTU, the
 * resolver's name servers and search domain (`resolverset`), and the lease itself for ifconfig
 * (`iflease`). It probes the offered address with ARP first (`arpprobe`, RFC 5227). On SIGTERM
 * or SIGINT it releases the lease and exits.
 *
 * Needs net_admin (configuration) and net_bind_service (port 68): `deno task run --addr dhcp`
 * and topology files with `"addrs": ["dhcp"]` start it with both, as root runs dhclient.
 */
import {
  AF_INET,
  bind,
  close,
  ErrnoError,
  getinfo,
  type IfaceInfo,
  inet,
  type LeaseInfo,
  netctl,
  poll,
  POLLIN,
  recvfrom,
  sendto,
  setsockopt,
  SIGINT,
  signal,
  SIGTERM,
  SO_BINDTODEVICE,
  SO_BROADCAST,
  SOCK_DGRAM,
  socket,
  SOL_SOCKET,
} from "../libc/mod.ts";
import { formatIPv4, parseMac } from "../netstack/wire/addr.ts";
import { parseCommand, tool, UsageError } from "./_args.ts";
import { type DhcpAction, DhcpClient, type DhcpLease } from "./dhcp/client.ts";
import {
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  dhcpMessageTypeName,
  encodeDhcp,
} from "./dhcp/message.ts";

const USAGE = `Usage: dhcpc [-v] [--no-probe] [-H HOSTNAME] [IF]
  IF            the interface to configure (default: the first that is not loopback)
  --no-probe    use the address without probing it with ARP first (RFC 5227)
  -H HOSTNAME   the host name sent to the server (default: this host's name)
  -v            print every message sent`;

/** Longest wait between two looks at the socket and at signals, in ms. */
const POLL_MS = 250;

/** The lease as ifconfig shows it; `clock` converts the client's clock to wall time. */
export function leaseInfo(l: DhcpLease, state: string, wall: (t: number) => number): LeaseInfo {
  const at = (secs: number) => secs === Infinity ? undefined : wall(l.acquiredAt + secs * 1000);
  return {
    cidr: `${formatIPv4(l.addr)}/${l.prefixLen}`,
    server: formatIPv4(l.serverId),
    router: l.router === undefined ? undefined : formatIPv4(l.router),
    dns: l.dnsServers.map(formatIPv4),
    domain: l.domainName,
    mtu: l.mtu,
    state,
    leaseSecs: l.leaseSecs === Infinity ? undefined : l.leaseSecs,
    obtained: wall(l.acquiredAt),
    renewAt: at(l.t1Secs),
    rebindAt: at(l.t2Secs),
    expiresAt: at(l.leaseSecs),
  };
}

/** A one-line summary of a lease. */
export function describeLease(l: DhcpLease): string {
  const extra = [
    l.router !== undefined ? `router ${formatIPv4(l.router)}` : "no router",
    ...(l.dnsServers.length ? [`dns ${l.dnsServers.map(formatIPv4).join(",")}`] : []),
    ...(l.domainName ? [`domain ${l.domainName}`] : []),
    ...(l.mtu ? [`mtu ${l.mtu}`] : []),
  ];
  const secs = l.leaseSecs === Infinity ? "ever" : `${l.leaseSecs} s`;
  return `${formatIPv4(l.addr)}/${l.prefixLen} from ${formatIPv4(l.serverId)} for ${secs} (${
    extra.join(", ")
  })`;
}

/** Run a netctl change; an error is printed, not thrown (the lease stays usable). */
async function tryNetctl(
  say: (s: string) => void,
  req: Parameters<typeof netctl>[0],
): Promise<boolean> {
  try {
    await netctl(req);
    return true;
  } catch (err) {
    if (!(err instanceof ErrnoError)) throw err;
    say(err.message);
    return false;
  }
}

async function dhcpc(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    v: { type: "boolean", short: "v" },
    "no-probe": { type: "boolean" },
    H: { type: "string", short: "H" },
  });
  if (positionals.length > 1) throw new UsageError("one interface at most");
  const ifaces = await netctl({ op: "ifaces" }) as IfaceInfo[];
  const ifc = positionals.length
    ? ifaces.find((i) => i.name === positionals[0])
    : ifaces.find((i) => i.driver !== "loopback");
  if (!ifc) throw new UsageError(`no interface ${positionals[0] ?? "to configure"}`);
  const name = ifc.name;
  const say = (s: string) => console.log(`dhcpc: ${name}: ${s}`);
  const mac = parseMac(ifc.mac)!;
  const hostName = typeof values.H === "string" ? values.H : (await getinfo()).host;

  const fd = await socket(AF_INET, SOCK_DGRAM);
  await setsockopt(fd, SOL_SOCKET, SO_BROADCAST, 1);
  await setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name);
  await bind(fd, inet("0.0.0.0", DHCP_CLIENT_PORT));

  const client = new DhcpClient({
    mac,
    random: Math.random,
    hostName,
    arpProbe: values["no-probe"] !== true,
  });
  const now = () => performance.now();
  const wall = (t: number) => Math.round(Date.now() + (t - performance.now()));
  let stop = false;
  signal(SIGTERM, () => stop = true);
  signal(SIGINT, () => stop = true);

  /** The default route this client added, and the resolver settings it replaced, for unbind. */
  let applied: { route?: string; resolverBefore?: { nameservers: string[]; search: string[] } } =
    {};

  const bindLease = async (l: DhcpLease, renewed: boolean) => {
    if (!renewed) {
      const cidr = `${formatIPv4(l.addr)}/${l.prefixLen}`;
      await tryNetctl(say, { op: "ifaddr", iface: name, action: "add", cidr });
      if (l.mtu !== undefined && l.mtu !== ifc.mtu) {
        await tryNetctl(say, { op: "iflink", iface: name, mtu: l.mtu });
      }
      if (l.router !== undefined) {
        const gateway = formatIPv4(l.router);
        const req = { op: "route", action: "add", dest: "default", gateway, iface: name } as const;
        if (await tryNetctl(say, req)) applied.route = gateway;
      }
      if (l.dnsServers.length || l.domainName) {
        // As dhclient-script writes resolv.conf; what was there comes back when the lease goes.
        // Only the configured part: RA-learned servers (RFC 8106) expire on their own and must
        // not come back as configured ones when the lease goes.
        const conf = await netctl({ op: "resolver" }).catch(() => undefined) as
          | {
            nameservers: string[];
            search: string[];
            configured?: { nameservers: string[]; search: string[] };
          }
          | undefined;
        const before = conf?.configured ?? conf;
        const set = await tryNetctl(say, {
          op: "resolverset",
          nameservers: l.dnsServers.slice(0, 3).map(formatIPv4),
          search: l.domainName ? [l.domainName] : [],
        });
        if (set && before) {
          applied.resolverBefore = { nameservers: before.nameservers, search: before.search };
        }
      }
    }
    await tryNetctl(say, { op: "iflease", iface: name, lease: leaseInfo(l, "BOUND", wall) });
    say(`${renewed ? "renewed" : "leased"} ${describeLease(l)}`);
  };

  const unbindLease = async (l: DhcpLease, reason: string) => {
    if (applied.route) {
      const req = {
        op: "route",
        action: "del",
        dest: "default",
        gateway: applied.route,
        iface: name,
      } as const;
      await tryNetctl(say, req);
    }
    const cidr = `${formatIPv4(l.addr)}/${l.prefixLen}`;
    await tryNetctl(say, { op: "ifaddr", iface: name, action: "del", cidr });
    if (applied.resolverBefore) {
      await tryNetctl(say, { op: "resolverset", ...applied.resolverBefore });
    }
    await tryNetctl(say, { op: "iflease", iface: name });
    applied = {};
    say(`gave up ${formatIPv4(l.addr)} (${reason})`);
  };

  const perform = async (actions: DhcpAction[]): Promise<void> => {
    const queue = [...actions];
    while (queue.length) {
      const a = queue.shift()!;
      switch (a.kind) {
        case "send": {
          const to = a.to === "broadcast" ? "255.255.255.255" : formatIPv4(a.to);
          if (values.v) say(`${dhcpMessageTypeName(a.msg.messageType)} to ${to}`);
          try {
            await sendto(fd, encodeDhcp(a.msg), inet(to, DHCP_SERVER_PORT));
          } catch (err) {
            if (!(err instanceof ErrnoError)) throw err;
            say(err.message); // retransmission tries again
          }
          break;
        }
        case "probe":
        case "probe-end": {
          const action = a.kind === "probe-end" ? "end" : a.send ? "probe" : "check";
          const r = await netctl({ op: "arpprobe", iface: name, addr: formatIPv4(a.addr), action })
            .catch((err) => {
              if (!(err instanceof ErrnoError)) throw err;
              say(`${err.message}; not probing`);
              return { conflict: false };
            }) as { conflict: boolean };
          if (a.kind === "probe") queue.push(...client.probeResult(a.addr, r.conflict, now()));
          break;
        }
        case "bind":
          await bindLease(a.lease, a.renewed);
          break;
        case "unbind":
          await unbindLease(a.lease, a.reason);
          break;
        case "log":
          say(a.text);
          break;
        default: {
          const never: never = a;
          throw new Error(`unknown action ${(never as { kind: string }).kind}`);
        }
      }
    }
  };

  let shownState = client.state;
  await perform(client.start(now()));
  while (!stop) {
    const deadline = client.nextDeadline();
    const wait = Math.max(0, Math.min(POLL_MS, (deadline ?? Infinity) - now()));
    const r = await poll([{ fd, events: POLLIN }], Math.ceil(wait));
    if (r.revents[0] & POLLIN) {
      const { data } = await recvfrom(fd, 2048);
      await perform(client.receive(data, now()));
    }
    // Always: a flood of datagrams on port 68 must not starve retransmissions and renewals.
    await perform(client.tick(now()));
    const s = client.state;
    if (s !== shownState && client.lease && (s === "RENEWING" || s === "REBINDING")) {
      // ifconfig shows that the client is trying to extend the lease.
      const lease = leaseInfo(client.lease, s, wall);
      await tryNetctl(say, { op: "iflease", iface: name, lease });
    }
    shownState = s;
  }
  await perform(client.release(now()));
  await close(fd);
  // What was ignored and why (wrong xid, malformed, …), and the NAKs, expiries, fixed T1/T2.
  const counts = [...client.counters].map(([k, n]) => `${k} ${n}`);
  if (counts.length) say(`counters: ${counts.join(", ")}`);
  return 0;
}

export default tool("dhcpc", USAGE, dhcpc);
