/**
 * The web view's HTTP server (`deno task run --ui`): the page, a JSON API over the running
 * system, and server-sent events while a page watches. It listens on 127.0.0.1 unless told
 * otherwise, and every request must carry the random token printed in the URL (`?t=` or an
 * `X-Serin-Token` header), compared in constant time. A wrong request gets a 4xx with a JSON
 * `{ error }`; nothing a client sends can stop the system.
 *
 * API (all GET but the last):
 * - `/api/topology`: hosts with their interfaces, and the links with rates and drops;
 * - `/api/host?name=H`: interfaces, routes, neighbours, sockets, counters, processes;
 * - `/api/events`: server-sent events, an overview every 250 ms (links, connections);
 * - `/api/conn?key=K&cursor=C`: a connection's samples, marks, states and segments not yet
 *   seen (the reply's `cursor` is the next request's);
 * - `/api/frames?link=L&n=N&filter=S`: the link's last frames, one line each;
 * - `/api/pcap?link=L`: the link's recent frames as a pcap file;
 * - `POST /api/link` `{ link, faults?, up?, clear? }`: change a link (kernel/bus/messages.ts).
 */
import type { System } from "../../kernel/mod.ts";
import type { LinkCtl, LinkFrame } from "../../kernel/bus/messages.ts";
import { ErrnoError } from "../../kernel/errno.ts";
import { formatFrame } from "../../netstack/wire/format.ts";
import { PcapWriter } from "../../netstack/wire/pcap.ts";
import { type ConnSeries, Sampler } from "./sampler.ts";

/** Options of {@link serveUi}. */
export interface UiOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default "127.0.0.1". */
  hostname?: string;
  /** The page: its HTML shell's script (the bundle) and style sheet. */
  page: { js: string; css: string };
  /** Default: 32 random hex digits. */
  token?: string;
}

/** A running web view. */
export interface Ui extends AsyncDisposable {
  /** The URL to open, token included. */
  url: string;
  token: string;
  port: number;
  sampler: Sampler;
  close(): Promise<void>;
}

/** Largest request body accepted. */
export const MAX_BODY = 16 << 10;
/** How often the overview goes to each watching page. */
const TICK_MS = 250;

/** Start the web view of `sys`. */
export function serveUi(sys: System, opts: UiOptions): Promise<Ui> {
  const token = opts.token ?? randomToken();
  const sampler = new Sampler(sys);
  const ac = new AbortController();
  const streams = new Set<() => void>();
  const handler = (req: Request) => handle(req, { sys, sampler, token, page: opts.page, streams });
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        port: opts.port ?? 8080,
        hostname: opts.hostname ?? "127.0.0.1",
        signal: ac.signal,
        onListen: ({ port, hostname }) => {
          const host = hostname.includes(":") ? `[${hostname}]` : hostname;
          const ui: Ui = {
            url: `http://${host}:${port}/?t=${token}`,
            token,
            port,
            sampler,
            async close() {
              for (const s of [...streams]) s();
              ac.abort();
              await server.finished.catch(() => {});
            },
            [Symbol.asyncDispose]() {
              return ui.close();
            },
          };
          resolve(ui);
        },
        onError: (err) => json({ error: `Internal error: ${(err as Error)?.message}` }, 500),
      }, handler);
    } catch (err) {
      reject(err);
    }
  });
}

interface Ctx {
  sys: System;
  sampler: Sampler;
  token: string;
  page: { js: string; css: string };
  streams: Set<() => void>;
}

async function handle(req: Request, ctx: Ctx): Promise<Response> {
  const url = new URL(req.url);
  const given = url.searchParams.get("t") ?? req.headers.get("x-serin-token") ?? "";
  if (!sameToken(given, ctx.token)) {
    return json({ error: "Missing or wrong token: open the URL serin printed" }, 401);
  }
  try {
    return await route(req, url, ctx);
  } catch (err) {
    return errorResponse(err);
  }
}

