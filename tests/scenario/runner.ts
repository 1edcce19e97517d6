/**
 * Runs one parsed script against one {@link Target}, playing the peer: it injects the `<`
 * segments, checks every segment the endpoint sends against the `>` lines, makes the socket
 * calls, and stops at the first divergence, which it reports as packetdrill does (script line,
 * expected vs actual in the script's syntax). Target-independent; README.md gives the rules.
 */
import { callMismatch, type CallResult, formatResult, toCall } from "./calls.ts";
import { classify, icmpFrame, tcpFrame } from "./frames.ts";
import type { Script, ScriptEvent, SegSpec, TimeSpec } from "./script.ts";
import { formatSegment, mismatch, type Segment } from "./segment.ts";
import { ENDPOINT_PORT, PEER_PORT, type Target } from "./target.ts";

/** The peer's initial sequence number: script sequence numbers of `<` lines are relative to it. */
export const PEER_ISN = 1_000_000;
/** How long a `*` line waits for its segment at most, ms. */
const ANY_TIME_LIMIT_MS = 60_000;

const SYN = 0x02;
const ACK = 0x10;

/** The first divergence of a run. */
export interface Divergence {
  /** The script line (1-based) and its text. */
  line: number;
  text: string;
  /** What went wrong, e.g. "ack 0 instead of 1". */
  message: string;
  /** For segments: the expected and actual lines, each `TIME DIR SEGMENT`. */
  expected?: string;
  actual?: string;
}

/** The outcome of running a script on one target. */
export interface RunResult {
  target: string;
  /** The first divergence, or undefined when the script passed. */
  divergence?: Divergence;
  /** Why Serin may differ, when the divergence is on or after a marked line (or the script is). */
  differs?: string;
  /** ms of (virtual or real) time the run took. */
  elapsedMs: number;
}

/** A divergence found while running (thrown to stop the run). */
class Diverged extends Error {
  constructor(readonly d: Divergence) {
    super(d.message);
  }
}

interface Seen {
  seg: Segment;
  at: number;
}

interface Pending {
  ev: ScriptEvent;
  end: number;
  result?: CallResult;
  at?: number;
  error?: unknown;
}

/**
 * Run `script` on `target`; never throws for a divergence (only for runner bugs). `trace`, when
 * given, receives every segment in both directions and every call result as it happens.
 */
