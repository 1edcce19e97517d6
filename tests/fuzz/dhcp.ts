/**
 * The DHCP fuzzer: dnsmasq's captured messages (tests/fixtures/dhcp_dnsmasq.pcap) mutated where
 * DHCP parsers break (option lengths, END, overload into file/sname, repeated options, truncation,
 * random bytes) and fed to {@link parseDhcp} and to a {@link DhcpClient} in every state. What must
 * hold: the parser throws nothing but WireError; what parses re-emits to the same record; the
 * client never throws, and a lease it binds is one a host can use (a host address, a prefix of
 * 1–31 bits, 0 < T1 < T2 < lease).
 *
 * `deno run -A tests/fuzz/dhcp.ts --seconds N [--seed S]` explores; a failing input is saved to
 * tests/fuzz/regressions/dhcp-SEED-N.json, which tests/fuzz/dhcp_test.ts replays first.
 */
import { isDeepStrictEqual } from "node:util";
import { readPcap } from "../../netstack/wire/pcap.ts";
import { parseEthernet } from "../../netstack/wire/ethernet.ts";
import { parseIpv4 } from "../../netstack/wire/ipv4.ts";
import { parseUdp } from "../../netstack/wire/udp.ts";
import { WireError } from "../../netstack/wire/errors.ts";
import { type DhcpAction, DhcpClient } from "../../tools/dhcp/client.ts";
import {
  DHCP_FIXED_LEN,
  DhcpField,
  DhcpMessageType,
  encodeDhcp,
  parseDhcp,
} from "../../tools/dhcp/message.ts";
import { Rng } from "./rng.ts";

/** A saved failing input. */
export interface DhcpRegression {
  kind: "dhcp";
  seed: number;
  mutator: string;
  hex: string;
  message: string;
}

/** What a run found. */
export interface DhcpFuzzResult {
  executions: number;
  seconds: number;
  /** Parse error reasons and client counters seen, to show the mutators reach them. */
  reasons: Set<string>;
  failures: DhcpRegression[];
}

const MAC = Uint8Array.of(2, 0, 0, 0, 0xe8, 2);

/** The UDP payloads of the dnsmasq fixture. */
export function dhcpSeeds(): Uint8Array[] {
  const url = new URL("../fixtures/dhcp_dnsmasq.pcap", import.meta.url);
  return readPcap(Deno.readFileSync(url)).records.map((r) =>
    parseUdp(parseIpv4(parseEthernet(r.data).payload).payload).payload.slice()
  );
}

/** Offsets of the options in `b` (code bytes), walking as a lenient parser would. */
function optionOffsets(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = DhcpField.OPTIONS; i < b.length;) {
    if (b[i] === 0) {
      i++;
      continue;
    }
    if (b[i] === 255) break;
    out.push(i);
    i += 2 + (b[i + 1] ?? 0);
  }
  return out;
}

const MUTATORS = [
  "flip",
  "length",
  "no-end",
  "truncate",
  "insert",
  "repeat",
  "overload",
  "random-options",
  "fields",
] as const;

/** One mutation of `seed`. */
export function mutateDhcp(rng: Rng, seed: Uint8Array): { bytes: Uint8Array; mutator: string } {
  let b = seed.slice();
  const mutator = rng.pick(MUTATORS);
  const opts = optionOffsets(b);
  const anyOpt = () => opts.length ? rng.pick(opts) : DhcpField.OPTIONS;
  switch (mutator) {
    case "flip":
      for (let n = rng.range(1, 4); n > 0; n--) b[rng.int(b.length)] ^= 1 << rng.int(8);
      break;
    case "length": {
      const i = anyOpt();
      b[i + 1] = rng.pick([0, 1, 2, 3, 5, 255, rng.int(256), b[i + 1] + 1, b[i + 1] - 1]) & 255;
      break;
    }
    case "no-end":
      b = b.subarray(0, b.lastIndexOf(255) >= DHCP_FIXED_LEN ? b.lastIndexOf(255) : b.length);
      break;
    case "truncate":
      b = b.subarray(0, rng.int(b.length));
      break;
    case "insert": {
      const at = anyOpt();
      const code = rng.pick([1, 3, 6, 15, 26, 51, 52, 53, 54, 58, 59, 61, rng.int(256)]);
      const len = rng.pick([0, 1, 2, 4, 8, rng.int(256)]);
      const ins = Uint8Array.of(code, len, ...rng.bytes(Math.min(len, rng.int(len + 2))));
      const out = new Uint8Array(b.length + ins.length);
      out.set(b.subarray(0, at));
      out.set(ins, at);
      out.set(b.subarray(at), at + ins.length);
      b = out;
      break;
    }
    case "repeat": {
      const i = anyOpt();
      const opt = b.slice(i, i + 2 + (b[i + 1] ?? 0));
      const out = new Uint8Array(b.length + opt.length);
      out.set(b.subarray(0, i));
      out.set(opt, i);
      out.set(b.subarray(i), i + opt.length);
      b = out;
      break;
    }
    case "overload": {
      const at = anyOpt();
      const out = new Uint8Array(b.length + 3);
      out.set(b.subarray(0, at));
      out.set([52, 1, rng.range(0, 4)], at);
      out.set(b.subarray(at), at + 3);
      b = out;
      const field = rng.chance(0.5) ? DhcpField.FILE : DhcpField.SNAME;
      const n = rng.int(40);
      b.set(rng.bytes(n), field);
      if (rng.chance(0.7)) b[field + n] = 255;
      break;
    }
    case "random-options": {
      const n = rng.int(64);
      const out = new Uint8Array(DHCP_FIXED_LEN + n);
      out.set(b.subarray(0, DHCP_FIXED_LEN));
      out.set(rng.bytes(n), DHCP_FIXED_LEN);
      b = out;
      break;
    }
    case "fields": {
      const f = rng.pick([DhcpField.OP, DhcpField.HTYPE, DhcpField.HLEN, DhcpField.COOKIE]);
      b[f] = rng.int(256);
      break;
    }
  }
  return { bytes: b, mutator };
}