async function route(req: Request, url: URL, ctx: Ctx): Promise<Response> {
  const q = (k: string) => url.searchParams.get(k) ?? undefined;
  const need = (k: string) => {
    const v = q(k);
    if (v === undefined || v === "") throw new HttpError(400, `Missing parameter ${k}`);
    return v;
  };
  if (req.method === "POST" && url.pathname === "/api/link") {
    const body = await readJson(req);
    const req2 = linkSetRequest(body);
    await ctx.sys.link(req2);
    return json({ ok: true });
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    return json({ error: `Method ${req.method} not allowed here` }, 405);
  }
  switch (url.pathname) {
    case "/":
      return new Response(pageHtml(ctx.token, ctx.page.css), {
        headers: { "content-type": "text/html; charset=utf-8", ...NO_CACHE },
      });
    case "/app.js":
      return new Response(ctx.page.js, {
        headers: { "content-type": "text/javascript; charset=utf-8", ...NO_CACHE },
      });
    case "/api/topology":
      return json(await topology(ctx));
    case "/api/host":
      return json(await hostDetail(ctx, need("name")));
    case "/api/events":
      return events(ctx);
    case "/api/conn": {
      const c = ctx.sampler.connection(need("key"));
      if (!c) throw new HttpError(404, `No connection ${q("key")?.slice(0, 100)}`);
      ctx.sampler.focus();
      return json(connAfter(c, cursor(q("cursor"))));
    }
    case "/api/frames": {
      const n = Number(q("n") ?? 200);
      if (!Number.isInteger(n) || n < 1 || n > 4096) {
        throw new HttpError(400, `Bad n ${q("n")}: 1 to 4096 frames`);
      }
      const filter = (q("filter") ?? "").toLowerCase();
      // Without a filter the last n are all it needs; with one, it looks through them all.
      const frames = await linkFrames(ctx, need("link"), filter ? 4096 : n);
      const lines = frames.map((f) => ({
        seq: f.seq,
        time: f.time,
        port: f.port,
        dir: f.dir,
        len: f.len,
        line: formatFrame(f.data),
      })).filter((f) => !filter || `${f.port} ${f.line}`.toLowerCase().includes(filter));
      return json(lines.slice(-n));
    }
    case "/api/pcap": {
      const link = need("link");
      const frames = await linkFrames(ctx, link, 4096);
      const w = new PcapWriter();
      for (const f of frames) w.write(f.data, f.time, Math.max(f.len, f.data.length));
      const name = link.replace(/[^A-Za-z0-9_.-]/g, "_");
      return new Response(w.bytes().slice() as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": "application/vnd.tcpdump.pcap",
          "content-disposition": `attachment; filename="serin-${name}.pcap"`,
          ...NO_CACHE,
        },
      });
    }
    default:
      return json({ error: `No such page ${url.pathname.slice(0, 100)}` }, 404);
  }
}

const NO_CACHE = { "cache-control": "no-store" };

/** An error with an HTTP status. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function errorResponse(err: unknown): Response {
  if (err instanceof HttpError) return json({ error: err.message }, err.status);
  if (err instanceof ErrnoError) {
    const status = err.code === "ENODEV" || err.code === "ENOENT" || err.code === "EAFNOSUPPORT"
      ? 404
      : err.code === "EOPNOTSUPP"
      ? 409
      : err.code === "ETIMEDOUT" || err.code === "ECONNRESET"
      ? 503
      : 400;
    return json({ error: err.message, code: err.code }, status);
  }
  return json({ error: `Internal error: ${(err as Error)?.message ?? String(err)}` }, 500);
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...NO_CACHE },
  });
}

/** The body as JSON, at most {@link MAX_BODY} bytes; 413 or 400 otherwise. */
async function readJson(req: Request): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY) throw new HttpError(413, `Body too large: at most ${MAX_BODY} bytes`);
  const reader = req.body?.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, `Body too large: at most ${MAX_BODY} bytes`);
    }
    parts.push(value);
  }
  const text = new TextDecoder().decode(concat(parts));
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `Malformed JSON: ${(err as Error).message}`);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** A `linkset` request from an untrusted body; the hardware worker checks the values. */
function linkSetRequest(body: unknown): LinkCtl {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "Expected a JSON object { link, faults?, up?, clear? }");
  }
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!["link", "faults", "up", "clear"].includes(k)) {
      throw new HttpError(400, `Unknown field ${k.slice(0, 40)}`);
    }
  }
  if (typeof b.link !== "string") throw new HttpError(400, "Missing field link (a link name)");
  if (b.up !== undefined && typeof b.up !== "boolean") {
    throw new HttpError(400, "up: true or false");
  }
  if (b.clear !== undefined && typeof b.clear !== "boolean") {
    throw new HttpError(400, "clear: a boolean");
  }
  if (b.faults === undefined && b.up === undefined && !b.clear) {
    throw new HttpError(400, "Nothing to change: give faults, up or clear");
  }
  return {
    op: "linkset",
    link: b.link,
    ...(b.faults !== undefined ? { faults: b.faults as never } : {}),
    ...(b.up !== undefined ? { up: b.up } : {}),
    ...(b.clear ? { clear: true } : {}),
  };
}

