/**
 * The web view's sampler: while at least one page watches, it asks every host for its TCP
 * connections' TCP_INFO every {@link TCP_EVERY_MS} while a page shows a connection (every
 * {@link TCP_IDLE_EVERY_MS} otherwise) and the links for their counters and recent
 * frames every {@link LINK_EVERY_MS}, and keeps per-connection series in bounded rings. With no
 * page it does nothing at all: nothing is asked, nothing is kept beyond what was there.
 *
 * Marks come from changes between samples, as `ss -ti` readers derive them: a fast retransmit
 * when the connection enters recovery, an RTO when its backoff grows. The segments of the
 * time-sequence graph come from the links' frames (the sender's side of each switch cable).
 */
import type {
  LinkCtl,
  LinkFrame,
  LinkInfo,
  NetCtl,
  TcpConnInfo,
} from "../../kernel/bus/messages.ts";
import { tcpSegment } from "./segments.ts";

/** How often TCP_INFO is read while a page shows a connection (see {@link Sampler.focus}). */
export const TCP_EVERY_MS = 20;
/** How often TCP_INFO is read while pages watch but none shows a connection. */
export const TCP_IDLE_EVERY_MS = 250;
/** A connection view counts as open this long after it last asked for its series. */
const FOCUS_MS = 2000;
/** How often link counters and frames are read while a page watches. */
export const LINK_EVERY_MS = 100;
/** Samples kept per connection (80 s at 20 ms). */
export const MAX_SAMPLES = 4000;
/** Segments kept per connection for the time-sequence graph. */
export const MAX_SEGMENTS = 40_000;
/** Connections kept; the longest closed go first. */
export const MAX_CONNS = 32;

/** What the sampler needs of a system (kernel/mod.ts's System has it). */
export interface Sampled {
  link(req: LinkCtl): Promise<unknown>;
  netctl(host: string, req: NetCtl): Promise<unknown>;
  hosts(): Promise<string[]>;
}

/** One TCP_INFO sample; times in ms since the Unix epoch, sizes in bytes. */
export interface ConnSample {
  t: number;
  cwnd: number;
  /** null while still "infinite" (before the first loss). */
  ssthresh: number | null;
  inflight: number;
  srtt: number;
  rttvar: number;
  rto: number;
  sndWnd: number;
  rcvWnd: number;
  retrans: number;
}

/** A segment of the time-sequence graph, sequence numbers relative to the first seen. */
export interface SeqEvent {
  t: number;
  /** "data" sent by this side, or an "ack" from the peer. */
  kind: "data" | "ack";
  seq: number;
  end: number;
  ack: number;
  retrans?: boolean;
  sack?: Array<[number, number]>;
}

/** Everything kept about one connection. */
export interface ConnSeries {
  key: string;
  host: string;
  sid: number;
  local: string;
  remote: string;
  pids: number[];
  state: string;
  first: number;
  last: number;
  samples: ConnSample[];
  marks: Array<{ t: number; kind: "fast-retransmit" | "rto" }>;
  states: Array<{ t: number; state: string }>;
  segments: SeqEvent[];
  /** Sequence base (first seen), highest end sent, ack base. */
  seqBase?: number;
  ackBase?: number;
  highEnd: number;
  prev?: { inRecovery: boolean; backoff: number };
  /** Items pushed out of each ring so far: an item's absolute index is this plus its index. */
  shifted: { samples: number; marks: number; segments: number };
}

/** One link as the overview shows it: its info and rates over the last interval. */
export interface LinkView extends LinkInfo {
  /** Frames and bytes per second onto the link, all cables together. */
  pps: number;
  bps: number;
  /** Frames per second the link's impairments dropped (lost, rate limit, down). */
  dropsPerSec: number;
}

const now = () => performance.timeOrigin + performance.now();
const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)/;

/** Polls a system while watched; see the module comment. */
export class Sampler {
  readonly #sys: Sampled;
  readonly #conns = new Map<string, ConnSeries>();
  /** "src>dst" → connection keys the segment belongs to. */
  readonly #byTuple = new Map<string, Set<string>>();
  #watchers = 0;
  #timers: Array<ReturnType<typeof setInterval>> = [];
  #links: LinkView[] = [];
  #prevLinks = new Map<string, { t: number; frames: number; bytes: number; drops: number }>();
  #frameSeq = new Map<string, number>();
  #hosts: string[] = [];
  #busy = { tcp: false, link: false };
  #focusUntil = 0;
  #lastTcp = 0;
  /** Polls made (for tests: zero while nobody watches). */
  polls = 0;

