/**
 * The scenario script parser: text in, {@link Script} out, or a {@link ScriptError} naming the
 * line. Pure; the syntax is packetdrill's (README.md lists what is supported).
 */
import {
  type Action,
  type Arg,
  type CallSpec,
  FLAG_LETTERS,
  type IcmpSpec,
  type OptSpec,
  type Script,
  ScriptError,
  type ScriptEvent,
  type ScriptOptions,
  type SegSpec,
  type TimeSpec,
} from "./script.ts";

/** The socket calls the runner knows; anything else is a parse error. */
export const KNOWN_CALLS: ReadonlySet<string> = new Set([
  "socket",
  "bind",
  "listen",
  "accept",
  "connect",
  "setsockopt",
  "getsockopt",
  "fcntl",
  "write",
  "send",
  "read",
  "recv",
  "shutdown",
  "close",
  "poll",
]);

const MARKER = /(?:#|\/\/)\s*serin-differs:\s*(.*)$/;

/** Parse a whole script; `name` is used in error messages and reports. */
export function parseScript(text: string, name = "script"): Script {
  const options: ScriptOptions = { ip: "ipv4", mtu: 1500, toleranceMs: 25, sysctls: {} };
  const events: ScriptEvent[] = [];
  let scriptDiffers: string | undefined;
  let pendingDiffers: string | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    const marker = MARKER.exec(raw)?.[1]?.trim();
    const body = stripComment(raw).trim();
    const err = (msg: string) => new ScriptError(name, lineNo, msg);
    if (body === "") {
      if (marker !== undefined) {
        if (!marker) throw err("serin-differs needs a reason");
        if (events.length === 0) scriptDiffers = marker;
        else pendingDiffers = marker;
      }
      continue;
    }
    if (body.startsWith("--")) {
      if (events.length > 0) throw err("options go before the first event");
      parseOption(body, options, err);
      continue;
    }
    if (marker === "") throw err("serin-differs needs a reason");
    const m = /^(\S+)\s+(.*)$/.exec(body);
    if (!m) throw err(`expected "<time> <event>", got "${body}"`);
    const [start, end] = splitTime(m[1], err);
    const action = parseAction(m[2].trim(), err);
    if (end !== undefined) {
      if (action.type !== "call") throw err("only a call may have an end time (T1...T2)");
      action.end = end;
    }
    events.push({
      line: lineNo,
      text: body,
      time: start,
      action,
      serinDiffers: marker ?? pendingDiffers,
    });
    pendingDiffers = undefined;
  }
  if (events.length === 0) throw new ScriptError(name, lines.length, "no events");
  return { name, options, events, serinDiffers: scriptDiffers };
}

function stripComment(line: string): string {
  const hash = line.indexOf("#");
  const slashes = line.indexOf("//");
  const cut = [hash, slashes].filter((x) => x >= 0);
  return cut.length ? line.slice(0, Math.min(...cut)) : line;
}

type Err = (msg: string) => ScriptError;

function parseOption(body: string, o: ScriptOptions, err: Err): void {
  const m = /^--([a-z_-]+)=(\S+)$/.exec(body);
  if (!m) throw err(`bad option "${body}" (expected --name=value)`);
  const [, key, value] = m;
  switch (key) {
    case "ip":
      if (value !== "ipv4" && value !== "ipv6") throw err(`--ip must be ipv4 or ipv6`);
      o.ip = value;
      return;
    case "mtu":
      o.mtu = intIn(value, 576, 9000, "--mtu", err);
      return;
    case "tolerance":
      o.toleranceMs = intIn(value, 1, 5000, "--tolerance (ms)", err);
      return;
    case "sysctl": {
      const kv = /^([a-z0-9_.]+)=(\S+)$/.exec(value);
      if (!kv) throw err("--sysctl=NAME=VALUE");
      o.sysctls[kv[1]] = kv[2];
      return;
    }
    default:
      throw err(`unknown option --${key} (known: --ip, --mtu, --tolerance, --sysctl)`);
  }
}

function intIn(v: string, lo: number, hi: number, what: string, err: Err): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw err(`${what} must be ${lo}..${hi}`);
  return n;
}

/** `0`, `+0.1`, `*`, `0.1...0.3`, `+0...+0.2`: the start time and an optional end time. */
function splitTime(tok: string, err: Err): [TimeSpec, TimeSpec?] {
  const dots = tok.indexOf("...");
  if (dots < 0) return [parseTime(tok, err)];
  return [parseTime(tok.slice(0, dots), err), parseTime(tok.slice(dots + 3), err)];
}