export async function runScript(
  script: Script,
  target: Target,
  trace?: (line: string) => void,
): Promise<RunResult> {
  const tol = script.options.toleranceMs + target.slackMs;
  const a = target.addrs;
  const queue: Seen[] = [];
  let localIsn: number | undefined;
  let endpointPort = ENDPOINT_PORT;
  let lastTsVal = 0;
  let pending: Pending | undefined;
  let prev = 0;
  /**
   * Target time minus script time: how late the last injection or call ran, or when the last
   * expected segment came. Real-time runs drift; every later time counts from there.
   */
  let lag = 0;
  target.onFrame((frame, at) => {
    const o = classify(a, frame);
    if (o.kind === "resolve") target.inject(o.reply);
    if (o.kind !== "tcp") return;
    const s = o.seg;
    if (s.flags & SYN) {
      localIsn = s.seq;
      endpointPort = s.srcPort;
    }
    for (const opt of s.options) if (opt.kind === "TS") lastTsVal = opt.val ?? 0;
    queue.push({ seg: s, at });
    trace?.(`${line(at, toSpec(s))}`);
  });
  const rel = (x: number, base: number | undefined) => (x - (base ?? 0)) >>> 0;
  const toSpec = (s: Segment): SegSpec => ({
    dir: ">",
    flags: s.flags,
    seq: rel(s.seq, localIsn),
    len: s.payload.length,
    ack: s.flags & ACK ? rel(s.ack, PEER_ISN) : s.ack,
    win: s.win,
    urg: s.urg,
    options: s.options.map((o) => {
      if (o.kind !== "sack") return o;
      return {
        kind: "sack",
        blocks: o.blocks.map(([l, r]) => [rel(l, PEER_ISN), rel(r, PEER_ISN)]),
      };
    }),
  });
  const stamp = (ms: number) => (ms / 1000).toFixed(3);
  const line = (at: number, s: SegSpec) => `${stamp(at)} ${s.dir} ${formatSegment(s)}`;
  const fail = (ev: ScriptEvent, message: string, more: Partial<Divergence> = {}): never => {
    throw new Diverged({ line: ev.line, text: ev.text, message, ...more });
  };
  const timeOf = (t: TimeSpec, base: number) =>
    t.kind === "abs" ? t.ms : t.kind === "rel" ? base + t.ms : base;
  /** Any segment waiting now was not in the script. */
  const noStray = (ev: ScriptEvent) => {
    const s = queue[0];
    if (s) {
      fail(ev, "unexpected outbound segment before this line", {
        actual: line(s.at, toSpec(s.seg)),
      });
    }
  };
  /** Check the call running in the background, if it has returned or is overdue. */
  const settle = (force: boolean) => {
    const p = pending;
    if (!p) return;
    if (p.at === undefined) {
      if (target.now() > p.end + lag + tol || force) {
        fail(
          p.ev,
          `call still blocked at ${stamp(target.now())} (expected to return at ${stamp(p.end)})`,
        );
      }
      return;
    }
    pending = undefined;
    checkCall(p.ev, p.result, p.error, p.at, p.end);
  };
  const checkCall = (
    ev: ScriptEvent,
    r: CallResult | undefined,
    e: unknown,
    at: number,
    end: number,
  ) => {
    trace?.(`${stamp(at)} ${ev.text.replace(/^\S+\s+/, "")} -> ${r ? formatResult(r) : e}`);
    if (e) fail(ev, `call failed in the runner: ${(e as Error).message ?? e}`);
    const spec = ev.action.type === "call" ? ev.action : undefined;
    const why = callMismatch(toCall(spec!, a.family).expect, r!);
    if (why) fail(ev, why);
    if (spec!.end && Math.abs(at - (end + lag)) > tol) {
      fail(ev, `call returned at ${stamp(at)} instead of ${stamp(end)} (±${tol} ms)`);
    }
  };

  const started = target.now();
  try {
    for (const ev of script.events) {
      const act = ev.action;
      const t = timeOf(ev.time, prev);
      if (act.type === "packet" && act.dir === ">") {
        const limit = ev.time.kind === "any" ? prev + lag + ANY_TIME_LIMIT_MS : t + lag + tol;
        await target.waitUntil(limit, () => queue.length > 0 || pending?.at !== undefined);
        settle(false);
        if (queue.length === 0) await target.waitUntil(limit, () => queue.length > 0);
        const s = queue.shift();
        if (!s) {
          fail(ev, `expected segment not sent by ${stamp(limit)}`, { expected: line(t, act) });
        }
        const got = toSpec(s!.seg);
        const why = mismatch(act, got);
        if (why) fail(ev, why, { expected: line(t, act), actual: line(s!.at, got) });
        if (ev.time.kind !== "any" && s!.at < t + lag - tol) {
          fail(ev, `segment sent too early (±${tol} ms)`, {
            expected: line(t, act),
            actual: line(s!.at, got),
          });
        }
        // Later times count from when this segment came: real-time drift does not add up.
        if (ev.time.kind === "any") prev = s!.at - lag;
        else (prev = t, lag = s!.at - t);
        continue;
      }
      // Injections and calls happen at their time; what the endpoint sent by then is a stray.
      await target.waitUntil(t + lag, () => false);
      settle(false);
      if (act.type === "call" && pending) {
        await target.waitUntil(pending.end + lag + tol, () => pending?.at !== undefined);
        settle(true);
        await target.waitUntil(t + lag, () => false);
      }
      noStray(ev);
      prev = t;
      lag = Math.max(lag, target.now() - t);
      if (act.type === "packet") {
        if (act.ack === undefined && act.flags & ACK) fail(ev, "an injected ACK needs ack N");
        const seg: Segment = {
          srcPort: PEER_PORT,
          dstPort: endpointPort,
          seq: (PEER_ISN + act.seq) >>> 0,
          ack: act.ack === undefined ? 0 : (act.ack + (localIsn ?? 0)) >>> 0,
          flags: act.flags,
          win: act.win ?? 65535,
          urg: act.urg ?? 0,
          options: act.options === "any" || act.options === undefined
            ? []
            : act.options.map((o) => {
              if (o.kind === "TS" && o.ecr) return { ...o, ecr: lastTsVal };
              if (o.kind !== "sack") return o;
              return {
                kind: "sack",
                blocks: o.blocks.map((
                  [l, r],
                ) => [(l + (localIsn ?? 0)) >>> 0, (r + (localIsn ?? 0)) >>> 0]),
              };
            }),
          payload: new Uint8Array(act.len).map((_, i) => 0x61 + ((act.seq + i) % 26)),
        };
        target.inject(tcpFrame(a, target.endpointMac, seg));
        trace?.(`${stamp(target.now())} < ${formatSegment(act)}`);
      } else if (act.type === "icmp") {
        const q = act.quote;
        const quoted: Segment = {
          srcPort: endpointPort,
          dstPort: PEER_PORT,
          seq: (q.seq + (localIsn ?? 0)) >>> 0,
          ack: q.ack === undefined ? 0 : (PEER_ISN + q.ack) >>> 0,
          flags: q.flags,
          win: 0,
          urg: 0,
          options: [],
          payload: new Uint8Array(q.len),
        };
        target.inject(icmpFrame(a, target.endpointMac, act.icmp, act.code, act.mtu ?? 0, quoted));
      } else {
        let call;
        try {
          call = toCall(act, a.family);
        } catch (e) {
          fail(ev, (e as Error).message);
        }
        const p: Pending = { ev, end: act.end ? timeOf(act.end, t) : t };
        target.call(call!.call).then(
          (r) => (p.result = r, p.at = target.now()),
          (e) => (p.error = e ?? new Error("rejected"), p.at = target.now()),
        );
        // A call that may block goes to the background at once; others get the target's grace.
        const grace = act.end ? 0 : Math.max(tol, target.callGraceMs);
        await target.waitUntil(target.now() + grace, () => p.at !== undefined);
        if (p.at === undefined && !act.end) {
          fail(ev, `call blocked (write T1...T2 for a call expected to block)`);
        }
        if (p.at !== undefined) checkCall(ev, p.result, p.error, p.at, p.end);
        else pending = p;
      }
    }
    if (pending) {
      const p = pending;
      await target.waitUntil(p.end + lag + tol, () => p.at !== undefined);
      settle(true);
    }
    // Whatever the endpoint sends within the tolerance after the last line is a stray.
    const last = script.events[script.events.length - 1];
    await target.waitUntil(Math.max(prev + lag, target.now()) + tol, () => queue.length > 0);
    noStray(last);
    return { target: target.name, elapsedMs: target.now() - started };
  } catch (e) {
    if (!(e instanceof Diverged)) throw e;
    // A marker covers its line and the lines after it: a state Serin got wrong shows later.
    const marked = script.events.filter((x) => x.line <= e.d.line && x.serinDiffers).pop();
    const why = marked?.serinDiffers ?? script.serinDiffers;
    const differs = target.name === "serin" ? why : undefined;
    return { target: target.name, divergence: e.d, differs, elapsedMs: target.now() - started };
  }
}

/** A report of one run in packetdrill's style, several lines. */
export function formatDivergence(script: Script, r: RunResult): string {
  const d = r.divergence;
  if (!d) return "";
  const out = [`${script.name}:${d.line}: ${d.message}`, `  script line: ${d.text}`];
  if (d.expected) out.push(`  expected:    ${d.expected}`);
  if (d.actual) out.push(`  actual:      ${d.actual}`);
  if (r.differs) out.push(`  serin-differs: ${r.differs}`);
  return out.join("\n");
}
