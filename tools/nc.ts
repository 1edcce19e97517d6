/**
 * nc: OpenBSD-style netcat. Connects (TCP or -u UDP) or listens (-l), sends the -e TEXT
 * (processes have no interactive stdin) and copies what arrives to stdout. -z scans ports.
 */
import {
  accept,
  AF_INET,
  bind,
  connect,
  ErrnoError,
  recvmsg,
  send,
  sendto,
  SHUT_WR,
  shutdown,
  SOCK_DGRAM,
  SOCK_STREAM,
  type SockAddr,
  socket,
  write,
} from "../libc/mod.ts";
import {
  familyFlag,
  type Host,
  numArg,
  parseCommand,
  portArg,
  resolveHost,
  str,
  tool,
  UsageError,
} from "./_args.ts";
import {
  anyAddr,
  closeQuietly,
  hostOf,
  listenOn,
  portOf,
  readable,
  scopeIdOf,
  sendAll,
  sleep,
  sockaddr,
} from "./_net.ts";

const USAGE = `Usage: nc [-46klNuvz] [-e TEXT] [-p port] [-s source] [-w secs] [HOST] PORT[-PORT]
  -4, -6     IPv4 / IPv6 only (-l without them listens on [::], taking IPv4 peers too)
  -u         UDP instead of TCP
  -l         listen (TCP: accept a connection; UDP: print datagrams)
  -k         keep listening after a connection ends (with -l)
  -e TEXT    send TEXT (C escapes \\n \\r \\t \\\\ \\xHH allowed) once connected
  -N         shut down the sending side after -e TEXT
  -p port    local port (with -l: the port to listen on)
  -s source  local address
  -w secs    connect and idle timeout
  -z         only check whether ports are open
  -v         verbose`;

/** Expand the C escapes of an -e argument (\n \r \t \0 \\ \xHH) to bytes; the rest is UTF-8. */
export function unescapeText(text: string): Uint8Array {
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, "0": 0, "\\": 92 };
  const out: number[] = [];
  const enc = new TextEncoder();
  let literal = "";
  const flush = () => {
    out.push(...enc.encode(literal));
    literal = "";
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const e = text[i + 1];
    if (c === "\\" && e !== undefined && e in simple) {
      flush();
      out.push(simple[e]);
      i++;
    } else if (c === "\\" && e === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      flush();
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else literal += c;
  }
  flush();
  return Uint8Array.from(out);
}