function parseTime(tok: string, err: Err): TimeSpec {
  if (tok === "*") return { kind: "any" };
  const m = /^(\+?)(\d*\.?\d+)$/.exec(tok);
  if (!m) throw err(`bad time "${tok}"`);
  const ms = Math.round(Number(m[2]) * 1e6) / 1e3;
  return m[1] ? { kind: "rel", ms } : { kind: "abs", ms };
}

function parseAction(s: string, err: Err): Action {
  if (s.startsWith("<") || s.startsWith(">")) {
    const dir = s[0] as "<" | ">";
    const rest = s.slice(1).trim();
    if (rest.startsWith("icmp")) {
      if (dir !== "<") throw err("ICMP can only be injected (<)");
      return { type: "icmp", ...parseIcmp(rest.slice(4).trim(), err) };
    }
    return { type: "packet", ...parseSegment(dir, rest, err) };
  }
  return { type: "call", ...parseCall(s, err) };
}

/** Flag letters (`S.`, `P.`, `R`, `F.`, `.`) to wire bits. */
export function parseFlags(tok: string, err: Err): number {
  let f = 0;
  for (const ch of tok) {
    const e = FLAG_LETTERS.find(([l]) => l === ch);
    if (!e) throw err(`unknown flag "${ch}" in "${tok}" (flags: F S R P . U E W)`);
    f |= e[1];
  }
  return f;
}

function parseSeq(tok: string, err: Err): { seq: number; len: number } {
  const m = /^(\d+):(\d+)\((\d+)\)$/.exec(tok);
  if (!m) throw err(`bad sequence "${tok}" (expected start:end(len))`);
  const [seq, end, len] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (end - seq !== len) throw err(`sequence ${tok}: end - start is not len`);
  return { seq, len };
}

function parseSegment(dir: "<" | ">", s: string, err: Err): SegSpec {
  let optText: string | undefined;
  const lt = s.indexOf("<");
  if (lt >= 0) {
    if (!s.endsWith(">")) throw err("options must end the line with >");
    optText = s.slice(lt + 1, -1).trim();
    s = s.slice(0, lt).trim();
  }
  const toks = s.split(/\s+/);
  if (toks.length < 2) throw err("a segment needs flags and start:end(len)");
  const seg: SegSpec = { dir, flags: parseFlags(toks[0], err), ...parseSeq(toks[1], err) };
  for (let i = 2; i < toks.length; i += 2) {
    const key = toks[i];
    const n = Number(toks[i + 1]);
    if (toks[i + 1] === undefined || !Number.isInteger(n) || n < 0) {
      throw err(`"${key}" needs a number`);
    }
    if (key === "ack") seg.ack = n;
    else if (key === "win") seg.win = n;
    else if (key === "urg") seg.urg = n;
    else throw err(`unknown segment field "${key}" (known: ack, win, urg, <options>)`);
  }
  if (optText !== undefined) seg.options = optText === "..." ? "any" : parseOptions(optText, err);
  return seg;
}

/** The inside of `<mss 1000,sackOK,TS val 100 ecr 0,nop,wscale 7>`. */
export function parseOptions(text: string, err: Err): OptSpec[] {
  if (text === "") return [];
  return text.split(",").map((part) => {
    const w = part.trim().split(/\s+/);
    const num = (tok: string | undefined, what: string): number | undefined => {
      if (tok === "*") return undefined;
      const n = Number(tok);
      if (tok === undefined || !Number.isInteger(n) || n < 0) throw err(`${what} needs a number`);
      return n;
    };
    switch (w[0]) {
      case "nop":
        return { kind: "nop" };
      case "eol":
        return { kind: "eol" };
      case "sackOK":
        return { kind: "sackOK" };
      case "mss":
        return { kind: "mss", value: num(w[1], "mss") };
      case "wscale":
        return { kind: "wscale", value: num(w[1], "wscale") };
      case "TS":
        if (w[1] !== "val" || w[3] !== "ecr") throw err(`TS option: "TS val N ecr N"`);
        return { kind: "TS", val: num(w[2], "TS val"), ecr: num(w[4], "TS ecr") };
      case "sack":
        return {
          kind: "sack",
          blocks: w.slice(1).map((b) => {
            const m = /^(\d+):(\d+)$/.exec(b);
            if (!m) throw err(`bad SACK block "${b}" (start:end)`);
            return [Number(m[1]), Number(m[2])] as [number, number];
          }),
        };
      default:
        throw err(`unknown option "${part.trim()}" (nop eol mss wscale sackOK sack TS)`);
    }
  });
}