  constructor(sys: Sampled) {
    this.#sys = sys;
  }

  /** A page started watching; the first one starts the polls. Returns the unwatch function. */
  watch(): () => void {
    if (this.#watchers++ === 0) this.#start();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--this.#watchers === 0) this.#stop();
    };
  }

  /** Pages watching now. */
  get watchers(): number {
    return this.#watchers;
  }

  /** The links with their latest rates. */
  get links(): LinkView[] {
    return this.#links;
  }

  /** Every kept connection, newest first. */
  connections(): ConnSeries[] {
    return [...this.#conns.values()].sort((a, b) => b.first - a.first);
  }

  /** One connection by key. */
  connection(key: string): ConnSeries | undefined {
    return this.#conns.get(key);
  }

  /** A page shows a connection: sample at full rate for a while. */
  focus(): void {
    this.#focusUntil = performance.now() + FOCUS_MS;
  }

  /** Poll once now (tests; the timers call the same). */
  async poll(): Promise<void> {
    await Promise.all([this.#pollTcp(), this.#pollLinks()]);
  }

  #start(): void {
    this.#timers.push(setInterval(() => {
      const t = performance.now();
      const every = t < this.#focusUntil ? TCP_EVERY_MS : TCP_IDLE_EVERY_MS;
      if (t - this.#lastTcp >= every - 1) this.#lastTcp = t, void this.#pollTcp();
    }, TCP_EVERY_MS));
    this.#timers.push(setInterval(() => void this.#pollLinks(), LINK_EVERY_MS));
    void this.poll();
  }

