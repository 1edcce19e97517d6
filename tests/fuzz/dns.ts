/**
 * The DNS fuzzer: dnsmasq's captured answers and queries (tests/fixtures/dns/) mutated (bit
 * flips, truncation, count lies, label-length lies, compression pointers anywhere, splices,
 * random bytes) and fed to the three readers of DNS bytes: the parser (netstack/wire/dns.ts),
 * the resolver's answer check (libc/dns/answer.ts) and dnsd's server (tools/_dns_zone.ts).
 * Failures: any exception but a WireError from the parser, any exception at all from the other
 * two, a parsed message that does not survive emit → parse unchanged, a dnsd reply that does not
 * parse or is past 512 bytes over UDP.
 */
import assert from "node:assert/strict";
import { DnsType, emitDns, parseDns } from "../../netstack/wire/dns.ts";
import { WireError } from "../../netstack/wire/errors.ts";
import { judge } from "../../libc/dns/answer.ts";
import { serveQuery, type Zone } from "../../tools/_dns_zone.ts";
import { Rng } from "./rng.ts";

/** Options for {@link runDnsFuzz}. */
export interface DnsFuzzOptions {
  seconds: number;
  seed?: number;
  maxExecutions?: number;
}

/** What a run found. */
export interface DnsFuzzResult {
  executions: number;
  seconds: number;
  /** How many inputs parsed (the rest were refused with a WireError). */
  parsed: number;
  /** Distinct WireError reasons seen. */
  reasons: string[];
  failures: Array<{ input: string; message: string }>;
}

const DIR = new URL("../fixtures/dns/", import.meta.url);

/** The captured messages, queries and answers. */
export function dnsSeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const e of Deno.readDirSync(DIR)) {
    if (e.name.endsWith(".bin")) out.push(Deno.readFileSync(new URL(e.name, DIR)));
  }
  return out.sort((a, b) => a.length - b.length || a[0] - b[0]);
}

const ZONE: Zone = {
  origin: "lab",
  server: "ns",
  hosts: new Map([["alpha", ["10.53.0.1"]], ["beta", ["10.53.0.2", "fd53::2"]]]),
};
const SERVER = { family: 2 as const, addr: "10.53.0.53", port: 53 };

type Mutator = (b: Uint8Array, rng: Rng, seeds: Uint8Array[]) => Uint8Array;

const MUTATORS: Record<string, Mutator> = {
  flip(b, rng) {
    const c = b.slice();
    for (let i = rng.range(1, 4); i > 0 && c.length; i--) c[rng.int(c.length)] ^= 1 << rng.int(8);
    return c;
  },
  byte(b, rng) {
    const c = b.slice();
    if (c.length) {
      c[rng.int(c.length)] = rng.pick([0, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xff, rng.int(256)]);
    }
    return c;
  },
  truncate: (b, rng) => b.slice(0, rng.int(b.length + 1)),
  extend(b, rng) {
    const c = new Uint8Array(b.length + rng.range(1, 64));
    c.set(b);
    c.set(rng.bytes(c.length - b.length), b.length);
    return c;
  },
  counts(b, rng) {
    const c = b.slice();
    if (c.length >= 12) {
      const at = 4 + 2 * rng.int(4);
      const v = rng.pick([0, 1, 2, 255, 0xffff, rng.int(0x10000)]);
      c[at] = v >> 8;
      c[at + 1] = v & 255;
    }
    return c;
  },
  pointer(b, rng) {
    // A compression pointer anywhere, to anywhere (itself, forward, past the end).
    const c = b.slice();
    if (c.length >= 14) {
      const at = rng.range(12, c.length - 2);
      const to = rng.pick([at, at + 2, rng.int(c.length), rng.int(0x4000), 12]);
      c[at] = 0xc0 | ((to >> 8) & 0x3f);
      c[at + 1] = to & 255;
    }
    return c;
  },
  label(b, rng) {
    const c = b.slice();
    if (c.length > 12) c[12 + rng.int(Math.min(c.length - 12, 40))] = rng.range(0, 255);
    return c;
  },
  rdlength(b, rng) {
    // RDLENGTH sits 8 bytes after a type: lie in a random plausible spot.
    const c = b.slice();
    if (c.length > 20) {
      const at = rng.range(20, c.length - 2);
      const v = rng.pick([0, 3, 4, 5, 15, 16, 17, 0xffff, rng.int(0x10000)]);
      c[at] = v >> 8;
      c[at + 1] = v & 255;
    }
    return c;
  },
  splice(b, rng, seeds) {
    const o = rng.pick(seeds);
    const cut = rng.int(b.length + 1);
    return Uint8Array.from([...b.slice(0, cut), ...o.slice(rng.int(o.length + 1))]);
  },
  random: (_b, rng) => rng.bytes(rng.range(0, 600)),
};

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Check one input; a string names what went wrong. */
export function checkDnsInput(bytes: Uint8Array, reasons?: Set<string>): string | undefined {
  let parsed;
  try {
    parsed = parseDns(bytes);
  } catch (err) {
    if (!(err instanceof WireError)) return `parseDns threw ${(err as Error)?.stack ?? err}`;
    reasons?.add(err.reason);
  }
  if (parsed) {
    try {
      assert.deepEqual(parseDns(emitDns(parsed)), parsed);
    } catch (err) {
      return `emit → parse changed the message: ${(err as Error).message.slice(0, 500)}`;
    }
  }
  try {
    const q = parsed?.questions[0];
    const asked = {
      id: bytes.length >= 2 ? (bytes[0] << 8) | bytes[1] : 0,
      name: q?.name ?? "alpha.lab",
      type: q?.type ?? DnsType.A,
    };
    judge(asked, bytes, SERVER, SERVER);
    judge(asked, bytes, SERVER, undefined, true);
  } catch (err) {
    return `judge threw ${(err as Error)?.stack ?? err}`;
  }
  try {
    const served = serveQuery(ZONE, bytes);
    if (served.reply) {
      if (served.reply.length > 512) return `dnsd sent ${served.reply.length} bytes over UDP`;
      parseDns(served.reply);
    }
  } catch (err) {
    return `dnsd: ${(err as Error)?.stack ?? err}`;
  }
  return undefined;
}

/** Mutate the seeds for `seconds` (or `maxExecutions`) and check every input. */
export function runDnsFuzz(opts: DnsFuzzOptions): DnsFuzzResult {
  const rng = new Rng(opts.seed ?? 1);
  const seeds = dnsSeeds();
  const names = Object.keys(MUTATORS);
  const reasons = new Set<string>();
  const failures: DnsFuzzResult["failures"] = [];
  const t0 = performance.now();
  let executions = 0, parsed = 0;
  while (performance.now() - t0 < opts.seconds * 1000) {
    if (opts.maxExecutions !== undefined && executions >= opts.maxExecutions) break;
    let b = rng.pick(seeds);
    for (let k = rng.range(1, 3); k > 0; k--) b = MUTATORS[rng.pick(names)](b, rng, seeds);
    executions++;
    const before = reasons.size;
    const problem = checkDnsInput(b, reasons);
    if (reasons.size === before && !problem) {
      try {
        parseDns(b);
        parsed++;
      } catch { /* refused */ }
    }
    if (problem) {
      failures.push({ input: hex(b), message: problem });
      if (failures.length >= 5) break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  return { executions, seconds, parsed, reasons: [...reasons].sort(), failures };
}
