/**
 * The skeleton of the small inetd-style services (echo, discard): one TCP listener and one UDP
 * socket on the same port, served at the same time; each TCP connection gets its own handler.
 */
import {
  accept,
  ErrnoError,
  recvmsg,
  SOCK_DGRAM,
  SOCK_STREAM,
  type SockAddr,
} from "../libc/mod.ts";
import {
  familyFlag,
  type OptionSpec,
  type OptionValues,
  parseCommand,
  portArg,
  str,
  UsageError,
} from "./_args.ts";
import { closeQuietly, listenOn, listenText, sleep } from "./_net.ts";

/** What a service does with each TCP connection and each UDP datagram. */
export interface Service {
  name: string;
  defaultPort: number;
  /** Serve one connected stream until EOF; errors end just this connection. */
  stream(fd: number, peer: SockAddr | undefined): Promise<void>;
  /** Answer one datagram (received on `fd` from `from`). */
  datagram(fd: number, data: Uint8Array, from: SockAddr | undefined): Promise<void>;
  /** Options of its own, beside -p -4 -6 -t -u, with their usage lines. */
  options?: { spec: OptionSpec; usage: string; synopsis: string };
  /** Take its own options' values before the sockets open. */
  configure?(values: OptionValues): Promise<void>;
}

/** The usage text of a service. */
export function serviceUsage(s: Service): string {
  const more = s.options ? ` ${s.options.synopsis}` : "";
  return `Usage: ${s.name} [-4|-6] [-p port] [-t|-u]${more}
  -p port   port (default ${s.defaultPort})
  -4, -6    only IPv4 / only IPv6 (default both: [::] taking IPv4 peers too)
  -t, -u    only TCP / only UDP (default both)${s.options ? `\n${s.options.usage}` : ""}`;
}

/** Parse the service's arguments and serve until killed. */
export async function runService(s: Service, args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    p: { type: "string", short: "p" },
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    t: { type: "boolean", short: "t" },
    u: { type: "boolean", short: "u" },
    ...s.options?.spec,
  });
  if (positionals.length) throw new UsageError("too many arguments");
  await s.configure?.(values);
  const p = str(values, "p");
  const port = p === undefined ? s.defaultPort : portArg(p);
  const family = familyFlag(values);
  const both = !values.t && !values.u;
  const tcp = both || values.t === true ? await listenOn(family, SOCK_STREAM, port) : -1;
  const udp = both || values.u === true
    ? await listenOn(family, SOCK_DGRAM, port).catch(async (err) => {
      if (tcp >= 0) await closeQuietly(tcp);
      throw err;
    })
    : -1;
  const where = listenText(family, port);
  const protos = [tcp >= 0 ? "tcp" : "", udp >= 0 ? "udp" : ""].filter(Boolean).join(" and ");
  console.log(`${s.name}: listening on ${protos} ${where}`);
  await Promise.all([tcp >= 0 ? acceptLoop(s, tcp) : null, udp >= 0 ? datagramLoop(s, udp) : null]);
  return 0;
}

async function acceptLoop(s: Service, lfd: number): Promise<void> {
  for (;;) {
    let c: { fd: number; addr: SockAddr };
    try {
      c = await accept(lfd);
    } catch (err) {
      if (!(err instanceof ErrnoError) || err.code === "EBADF" || err.code === "EINVAL") throw err;
      console.error(`${s.name}: ${err.message}`);
      await sleep(100);
      continue;
    }
    void s.stream(c.fd, c.addr).catch((err) => {
      if (!(err instanceof ErrnoError)) console.error(`${s.name}: ${(err as Error).message}`);
    }).finally(() => closeQuietly(c.fd));
  }
}

async function datagramLoop(s: Service, fd: number): Promise<void> {
  for (;;) {
    try {
      const r = await recvmsg(fd, 65536);
      await s.datagram(fd, r.data, r.addr);
    } catch (err) {
      if (!(err instanceof ErrnoError) || err.code === "EBADF") throw err;
      // ICMP errors from earlier replies surface here (ECONNREFUSED); keep serving.
    }
  }
}
