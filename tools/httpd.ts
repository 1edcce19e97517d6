/**
 * httpd: a small HTTP/1.1 server. `/` describes the host, `/bytes/N` streams N bytes in 64 KiB
 * chunks, anything else is 404. Keep-alive with pipelining, one async handler per connection,
 * garbage gets 400, vanished clients are forgotten.
 */
import type { IfaceInfo } from "../kernel/bus/messages.ts";
import {
  accept,
  ErrnoError,
  getinfo,
  netctl,
  recvmsg,
  SOCK_STREAM,
  type SockAddr,
} from "../libc/mod.ts";
import { familyFlag, parseCommand, portArg, str, tool, UsageError } from "./_args.ts";
import { closeQuietly, hostOf, listenOn, listenText, readable, sendAll, sleep } from "./_net.ts";

const USAGE = `Usage: httpd [-p port] [-4|-6] [-q]
  -p port   port to listen on (default 80)
  -4, -6    only IPv4 / only IPv6 (default both: [::] taking IPv4 peers too)
  -q        do not log requests`;

/** Largest request head accepted (request line and headers). */
export const MAX_HEAD = 16 * 1024;
/** Chunk size for streamed bodies. */
export const CHUNK = 64 * 1024;
/** Idle keep-alive connections are closed after this long (ms). */
const IDLE_MS = 30_000;

/** A parsed request head. */
export interface RequestHead {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Map<string, string>;
}

/** Parse a request head (without the blank line); a status code when it is not acceptable. */
export function parseRequestHead(text: string): RequestHead | { status: 400 | 505 } {
  const lines = text.split(/\r?\n/);
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d)\.(\d)$/.exec(lines[0]);
  if (!m) return { status: 400 };
  if (m[3] !== "1") return { status: 505 };
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!h) return { status: 400 };
    const name = h[1].toLowerCase();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? h[2] : `${prev}, ${h[2]}`);
  }
  if (headers.has("content-length") && !/^\d{1,15}$/.test(headers.get("content-length")!)) {
    return { status: 400 };
  }
  return { method: m[1], target: m[2], minor: Number(m[4]), headers };
}

/** Whether the connection stays open after answering `req` (HTTP/1.1 default, 1.0 opt-in). */
export function keepAlive(req: RequestHead): boolean {
  const tokens = (req.headers.get("connection") ?? "").toLowerCase().split(",").map((t) =>
    t.trim()
  );
  if (tokens.includes("close")) return false;
  return req.minor >= 1 || tokens.includes("keep-alive");
}

/** Where the head ends in `buf`: the index just past the blank line, or -1. */
export function headEnd(buf: Uint8Array): number {
  for (let i = 0; i + 1 < buf.length; i++) {
    if (buf[i] !== 10) continue;
    if (buf[i + 1] === 10) return i + 2;
    if (buf[i + 1] === 13 && buf[i + 2] === 10) return i + 3;
  }
  return -1;
}

/** What a request is answered with: status, content type and a body (bytes or a length). */
export type Route =
  | { status: number; type: string; body: Uint8Array }
  | { status: 200; type: "application/octet-stream"; stream: number };

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  505: "HTTP Version Not Supported",
};

/** The status line and headers of a response, ending with the blank line. */
export function responseHead(
  status: number,
  type: string,
  length: number,
  close: boolean,
  extra = "",
): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n` +
    `Server: serin-httpd\r\nDate: ${new Date().toUTCString()}\r\n` +
    `Content-Type: ${type}\r\nContent-Length: ${length}\r\n` +
    `Connection: ${close ? "close" : "keep-alive"}\r\n${extra}\r\n`;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A plain-text error body. */
function errorRoute(status: number): Route {
  return {
    status,
    type: "text/plain; charset=utf-8",
    body: enc.encode(`${status} ${REASONS[status]}\n`),
  };
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!,
  );
}

/** The HTML page served at `/`. */
export function indexPage(host: string, ifaces: IfaceInfo[], served: number): string {
  const rows = ifaces.map((i) =>
    `<tr><td>${escapeHtml(i.name)}</td><td>${escapeHtml(i.driver)}</td><td>${
      escapeHtml(i.mac)
    }</td>` +
    `<td>${i.mtu}</td><td>${i.up ? "up" : "down"}</td><td>${
      i.addrs.map((a) => escapeHtml(`${a.addr}/${a.prefixLen}`)).join("<br>")
    }</td></tr>`
  ).join("\n");
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(host)}</title></head>
<body>
<h1>Serin host ${escapeHtml(host)}</h1>
<p>Served by serin-httpd; ${served} requests so far. Try <a href="/bytes/1048576">/bytes/1048576</a>.</p>
<table border="1">
<tr><th>Interface</th><th>Driver</th><th>MAC</th><th>MTU</th><th>State</th><th>Addresses</th></tr>
${rows}
</table>
</body></html>
`;
}