async function linkFrames(ctx: Ctx, link: string, max: number): Promise<LinkFrame[]> {
  const r = await ctx.sys.link({ op: "linkframes", link, max }) as { frames: LinkFrame[] };
  return r.frames;
}

async function topology(ctx: Ctx) {
  const names = await ctx.sys.hosts();
  const hosts = await Promise.all(names.map(async (name) => ({
    name,
    ifaces: await ctx.sys.netctl(name, { op: "ifaces" }),
  })));
  const links = ctx.sampler.links.length
    ? ctx.sampler.links
    : await ctx.sys.link({ op: "links" }).catch(() => []);
  return { hosts, links };
}

async function hostDetail(ctx: Ctx, name: string) {
  const names = await ctx.sys.hosts();
  if (!names.includes(name)) throw new HttpError(404, `No host ${name.slice(0, 64)}`);
  const call = (op: "ifaces" | "routes" | "neigh" | "sockets" | "stats") =>
    ctx.sys.netctl(name, { op });
  const [ifaces, routes, neigh, sockets, stats, ps] = await Promise.all([
    call("ifaces"),
    call("routes"),
    call("neigh"),
    call("sockets"),
    call("stats"),
    ctx.sys.ps(),
  ]);
  const processes = ps.filter((p) => p.host === name && p.state === "running");
  return { name, ifaces, routes, neigh, sockets, stats, processes };
}

/** A `cursor` parameter: "samples.marks.segments" absolute counts already seen. */
function cursor(v: string | undefined): [number, number, number] {
  const parts = (v ?? "0.0.0").split(".").map(Number);
  if (parts.length !== 3 || !parts.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new HttpError(400, `Bad cursor ${String(v).slice(0, 40)}: three counts like 0.0.0`);
  }
  return parts as [number, number, number];
}

/** The part of a connection's series after `seen` (see {@link cursor}), and the next cursor. */
function connAfter(c: ConnSeries, seen: [number, number, number]) {
  const after = <T>(xs: T[], shifted: number, n: number) => xs.slice(Math.max(0, n - shifted));
  const sh = c.shifted;
  return {
    key: c.key,
    host: c.host,
    local: c.local,
    remote: c.remote,
    pids: c.pids,
    state: c.state,
    first: c.first,
    samples: after(c.samples, sh.samples, seen[0]),
    marks: after(c.marks, sh.marks, seen[1]),
    states: c.states,
    segments: after(c.segments, sh.segments, seen[2]),
    cursor: [
      sh.samples + c.samples.length,
      sh.marks + c.marks.length,
      sh.segments + c.segments.length,
    ].join("."),
  };
}

function overview(ctx: Ctx) {
  return {
    time: performance.timeOrigin + performance.now(),
    links: ctx.sampler.links,
    conns: ctx.sampler.connections().map((c) => ({
      key: c.key,
      host: c.host,
      local: c.local,
      remote: c.remote,
      state: c.state,
      pids: c.pids,
      last: c.samples.at(-1),
      retrans: c.samples.at(-1)?.retrans ?? 0,
    })),
  };
}

function events(ctx: Ctx): Response {
  const enc = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const unwatch = ctx.sampler.watch();
      const send = () => {
        try {
          controller.enqueue(enc.encode(`data: ${JSON.stringify(overview(ctx))}\n\n`));
        } catch {
          stop();
        }
      };
      const timer = setInterval(send, TICK_MS);
      send();
      stop = () => {
        clearInterval(timer);
        unwatch();
        ctx.streams.delete(stop);
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      ctx.streams.add(stop);
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", ...NO_CACHE, connection: "keep-alive" },
  });
}

function pageHtml(token: string, css: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Serin</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}</style></head>
<body><div id="app">Loading…</div>
<script>window.SERIN_TOKEN = ${JSON.stringify(token)};</script>
<script src="/app.js?t=${encodeURIComponent(token)}"></script>
</body></html>`;
}

/** 32 random hex digits. */
export function randomToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Whether `given` equals `token`, in time that does not depend on where they differ. */
export function sameToken(given: string, token: string): boolean {
  const a = new TextEncoder().encode(given), b = new TextEncoder().encode(token);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i];
  return diff === 0;
}