/** A client brought into `state` by the fixture's exchange (xid forced to the fixture's). */
function clientIn(state: number, seeds: Uint8Array[], rng: Rng): DhcpClient {
  const c = new DhcpClient({ mac: MAC, random: () => rng.u32() / 0x100000000, arpProbe: false });
  c.start(0);
  const offer = parseDhcp(seeds[1]);
  const ack = parseDhcp(seeds[3]);
  // The fixture's replies, re-addressed to this client's exchange.
  if (state >= 1) c.receive(encodeDhcp({ ...offer, xid: c.xid }), 10);
  if (state >= 2) c.receive(encodeDhcp({ ...ack, xid: c.xid }), 20);
  if (state >= 3) c.tick(20 + 61_000); // RENEWING
  return c;
}

/** Check one input; a problem's description, or undefined. */
export function checkDhcp(bytes: Uint8Array, seeds: Uint8Array[], rng: Rng, reasons: Set<string>) {
  let parsed;
  try {
    parsed = parseDhcp(bytes);
  } catch (err) {
    if (!(err instanceof WireError)) return `parseDhcp threw ${err}`;
    reasons.add(`parse: ${err.reason}`);
  }
  if (parsed) {
    let again;
    try {
      again = parseDhcp(encodeDhcp(parsed));
    } catch (err) {
      return `re-emitted message does not parse: ${err}`;
    }
    if (!isDeepStrictEqual({ ...again, hops: parsed.hops }, parsed)) {
      return "re-emitted message parses differently";
    }
  }
  for (let state = 0; state <= 3; state++) {
    const c = clientIn(state, seeds, rng);
    let actions: DhcpAction[];
    const m = parsed && (parsed.messageType === DhcpMessageType.OFFER ||
        parsed.messageType === DhcpMessageType.ACK || parsed.messageType === DhcpMessageType.NAK)
      ? encodeDhcp({ ...parsed, xid: c.xid })
      : bytes;
    try {
      actions = c.receive(m, 30_000);
      actions.push(...c.tick(10_000_000));
    } catch (err) {
      return `DhcpClient in state ${state} threw ${err}`;
    }
    for (const k of c.counters.keys()) reasons.add(`client: ${k}`);
    for (const a of actions) {
      if (a.kind !== "bind") continue;
      const l = a.lease;
      const top = l.addr >>> 24;
      if (top === 0 || top === 127 || top >= 224) return `bound to ${l.addr.toString(16)}`;
      if (!(l.prefixLen >= 1 && l.prefixLen <= 31)) return `bound with /${l.prefixLen}`;
      if (
        l.leaseSecs !== Infinity && !(0 < l.t1Secs && l.t1Secs < l.t2Secs && l.t2Secs < l.leaseSecs)
      ) {
        return `bound with T1 ${l.t1Secs}, T2 ${l.t2Secs}, lease ${l.leaseSecs}`;
      }
    }
  }
  return undefined;
}

/** Fuzz for `seconds` (or `maxExecutions`) from `seed`. */
export function runDhcpFuzz(
  opts: { seconds: number; seed: number; maxExecutions?: number },
): DhcpFuzzResult {
  const seeds = dhcpSeeds();
  const rng = new Rng(opts.seed);
  const reasons = new Set<string>();
  const failures: DhcpRegression[] = [];
  const t0 = performance.now();
  let executions = 0;
  while (
    performance.now() - t0 < opts.seconds * 1000 &&
    executions < (opts.maxExecutions ?? Infinity)
  ) {
    const { bytes, mutator } = mutateDhcp(rng, rng.pick(seeds));
    executions++;
    const problem = checkDhcp(bytes, seeds, rng, reasons);
    if (problem) {
      failures.push({
        kind: "dhcp",
        seed: opts.seed,
        mutator,
        hex: Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join(""),
        message: problem,
      });
      if (failures.length >= 5) break;
    }
  }
  return { executions, seconds: (performance.now() - t0) / 1000, reasons, failures };
}

if (import.meta.main) {
  const arg = (name: string, dflt: number) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
  };
  const seed = arg("--seed", Date.now() % 1_000_000);
  const r = runDhcpFuzz({ seconds: arg("--seconds", 30), seed });
  console.log(`dhcp fuzz seed ${seed}: ${r.executions} executions in ${r.seconds.toFixed(1)} s`);
  r.failures.forEach((f, i) => {
    const url = new URL(`./regressions/dhcp-${seed}-${i + 1}.json`, import.meta.url);
    Deno.writeTextFileSync(url, JSON.stringify(f, null, 2) + "\n");
    console.log(`${f.mutator}: ${f.message}\n  saved ${url.pathname}`);
  });
  Deno.exit(r.failures.length ? 1 : 0);
}
