/**
 * dnsd: a small authoritative DNS server for a lab's zone (UDP and TCP port 53): each host of
 * the host's hosts table (the topology's names) as NAME.ZONE with its A and AAAA records, plus
 * `-a NAME=ADDR` extras; NXDOMAIN for other names in the zone, REFUSED outside it (no recursion).
 * Answers are built by _dns_zone.ts; over UDP a reply past 512 bytes goes out truncated (TC).
 */
import type { ResolverConf } from "../kernel/bus/messages.ts";
import { getinfo, netctl, recvmsg, sendto } from "../libc/mod.ts";
import { DNS_UDP_MAX } from "../netstack/wire/dns.ts";
import { validDomain } from "../netstack/resolver_conf.ts";
import { hostLiteral, type OptionValues, tool, UsageError } from "./_args.ts";
import { hostOf, sendAll } from "./_net.ts";
import { runService, type Service, serviceUsage } from "./_service.ts";
import { serveQuery, type Zone } from "./_dns_zone.ts";

const LOOPBACK_NAMES = new Set(["localhost", "ip6-localhost", "ip6-loopback"]);

const zone: Zone = { origin: "lab", hosts: new Map(), server: "ns" };
let verbose = false;

function log(peer: string, summary: string) {
  if (verbose) console.log(`dnsd: ${peer} ${summary}`);
}

/** The zone's hosts: the hosts table's single-label names, then the -a extras. */
async function loadZone(values: OptionValues) {
  const z = values.z;
  if (typeof z === "string") {
    if (!validDomain(z)) throw new UsageError(`invalid zone '${z}'`);
    zone.origin = z.toLowerCase().replace(/\.$/, "");
  }
  verbose = values.v === true;
  zone.server = (await getinfo()).host;
  const conf = await netctl({ op: "resolver" }) as ResolverConf;
  for (const e of conf.hosts) {
    for (const n of e.names) {
      if (n.includes(".") || LOOPBACK_NAMES.has(n)) continue;
      const list = zone.hosts.get(n) ?? [];
      if (!list.includes(e.addr)) list.push(e.addr);
      zone.hosts.set(n, list);
    }
  }
  const extras = Array.isArray(values.a) ? values.a : values.a === undefined ? [] : [values.a];
  for (const a of extras) {
    const m = /^([^=]+)=(.+)$/.exec(String(a));
    const name = m?.[1].toLowerCase();
    const lit = m ? hostLiteral(m[2]) : undefined;
    if (!name || !lit || !validDomain(name)) {
      throw new UsageError(`invalid record '${a}' (NAME=ADDR)`);
    }
    const rel = name.endsWith(`.${zone.origin}`) ? name.slice(0, -zone.origin.length - 1) : name;
    zone.hosts.set(rel, [...(zone.hosts.get(rel) ?? []), lit.addr]);
  }
  console.log(`dnsd: zone ${zone.origin}, ${zone.hosts.size} names`);
}

const dnsd: Service = {
  name: "dnsd",
  defaultPort: 53,
  options: {
    spec: {
      z: { type: "string", short: "z" },
      a: { type: "string", short: "a", multiple: true },
      v: { type: "boolean", short: "v" },
    },
    synopsis: "[-z zone] [-a name=addr]... [-v]",
    usage: `  -z zone   the zone served (default lab): host beta answers as beta.lab
  -a n=addr an extra A or AAAA record (repeatable)
  -v        log each query`,
  },
  configure: loadZone,
  async stream(fd, peer) {
    // RFC 1035 §4.2.2 / RFC 7766 §8: each message behind a 2-byte length, several per connection.
    let buf = new Uint8Array(0);
    for (;;) {
      while (buf.length >= 2 && buf.length >= 2 + ((buf[0] << 8) | buf[1])) {
        const len = (buf[0] << 8) | buf[1];
        const served = serveQuery(zone, buf.slice(2, 2 + len), 0xffff);
        buf = buf.slice(2 + len);
        log(`${hostOf(peer)} tcp`, served.summary);
        if (!served.reply) continue;
        const framed = new Uint8Array(served.reply.length + 2);
        framed[0] = served.reply.length >> 8;
        framed[1] = served.reply.length & 0xff;
        framed.set(served.reply, 2);
        await sendAll(fd, framed);
      }
      const r = await recvmsg(fd, 65536);
      if (r.data.length === 0) return;
      const next = new Uint8Array(buf.length + r.data.length);
      next.set(buf);
      next.set(r.data, buf.length);
      buf = next;
    }
  },
  async datagram(fd, data, from) {
    const served = serveQuery(zone, data, DNS_UDP_MAX);
    log(hostOf(from), served.summary);
    if (served.reply && from) await sendto(fd, served.reply, from);
  },
};

export default tool("dnsd", serviceUsage(dnsd), (args) => runService(dnsd, args));