  #stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  async #pollTcp(): Promise<void> {
    if (this.#busy.tcp) return;
    this.#busy.tcp = true;
    try {
      this.polls++;
      if (!this.#hosts.length) this.#hosts = await this.#sys.hosts();
      await Promise.all(this.#hosts.map(async (host) => {
        const conns = await this.#sys.netctl(host, { op: "tcpinfo" }).catch(() => []);
        const t = now();
        for (const c of conns as TcpConnInfo[]) this.#sample(host, c, t);
      }));
    } finally {
      this.#busy.tcp = false;
    }
  }

  #sample(host: string, c: TcpConnInfo, t: number): void {
    const local = c.local.replace(MAPPED, "$1"), remote = c.remote.replace(MAPPED, "$1");
    const key = `${host}/${c.sid}/${local}/${remote}`;
    let s = this.#conns.get(key);
    const info = c.info as Record<string, number | string | boolean>;
    const state = String(info.state);
    if (!s) {
      s = {
        key,
        host,
        sid: c.sid,
        local,
        remote,
        pids: c.pids,
        state,
        first: t,
        last: t,
        samples: [],
        marks: [],
        states: [{ t, state }],
        segments: [],
        highEnd: 0,
        shifted: { samples: 0, marks: 0, segments: 0 },
      };
      this.#add(s);
    }
    s.last = t;
    s.pids = c.pids;
    if (state !== s.state) s.states.push({ t, state }), s.state = state;
    const num = (k: string) => Number(info[k] ?? 0);
    const ssthresh = num("ssthresh");
    s.shifted.samples += push(s.samples, {
      t,
      cwnd: num("cwnd"),
      ssthresh: ssthresh > 0 && ssthresh < 1 << 30 ? ssthresh : null,
      inflight: num("unacked"),
      srtt: num("srtt"),
      rttvar: num("rttvar"),
      rto: num("rto"),
      sndWnd: num("sndWnd"),
      rcvWnd: num("rcvWnd"),
      retrans: num("retransmits"),
    }, MAX_SAMPLES);
    const inRecovery = info.inRecovery === true, backoff = num("backoff");
    if (s.prev) {
      if (inRecovery && !s.prev.inRecovery) s.marks.push({ t, kind: "fast-retransmit" });
      if (backoff > s.prev.backoff) s.marks.push({ t, kind: "rto" });
      if (s.marks.length > MAX_SAMPLES) s.marks.shift(), s.shifted.marks++;
    }
    s.prev = { inRecovery, backoff };
  }

  #add(s: ConnSeries): void {
    if (this.#conns.size >= MAX_CONNS) {
      const victims = [...this.#conns.values()].sort((a, b) => a.last - b.last);
      const v = victims[0];
      this.#conns.delete(v.key);
      this.#byTuple.get(`${v.local}>${v.remote}`)?.delete(v.key);
      this.#byTuple.get(`${v.remote}>${v.local}`)?.delete(v.key);
    }
    this.#conns.set(s.key, s);
    for (const tuple of [`${s.local}>${s.remote}`, `${s.remote}>${s.local}`]) {
      let set = this.#byTuple.get(tuple);
      if (!set) this.#byTuple.set(tuple, set = new Set());
      set.add(s.key);
    }
  }

  async #pollLinks(): Promise<void> {
    if (this.#busy.link) return;
    this.#busy.link = true;
    try {
      const links = await this.#sys.link({ op: "links" }).catch(() => []) as LinkInfo[];
      const t = now();
      this.#links = links.map((l) => this.#rates(l, t));
      await Promise.all(
        links.filter((l) => l.controllable).map(async (l) => {
          const since = this.#frameSeq.get(l.name) ?? 0;
          const r = await this.#sys.link({
            op: "linkframes",
            link: l.name,
            since,
            max: 4096,
            snap: 128,
          }).catch(() => undefined) as { frames: LinkFrame[]; next: number } | undefined;
          if (!r) return;
          this.#frameSeq.set(l.name, r.next);
          for (const f of r.frames) this.#segment(f);
        }),
      );
    } finally {
      this.#busy.link = false;
    }
  }

  #rates(l: LinkInfo, t: number): LinkView {
    const frames = l.ports.reduce((n, p) => n + p.txFrames, 0);
    const bytes = l.ports.reduce((n, p) => n + p.txBytes, 0);
    const drops = l.drops.lost + l.drops.rateDropped + l.drops.down;
    const prev = this.#prevLinks.get(l.name);
    this.#prevLinks.set(l.name, { t, frames, bytes, drops });
    const dt = prev ? (t - prev.t) / 1000 : 0;
    const rate = (a: number, b: number) => (dt > 0 ? Math.max(0, (a - b) / dt) : 0);
    return {
      ...l,
      pps: rate(frames, prev?.frames ?? frames),
      bps: rate(bytes, prev?.bytes ?? bytes) * 8,
      dropsPerSec: rate(drops, prev?.drops ?? drops),
    };
  }

  #segment(f: LinkFrame): void {
    const seg = tcpSegment(f.data);
    if (!seg) return;
    const keys = this.#byTuple.get(`${seg.src}>${seg.dst}`);
    if (!keys) return;
    for (const key of keys) {
      const s = this.#conns.get(key);
      if (!s) continue;
      if (seg.src === s.local) {
        if (seg.len === 0 && !(seg.flags & 3)) continue; // our pure ACKs: not on this graph
        s.seqBase ??= seg.seq;
        const seq = (seg.seq - s.seqBase) >>> 0;
        const end = seq + seg.len + ((seg.flags & 3) ? 1 : 0);
        const retrans = end <= s.highEnd && seg.len > 0;
        s.highEnd = Math.max(s.highEnd, end);
        const ev: SeqEvent = { t: f.time, kind: "data", seq, end, ack: 0, retrans };
        s.shifted.segments += push(s.segments, ev, MAX_SEGMENTS);
      } else if (seg.flags & 16 && s.seqBase !== undefined) {
        const rel = (n: number) => (n - (s.seqBase ?? 0)) >>> 0;
        const ack = rel(seg.ack);
        const ev: SeqEvent = { t: f.time, kind: "ack", seq: ack, end: ack, ack };
        if (seg.sack) ev.sack = seg.sack.map(([a, b]) => [rel(a), rel(b)]);
        s.shifted.segments += push(s.segments, ev, MAX_SEGMENTS);
      }
    }
  }
}

/** Append to a bounded ring; returns how many old items went. */
function push<T>(ring: T[], item: T, max: number): number {
  ring.push(item);
  if (ring.length <= max) return 0;
  const n = ring.length - max;
  ring.splice(0, n);
  return n;
}