const ICMP_CODES: Record<string, number> = {
  net: 0,
  host: 1,
  protocol: 2,
  port: 3,
  frag_needed: 4,
  admin: 13,
  no_route: 0,
  addr: 3,
  port6: 4,
};

/** `unreachable frag_needed mtu 576 [1:1461(1460)]` (after "icmp"). */
function parseIcmp(s: string, err: Err): IcmpSpec {
  const m = /^(\S+)\s+(\S+)(?:\s+mtu\s+(\d+))?\s+\[(.*)\]$/.exec(s);
  if (!m) throw err(`ICMP: "icmp TYPE CODE [mtu N] [FLAGS start:end(len) [ack N]]"`);
  const [, type, codeTok, mtu, quote] = m;
  if (type !== "unreachable" && type !== "ptb" && type !== "time_exceeded") {
    throw err(`ICMP type "${type}" (known: unreachable, ptb, time_exceeded)`);
  }
  const code = /^\d+$/.test(codeTok) ? Number(codeTok) : ICMP_CODES[codeTok];
  if (code === undefined) throw err(`ICMP code "${codeTok}"`);
  const qt = quote.trim().split(/\s+/);
  let flags = 0x10;
  if (qt.length && !/^\d/.test(qt[0])) flags = parseFlags(qt.shift()!, err);
  const q = parseSeq(qt[0] ?? "", err);
  const ack = qt[1] === "ack" ? Number(qt[2]) : undefined;
  return {
    dir: "<",
    icmp: type,
    code,
    mtu: mtu === undefined ? undefined : Number(mtu),
    quote: { ...q, flags, ack },
  };
}

function parseCall(s: string, err: Err): CallSpec {
  const m = /^([a-z_0-9]+)\s*\((.*)\)\s*=\s*(-?\d+)(?:\s+([A-Z][A-Z0-9]*))?(?:\s*\(.*\))?$/.exec(s);
  if (!m) throw err(`expected a call "name(args) = ret [ERRNO (text)]" or a segment, got "${s}"`);
  const [, name, argText, ret, errno] = m;
  if (!KNOWN_CALLS.has(name)) {
    throw err(`unknown call "${name}" (known: ${[...KNOWN_CALLS].join(", ")})`);
  }
  if (Number(ret) === -1 && !errno) throw err("= -1 needs an errno name (e.g. ECONNRESET)");
  if (errno && Number(ret) !== -1) throw err("an errno goes with = -1");
  return { name, args: parseArgs(argText, err), ret: Number(ret), errno };
}

/** Syscall arguments: numbers, SYMBOLS, `...`, `[1]`, `{fd=4, events=POLLIN}`, `A|B`, "str". */
export function parseArgs(text: string, err: Err): Arg[] {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const expect = (what: string) => {
    ws();
    if (text[i] !== what) throw err(`expected "${what}" in arguments at "${text.slice(i)}"`);
    i++;
  };
  const word = (): string => {
    ws();
    const m = /^(-?(?:0x[0-9a-fA-F]+|\d+)|[A-Za-z_][A-Za-z_0-9]*)/.exec(text.slice(i));
    if (!m) throw err(`bad argument at "${text.slice(i)}"`);
    i += m[0].length;
    return m[0];
  };
  const one = (): Arg => {
    const parts = [atom()];
    ws();
    while (text[i] === "|") {
      i++;
      parts.push(atom());
      ws();
    }
    return parts.length === 1 ? parts[0] : { t: "or", parts };
  };
  /** Comma-separated items up to `close` (undefined: the end of the text). */
  const items = (close?: string, item = one): Arg[] => {
    const out: Arg[] = [];
    ws();
    if (close ? text[i] === close : i >= text.length) return i++, out;
    for (;;) {
      out.push(item());
      ws();
      if (text[i] === ",") i++;
      else if (close ? text[i] === close : i >= text.length) return i++, out;
      else throw err(`expected "," or "${close ?? "end"}" in arguments at "${text.slice(i)}"`);
    }
  };
  const atom = (): Arg => {
    ws();
    if (text.startsWith("...", i)) return i += 3, { t: "any" };
    const c = text[i];
    if (c === "[") return i++, { t: "list", items: items("]") };
    if (c === "{") {
      i++;
      const fields: Record<string, Arg> = {};
      items("}", () => {
        const name = word();
        expect("=");
        fields[name] = one();
        return { t: "any" };
      });
      return { t: "struct", fields };
    }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw err("unterminated string");
      const v = text.slice(i + 1, end);
      i = end + 1;
      return { t: "str", v };
    }
    const w = word();
    return /^-?\d/.test(w) ? { t: "num", v: Number(w) } : { t: "sym", v: w };
  };
  return items();
}