/** Parse "80" or "20-25" into the list of ports. */
export function parsePorts(text: string): number[] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m) return [portArg(text)];
  const lo = portArg(m[1]);
  const hi = portArg(m[2]);
  if (hi < lo) throw new UsageError(`invalid port range '${text}'`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

const SERVICES: Record<number, string> = {
  7: "echo",
  9: "discard",
  22: "ssh",
  80: "http",
  443: "https",
};

interface NcOptions {
  udp: boolean;
  listen: boolean;
  keep: boolean;
  shutdownAfter: boolean;
  verbose: boolean;
  scan: boolean;
  text?: Uint8Array;
  localPort?: number;
  source?: string;
  timeoutMs: number;
  family?: number;
}

function verbose(o: NcOptions, line: string) {
  if (o.verbose) console.error(line);
}

async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (ms < 0) return await p;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Copy what arrives on `fd` to stdout until EOF, or until idle for `idleMs` (negative: never). */
async function pump(fd: number, idleMs: number): Promise<void> {
  for (;;) {
    if (idleMs >= 0 && !(await readable(fd, idleMs))) return;
    const r = await recvmsg(fd, 65536);
    if (r.data.length === 0) return;
    await write(1, r.data);
  }
}

async function bindLocal(fd: number, family: number, o: NcOptions) {
  if (o.source !== undefined || o.localPort !== undefined) {
    const src = o.source ? (await resolveHost(o.source, family)).addr : undefined;
    await bind(
      fd,
      src ? sockaddr(family, src, o.localPort ?? 0) : anyAddr(family, o.localPort ?? 0),
    );
  }
}

async function connectTo(target: Host, port: number, o: NcOptions): Promise<number> {
  const what = `connect to ${target.addr} port ${port} (${o.udp ? "udp" : "tcp"}) failed`;
  const fd = await socket(target.family, o.udp ? SOCK_DGRAM : SOCK_STREAM);
  try {
    await bindLocal(fd, target.family, o);
    await withTimeout(
      connect(fd, sockaddr(target.family, target.addr, port, await scopeIdOf(target))),
      o.timeoutMs,
      () => new ErrnoError("ETIMEDOUT", what),
    );
    return fd;
  } catch (err) {
    await closeQuietly(fd);
    if (err instanceof ErrnoError && err.message.startsWith("Cannot connect")) {
      throw new ErrnoError(err.code, what);
    }
    throw err;
  }
}

async function client(host: string, portText: string, o: NcOptions): Promise<number> {
  const target = await resolveHost(host, o.family);
  const ports = parsePorts(portText);
  if (ports.length > 1 && !o.scan) throw new UsageError("port ranges need -z");
  const proto = o.udp ? "udp" : "tcp";
  let ok = 0;
  for (const port of ports) {
    let fd: number;
    try {
      fd = await connectTo(target, port, o);
    } catch (err) {
      if (!(err instanceof ErrnoError)) throw err;
      if (o.scan && !o.verbose) continue;
      console.error(`nc: ${err.message}`);
      if (!o.scan) return 1;
      continue;
    }
    try {
      if (o.scan && o.udp) {
        // Nothing to handshake with: send a probe and treat an ICMP port unreachable as closed.
        await send(fd, "X");
        await sleep(Math.min(o.timeoutMs < 0 ? 500 : o.timeoutMs, 1000));
        try {
          if (await readable(fd, 0)) await recvmsg(fd, 1500);
        } catch (err) {
          if (err instanceof ErrnoError && err.code === "ECONNREFUSED") continue;
          throw err;
        }
      }
      ok++;
      verbose(
        o,
        `Connection to ${target.addr} ${port} port [${proto}/${SERVICES[port] ?? "*"}] succeeded!`,
      );
      if (o.scan) continue;
      if (o.text) await sendAll(fd, o.text);
      if (o.text && o.shutdownAfter && !o.udp) await shutdown(fd, SHUT_WR);
      await pump(fd, o.timeoutMs);
    } finally {
      await closeQuietly(fd);
    }
  }
  return ok > 0 ? 0 : 1;
}

/** The wildcard a listener binds, as OpenBSD nc -v prints it: "0.0.0.0" or "::". */
function wildcard(family: number | undefined): string {
  return family === AF_INET ? "0.0.0.0" : "::";
}

async function listenTcp(family: number | undefined, port: number, o: NcOptions): Promise<number> {
  const lfd = await listenOn(family, SOCK_STREAM, port, { addr: o.source, backlog: 1 });
  try {
    verbose(o, `Listening on ${o.source ?? wildcard(family)} ${port}`);
    do {
      const c = await accept(lfd);
      verbose(o, `Connection received on ${hostOf(c.addr)} ${portOf(c.addr)}`);
      try {
        if (o.text) await sendAll(c.fd, o.text);
        if (o.text && o.shutdownAfter) await shutdown(c.fd, SHUT_WR);
        await pump(c.fd, o.timeoutMs);
      } catch (err) {
        if (!(err instanceof ErrnoError) || !o.keep) throw err;
        console.error(`nc: ${err.message}`);
      } finally {
        await closeQuietly(c.fd);
      }
    } while (o.keep);
    return 0;
  } finally {
    await closeQuietly(lfd);
  }
}

async function listenUdp(family: number | undefined, port: number, o: NcOptions): Promise<number> {
  const fd = await listenOn(family, SOCK_DGRAM, port, { addr: o.source });
  try {
    verbose(o, `Bound on ${o.source ?? wildcard(family)} ${port}`);
    let peer: SockAddr | undefined;
    for (;;) {
      if (o.timeoutMs >= 0 && peer && !(await readable(fd, o.timeoutMs))) return 0;
      const r = await recvmsg(fd, 65536);
      if (!peer || o.keep) {
        if (!peer) verbose(o, `Connection received on ${hostOf(r.addr)} ${portOf(r.addr)}`);
        if (o.text && r.addr) await sendto(fd, o.text, r.addr);
        if (!peer && !o.keep && r.addr) await connect(fd, r.addr);
        peer = r.addr;
      }
      await write(1, r.data);
    }
  } finally {
    await closeQuietly(fd);
  }
}

async function nc(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    u: { type: "boolean", short: "u" },
    l: { type: "boolean", short: "l" },
    k: { type: "boolean", short: "k" },
    N: { type: "boolean", short: "N" },
    v: { type: "boolean", short: "v" },
    z: { type: "boolean", short: "z" },
    n: { type: "boolean", short: "n" },
    e: { type: "string", short: "e" },
    p: { type: "string", short: "p" },
    s: { type: "string", short: "s" },
    w: { type: "string", short: "w" },
  });
  const e = str(values, "e");
  const w = str(values, "w");
  const p = str(values, "p");
  const o: NcOptions = {
    udp: values.u === true,
    listen: values.l === true,
    keep: values.k === true,
    shutdownAfter: values.N === true,
    verbose: values.v === true,
    scan: values.z === true,
    text: e === undefined ? undefined : unescapeText(e),
    localPort: p === undefined ? undefined : portArg(p, true),
    source: str(values, "s"),
    timeoutMs: w === undefined ? -1 : numArg(w, "timeout", 0, 86400) * 1000,
    family: familyFlag(values),
  };
  if (o.keep && !o.listen) throw new UsageError("-k needs -l");
  if (o.listen) {
    if (o.scan) throw new UsageError("-l and -z are mutually exclusive");
    if (positionals.length > 2) throw new UsageError("too many arguments");
    const portText = positionals.length ? positionals[positionals.length - 1] : p;
    if (portText === undefined) throw new UsageError("missing port to listen on");
    const port = portArg(portText, true);
    if (positionals.length === 2) o.source = positionals[0];
    const src = o.source === undefined ? undefined : await resolveHost(o.source, o.family);
    o.source = src?.addr;
    // `nc -l :: 9000` is dual-stack too, as on Linux (bindv6only=0); -6 makes it IPv6 only.
    const family = src && !(src.addr === "::" && o.family === undefined) ? src.family : o.family;
    return o.udp ? await listenUdp(family, port, o) : await listenTcp(family, port, o);
  }
  if (positionals.length !== 2) {
    throw new UsageError(positionals.length < 2 ? "missing host or port" : "too many arguments");
  }
  return await client(positionals[0], positionals[1], o);
}

export default tool("nc", USAGE, nc);