/** `/bytes/N` → N, or undefined for any other path. */
export function bytesPath(target: string): number | undefined {
  const m = /^\/bytes\/(\d{1,15})(\?.*)?$/.exec(target);
  return m ? Number(m[1]) : undefined;
}

class Server {
  served = 0;
  private chunk = new Uint8Array(CHUNK);

  constructor(readonly quiet: boolean) {}

  async route(req: RequestHead): Promise<Route> {
    if (req.method !== "GET" && req.method !== "HEAD") return errorRoute(405);
    const path = req.target.split("?")[0];
    if (path === "/" || path === "/index.html") {
      const info = await getinfo();
      const ifaces = await netctl({ op: "ifaces" }).catch(() => []) as IfaceInfo[];
      return {
        status: 200,
        type: "text/html; charset=utf-8",
        body: enc.encode(indexPage(info.host, ifaces, this.served)),
      };
    }
    const n = bytesPath(req.target);
    if (n !== undefined) return { status: 200, type: "application/octet-stream", stream: n };
    return errorRoute(404);
  }

  /** Serve one connection until it closes, errs or idles out; never throws. */
  async connection(fd: number, peer: SockAddr | undefined): Promise<void> {
    let buf: Uint8Array = new Uint8Array(0);
    const more = async (): Promise<boolean> => {
      if (!(await readable(fd, IDLE_MS))) return false;
      const r = await recvmsg(fd, 65536);
      if (r.data.length === 0) return false;
      const next = new Uint8Array(buf.length + r.data.length);
      next.set(buf);
      next.set(r.data, buf.length);
      buf = next;
      return true;
    };
    try {
      for (;;) {
        let end = headEnd(buf);
        while (end < 0 && buf.length <= MAX_HEAD) {
          if (!(await more())) return;
          end = headEnd(buf);
        }
        if (end < 0) return await this.answer(fd, peer, undefined, errorRoute(431), true);
        const head = dec.decode(buf.subarray(0, end)).replace(/\r?\n\r?\n$/, "");
        buf = buf.subarray(end);
        const req = parseRequestHead(head.replace(/^(\r?\n)+/, ""));
        if ("status" in req) {
          return await this.answer(fd, peer, undefined, errorRoute(req.status), true);
        }
        if (req.headers.has("transfer-encoding")) {
          return await this.answer(fd, peer, req, errorRoute(501), true);
        }
        // Skip a request body we do not use.
        let body = Number(req.headers.get("content-length") ?? 0);
        while (body > 0) {
          if (buf.length === 0 && !(await more())) return;
          const take = Math.min(body, buf.length);
          buf = buf.subarray(take);
          body -= take;
        }
        const close = !keepAlive(req);
        await this.answer(fd, peer, req, await this.route(req), close);
        if (close) return;
      }
    } catch (err) {
      // The client vanished (reset, broken pipe): nothing to tell anyone.
      if (!(err instanceof ErrnoError)) console.error(`httpd: ${(err as Error).message}`);
    } finally {
      await closeQuietly(fd);
    }
  }

  private async answer(
    fd: number,
    peer: SockAddr | undefined,
    req: RequestHead | undefined,
    r: Route,
    close: boolean,
  ) {
    this.served++;
    const length = "stream" in r ? r.stream : r.body.length;
    if (!this.quiet) {
      const line = req ? `${req.method} ${req.target} HTTP/1.${req.minor}` : "-";
      console.log(`${hostOf(peer)} "${line}" ${r.status} ${length}`);
    }
    const allow = r.status === 405 ? "Allow: GET, HEAD\r\n" : "";
    await sendAll(fd, enc.encode(responseHead(r.status, r.type, length, close, allow)));
    if (req?.method === "HEAD") return;
    if (!("stream" in r)) {
      await sendAll(fd, r.body);
      return;
    }
    for (let left = r.stream; left > 0; left -= CHUNK) {
      await sendAll(fd, left >= CHUNK ? this.chunk : this.chunk.subarray(0, left));
    }
  }
}

async function httpd(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    p: { type: "string", short: "p" },
    "4": { type: "boolean", short: "4" },
    "6": { type: "boolean", short: "6" },
    q: { type: "boolean", short: "q" },
  });
  if (positionals.length) throw new UsageError("too many arguments");
  const p = str(values, "p");
  const port = p === undefined ? 80 : portArg(p);
  const family = familyFlag(values);
  const lfd = await listenOn(family, SOCK_STREAM, port);
  console.log(`httpd: listening on ${listenText(family, port)}`);
  const server = new Server(values.q === true);
  for (;;) {
    let c: { fd: number; addr: SockAddr };
    try {
      c = await accept(lfd);
    } catch (err) {
      if (!(err instanceof ErrnoError)) throw err;
      if (err.code === "EBADF" || err.code === "EINVAL" || err.code === "ENOTSOCK") throw err;
      console.error(`httpd: ${err.message}`);
      await sleep(100);
      continue;
    }
    void server.connection(c.fd, c.addr);
  }
}

export default tool("httpd", USAGE, httpd);
