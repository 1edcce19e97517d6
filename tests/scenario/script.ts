/**
 * The record a scenario script parses into (see README.md for the syntax): header options and a
 * list of timed events, each a socket call, a segment injected towards the endpoint under test
 * (`<`), a segment it must send (`>`), or an injected ICMP error.
 */

/** When an event happens, as written. */
export type TimeSpec =
  /** `0.300`: seconds since the script started (stored in ms). */
  | { kind: "abs"; ms: number }
  /** `+0.1`: after the previous event. */
  | { kind: "rel"; ms: number }
  /** `*`: whenever (an expected segment: any time after the previous event). */
  | { kind: "any" };

/** One TCP option as written; a `undefined` number (written `*`) matches any value. */
export type OptSpec =
  | { kind: "nop" }
  | { kind: "eol" }
  | { kind: "mss"; value?: number }
  | { kind: "wscale"; value?: number }
  | { kind: "sackOK" }
  | { kind: "sack"; blocks: Array<[number, number]> }
  | { kind: "TS"; val?: number; ecr?: number }
  | { kind: "unknown"; code: number; data: Uint8Array };

/** A segment line: `< S 0:0(0) win 32792 <mss 1000,nop,wscale 7>`. */
export interface SegSpec {
  /** `<` injected towards the endpoint, `>` expected from it. */
  dir: "<" | ">";
  /** TCP flag bits (wire values: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128). */
  flags: number;
  /** Relative start sequence number, and payload length (`start:end(len)`). */
  seq: number;
  len: number;
  /** Acknowledgment number (relative); undefined when not written. */
  ack?: number;
  /** Raw window field; undefined when not written (injected: 65535). */
  win?: number;
  /** Urgent pointer; undefined when not written. */
  urg?: number;
  /** Options; `"any"` for `<...>`, undefined when not written (`>`: not checked). */
  options?: OptSpec[] | "any";
}

/** An injected ICMP error quoting a segment the endpoint sent: RFC 1191, RFC 4443, RFC 5927. */
export interface IcmpSpec {
  dir: "<";
  /** `unreachable` (IPv4 type 3, IPv6 type 1), `ptb` (IPv6 packet too big), `time_exceeded`. */
  icmp: "unreachable" | "ptb" | "time_exceeded";
  /** Code name, e.g. `frag_needed`, `port`, `host`, `net`, `admin`; or a number. */
  code: number;
  /** Next-hop MTU (frag_needed, ptb). */
  mtu?: number;
  /** The quoted segment: the endpoint's, so seq is relative to its ISN. */
  quote: { seq: number; len: number; flags: number; ack?: number };
}

/** A syscall argument as written. */
export type Arg =
  | { t: "num"; v: number }
  | { t: "sym"; v: string }
  | { t: "str"; v: string }
  | { t: "any" }
  | { t: "list"; items: Arg[] }
  | { t: "struct"; fields: Record<string, Arg> }
  | { t: "or"; parts: Arg[] };

/** A syscall line: `accept(3, ..., ...) = 4` or `connect(...) = -1 EINPROGRESS`. */
export interface CallSpec {
  name: string;
  args: Arg[];
  /** Expected return value. */
  ret: number;
  /** Expected errno name when `ret` is -1. */
  errno?: string;
  /** `T1...T2`: the call may block; it must return at T2 (same forms as the start time). */
  end?: TimeSpec;
}

/** What a line does. */
export type Action =
  | ({ type: "packet" } & SegSpec)
  | ({ type: "icmp" } & IcmpSpec)
  | ({ type: "call" } & CallSpec);

/** One timed line of a script. */
export interface ScriptEvent {
  /** 1-based line number in the file. */
  line: number;
  /** The line as written (without its comment). */
  text: string;
  time: TimeSpec;
  action: Action;
  /** `# serin-differs: why` on (or just before) this line. */
  serinDiffers?: string;
}

/** Header options (`--name=value` lines before the first event). */
export interface ScriptOptions {
  /** Address family of the connection. Default ipv4. */
  ip: "ipv4" | "ipv6";
  /** MTU of the endpoint's interface. Default 1500. */
  mtu: number;
  /** Timing tolerance for expected segments and calls, ms. Default 25 (Linux adds more). */
  toleranceMs: number;
  /** Linux sysctls (net.ipv4.*) this script needs besides the runner's defaults. */
  sysctls: Record<string, string>;
}

/** A parsed script. */
export interface Script {
  /** File name, for reports. */
  name: string;
  options: ScriptOptions;
  events: ScriptEvent[];
  /** `# serin-differs: why` before the first event: the whole script may differ on Serin. */
  serinDiffers?: string;
}

/** A syntax error, with the line it is on. */
export class ScriptError extends Error {
  override name = "ScriptError";
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
  }
}

/** The flag letters of a segment line, in the order packetdrill prints them. */
export const FLAG_LETTERS: ReadonlyArray<[string, number]> = [
  ["F", 0x01],
  ["S", 0x02],
  ["R", 0x04],
  ["P", 0x08],
  ["U", 0x20],
  ["E", 0x40],
  ["W", 0x80],
  [".", 0x10],
];
