/**
 * ttcp: bulk TCP throughput. `ttcp -r` accepts one connection and counts what arrives until
 * EOF; `ttcp -t HOST` sends -n MB in -l byte writes, shuts down its side and waits for the
 * receiver to close, so both ends time the whole transfer.
 */
import {
  accept,
  connect,
  IPPROTO_TCP,
  recvmsg,
  setsockopt,
  SHUT_WR,
  shutdown,
  SOCK_STREAM,
  socket,
  TCP_NODELAY,
} from "../libc/mod.ts";
import {
  familyFlag,
  intArg,
  numArg,
  parseCommand,
  portArg,
  resolveHost,
  str,
  tool,
  UsageError,
} from "./_args.ts";
import { formatThroughput } from "./_format.ts";
import {
  closeQuietly,
  hostOf,
  listenOn,
  listenText,
  now,
  portOf,
  scopeIdOf,
  sendAll,
  sockaddr,
} from "./_net.ts";

const USAGE =
  `Usage: ttcp -r [-4|-6] [-p port] [-l bufsize] | ttcp -t [-4|-6] [-p port] [-n MB] [-l bufsize] [-D] HOST
  -r          receive: accept one connection, count bytes until EOF
  -4, -6      only IPv4 / only IPv6 (-r listens on both by default; -t follows HOST)
  -t          transmit to HOST
  -p port     port (default 5001)
  -n MB       megabytes (2^20 bytes) to send (default 16)
  -l bufsize  bytes per write / read (default 65536)
  -D          set TCP_NODELAY`;

/** The pattern ttcp sends: printable bytes, so a capture is readable. */
export function pattern(len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => 32 + (i % 95));
}

async function receive(family: number | undefined, port: number, buflen: number): Promise<number> {
  const lfd = await listenOn(family, SOCK_STREAM, port, { backlog: 1 });
  console.log(`ttcp-r: buflen=${buflen}, port=${port}, listening on ${listenText(family, port)}`);
  try {
    const c = await accept(lfd);
    const host = hostOf(c.addr);
    console.log(`ttcp-r: accept from ${host.includes(":") ? `[${host}]` : host}:${portOf(c.addr)}`);
    const t0 = now();
    let bytes = 0;
    let calls = 0;
    try {
      for (;;) {
        const r = await recvmsg(c.fd, buflen);
        if (r.data.length === 0) break;
        bytes += r.data.length;
        calls++;
      }
    } finally {
      await closeQuietly(c.fd);
    }
    console.log(`ttcp-r: ${formatThroughput(bytes, now() - t0)}`);
    console.log(`ttcp-r: ${calls} I/O calls`);
    return 0;
  } finally {
    await closeQuietly(lfd);
  }
}

async function transmit(
  host: string,
  family: number | undefined,
  port: number,
  total: number,
  buflen: number,
  nodelay: boolean,
) {
  const target = await resolveHost(host, family);
  const fd = await socket(target.family, SOCK_STREAM);
  try {
    if (nodelay) await setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    console.log(`ttcp-t: buflen=${buflen}, nbytes=${total}, port=${port} -> ${target.addr}`);
    await connect(fd, sockaddr(target.family, target.addr, port, await scopeIdOf(target)));
    const t0 = now();
    const buf = pattern(buflen);
    let calls = 0;
    for (let left = total; left > 0; left -= buflen) {
      await sendAll(fd, left >= buflen ? buf : buf.subarray(0, left));
      calls++;
    }
    await shutdown(fd, SHUT_WR);
    // Wait for the receiver to finish reading and close, so the time covers delivery.
    while ((await recvmsg(fd, 65536)).data.length > 0) {
      // The receiver sends nothing; anything that arrives is ignored.
    }
    console.log(`ttcp-t: ${formatThroughput(total, now() - t0)}`);
    console.log(`ttcp-t: ${calls} I/O calls`);
    return 0;
  } finally {
    await closeQuietly(fd);
  }
}

async function ttcp(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    r: { type: "boolean", short: "r" },
    t: { type: "boolean", short: "t" },
    p: { type: "string", short: "p" },
    n: { type: "string", short: "n" },
    l: { type: "string", short: "l" },
    D: { type: "boolean", short: "D" },
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
  });
  if (values.r === values.t) throw new UsageError("exactly one of -r and -t is required");
  const p = str(values, "p");
  const port = p === undefined ? 5001 : portArg(p);
  const l = str(values, "l");
  const buflen = l === undefined ? 65536 : intArg(l, "buffer size", 1, 1 << 20);
  const family = familyFlag(values);
  if (values.r) {
    if (positionals.length) throw new UsageError("too many arguments");
    return await receive(family, port, buflen);
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? "too many arguments" : "missing host");
  }
  const n = str(values, "n");
  const total = Math.round(
    (n === undefined ? 16 : numArg(n, "megabytes", 0, 1 << 20)) * 1024 * 1024,
  );
  return await transmit(positionals[0], family, port, total, buflen, values.D === true);
}

export default tool("ttcp", USAGE, ttcp);
