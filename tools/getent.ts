/**
 * getent: look names up as a program would, printing what glibc's getent prints: `ahosts`
 * (getaddrinfo with AI_CANONNAME, every socket type, in the sorted order a connect would try),
 * `ahostsv4`, `ahostsv6`, and `hosts` (IPv6 addresses if the name has any, else IPv4, as
 * gethostbyname2). Exit status 2 when a key is not found, as glibc's.
 */
import {
  type AddrInfo,
  AF_INET,
  AF_INET6,
  AI_CANONNAME,
  GaiError,
  getaddrinfo,
  getnameinfo,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
} from "../libc/mod.ts";
import { hostLiteral, parseCommand, tool, UsageError } from "./_args.ts";

const USAGE = `Usage: getent DATABASE KEY...
  ahosts KEY     addresses of KEY with each socket type, as getaddrinfo sorts them
  ahostsv4 KEY   the same, IPv4 only
  ahostsv6 KEY   the same, IPv6 only
  hosts KEY      KEY's addresses and name (or an address's name)`;

const SOCKTYPES = new Map([[SOCK_STREAM, "STREAM"], [SOCK_DGRAM, "DGRAM"], [SOCK_RAW, "RAW"]]);

const addrText = (ai: AddrInfo) => (ai.addr as { addr: string }).addr;

/** glibc's ahosts line: address padded to 15, socket type padded to 6, the canonical name. */
export function ahostsLine(ai: AddrInfo): string {
  const st = SOCKTYPES.get(ai.socktype) ?? String(ai.socktype);
  return `${addrText(ai).padEnd(15)} ${st.padEnd(6)} ${ai.canonname ?? ""}`;
}

async function ahosts(key: string, family: number): Promise<boolean> {
  try {
    const list = await getaddrinfo(key, undefined, { family, flags: AI_CANONNAME });
    for (const ai of list) console.log(ahostsLine(ai));
    return list.length > 0;
  } catch (err) {
    if (err instanceof GaiError) return false;
    throw err;
  }
}

async function hosts(key: string): Promise<boolean> {
  try {
    const lit = hostLiteral(key);
    if (lit) {
      const sa = lit.family === AF_INET6
        ? { family: AF_INET6, addr: lit.addr, port: 0 } as const
        : { family: AF_INET, addr: lit.addr, port: 0 } as const;
      const { host } = await getnameinfo(sa, 8 /* NI_NAMEREQD */);
      console.log(`${lit.addr.padEnd(15)} ${host}`);
      return true;
    }
    for (const family of [AF_INET6, AF_INET]) {
      const list = await getaddrinfo(key, undefined, {
        family,
        socktype: SOCK_STREAM,
        flags: AI_CANONNAME,
      }).catch((err) => {
        if (err instanceof GaiError) return [];
        throw err;
      });
      if (list.length === 0) continue;
      const name = list[0].canonname ?? key;
      for (const a of [...new Set(list.map(addrText))]) {
        console.log(`${a.padEnd(15)} ${name}${name === key ? "" : ` ${key}`}`);
      }
      return true;
    }
    return false;
  } catch (err) {
    if (err instanceof GaiError) return false;
    throw err;
  }
}

async function getent(args: string[]): Promise<number> {
  const { positionals } = parseCommand(args, {});
  const [db, ...keys] = positionals;
  if (!db) throw new UsageError("missing database");
  if (keys.length === 0) throw new UsageError("enumerating a database is not supported");
  const look: Record<string, (k: string) => Promise<boolean>> = {
    ahosts: (k) => ahosts(k, 0),
    ahostsv4: (k) => ahosts(k, AF_INET),
    ahostsv6: (k) => ahosts(k, AF_INET6),
    hosts,
  };
  const fn = look[db];
  if (!fn) throw new UsageError(`Unknown database: ${db}`);
  let status = 0;
  for (const k of keys) if (!(await fn(k))) status = 2;
  return status;
}

export default tool("getent", USAGE, getent);
