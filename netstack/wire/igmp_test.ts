import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv4 } from "./addr.ts";
import { WireError } from "./errors.ts";
import {
  emitIgmp,
  encodeIgmp,
  IGMP_ALL_SYSTEMS,
  IGMP_LEN,
  igmpLength,
  igmpMaxResponseMs,
  IgmpPacket,
  type IgmpRepr,
  IgmpType,
  parseIgmp,
} from "./igmp.ts";
import { IPV4_OPTION_ROUTER_ALERT, parseIpv4 } from "./ipv4.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

// IGMP messages (IPv4 payloads) laid out as Linux sends them, checksums computed by scapy 2.5.0.
const REPORT_V2 = hex("16000904e00000fb"); // join 224.0.0.251
const LEAVE = hex("17000804e00000fb"); // leave 224.0.0.251
const REPORT_V1 = hex("1200fe04effffffa"); // v1 report 239.255.255.250
const QUERY_V1 = hex("1100eeff00000000"); // v1 general query (Max Resp 0)
const QUERY_V2 = hex("1164ee9b00000000"); // v2 general query, 10 s
const QUERY_GROUP = hex("110a0dfae00000fb"); // v2 group-specific query, 1 s
// v3 query, Max Resp Code 0xff, QRV 2, QQIC 125, one source 10.0.0.1.
const QUERY_V3 = hex("11ffe18100000000027d00010a000001");
// v3 report: one record, CHANGE_TO_EXCLUDE 224.0.0.251.
const REPORT_V3 = hex("2200f9020000000104000000e00000fb");
// A whole IPv4 datagram carrying REPORT_V2: TOS 0xc0, TTL 1, Router Alert (scapy).
const IP_REPORT = hex("46c00020000100000102391b0a000001e00000fb94040000161408f0e00000fb");

const ALL = [REPORT_V2, LEAVE, REPORT_V1, QUERY_V1, QUERY_V2, QUERY_GROUP, QUERY_V3, REPORT_V3];

Deno.test("igmp: parses reports and leaves", () => {
  assert.deepEqual(parseIgmp(REPORT_V2), { kind: "report-v2", group: 0xe00000fb });
  assert.deepEqual(parseIgmp(LEAVE), { kind: "leave", group: 0xe00000fb });
  const v1 = parseIgmp(REPORT_V1);
  assert.ok(v1.kind === "report-v1");
  assert.equal(formatIPv4(v1.group), "239.255.255.250");
});

Deno.test("igmp: parses v1, v2, group-specific and v3 queries", () => {
  const q1 = parseIgmp(QUERY_V1);
  assert.ok(q1.kind === "query");
  assert.equal(q1.group, 0);
  assert.equal(igmpMaxResponseMs(q1), 10_000); // RFC 2236 §4: a v1 query means 10 s
  const q2 = parseIgmp(QUERY_V2);
  assert.ok(q2.kind === "query");
  assert.equal(q2.maxResp, 100);
  assert.equal(q2.v3.length, 0);
  assert.equal(igmpMaxResponseMs(q2), 10_000);
  const qg = parseIgmp(QUERY_GROUP);
  assert.ok(qg.kind === "query");
  assert.equal(formatIPv4(qg.group), "224.0.0.251");
  assert.equal(igmpMaxResponseMs(qg), 1_000);
  const q3 = parseIgmp(QUERY_V3);
  assert.ok(q3.kind === "query");
  assert.equal(toHex(q3.v3), "027d00010a000001");
  // RFC 3376 §4.1.1: code 0xff = mant 15, exp 7 -> (0x1f << 10) tenths = 3174.4 s.
  assert.equal(igmpMaxResponseMs(q3), 31_744 * 100);
  assert.equal(igmpMaxResponseMs({ maxResp: 0x80, v3: q3.v3 }), 128 * 100);
  assert.equal(igmpMaxResponseMs({ maxResp: 0x7f, v3: q3.v3 }), 127 * 100);
});

Deno.test("igmp: v3 reports stay numbers with their bytes", () => {
  const r = parseIgmp(REPORT_V3);
  assert.ok(r.kind === "other");
  assert.equal(r.type, IgmpType.REPORT_V3);
  assert.equal(r.rest.length, REPORT_V3.length - 4);
});

Deno.test("igmp: parse→emit round trips are byte-identical", () => {
  for (const m of ALL) {
    const r = parseIgmp(m);
    assert.equal(igmpLength(r), m.length);
    assert.equal(toHex(encodeIgmp(r)), toHex(m));
  }
});

Deno.test("igmp: emit writes every byte (0xa5 canary) and nothing past the message", () => {
  for (const m of ALL) {
    const buf = new Uint8Array(m.length + 8).fill(0xa5);
    assert.equal(emitIgmp(parseIgmp(m), buf), m.length);
    assert.equal(toHex(buf.subarray(0, m.length)), toHex(m));
    assert.ok(buf.subarray(m.length).every((b) => b === 0xa5));
  }
  assert.throws(() => emitIgmp(parseIgmp(REPORT_V2), new Uint8Array(7)), RangeError);
});

Deno.test("igmp: a report with a stray Max Resp Time parses; emit sends it as 0", () => {
  // scapy's default report (inside IP_REPORT) carries Max Resp 20; receivers ignore it.
  const ip = parseIpv4(IP_REPORT);
  assert.equal(toHex(ip.options), toHex(IPV4_OPTION_ROUTER_ALERT));
  const r: IgmpRepr = parseIgmp(ip.payload);
  assert.deepEqual(r, { kind: "report-v2", group: 0xe00000fb });
  assert.equal(toHex(encodeIgmp(r)), toHex(REPORT_V2));
});

Deno.test("igmp: truncated, bad checksums and 9–11-byte queries are refused", () => {
  expectWire(() => parseIgmp(REPORT_V2.subarray(0, 7)), "truncated");
  expectWire(() => new IgmpPacket(new Uint8Array(3)), "truncated");
  const bad = REPORT_V2.slice();
  bad[7] ^= 1;
  expectWire(() => parseIgmp(bad), "bad-checksum");
  assert.ok(!new IgmpPacket(bad).verifyChecksum());
  for (const extra of [1, 2, 3]) {
    const q = new Uint8Array(IGMP_LEN + extra);
    q.set(QUERY_V2);
    IgmpPacket.unchecked(q).fillChecksum();
    expectWire(() => parseIgmp(q), "bad-length");
  }
});

Deno.test("igmp: the checked view reads fields; the unchecked one builds a report", () => {
  const v = new IgmpPacket(QUERY_GROUP);
  assert.equal(v.type, IgmpType.MEMBERSHIP_QUERY);
  assert.equal(v.maxResp, 10);
  assert.equal(v.group, 0xe00000fb);
  assert.equal(v.checksum, 0x0dfa);
  assert.ok(v.verifyChecksum());
  const buf = new Uint8Array(8).fill(0xa5);
  const out = IgmpPacket.unchecked(buf);
  out.type = IgmpType.REPORT_V2;
  out.maxResp = 0;
  out.group = 0xe00000fb;
  out.fillChecksum();
  assert.equal(toHex(buf), toHex(REPORT_V2));
  assert.equal(IGMP_ALL_SYSTEMS, 0xe0000001);
});

Deno.test("igmp: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0x16);
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = new Uint8Array(rng.nextInt(24));
      for (let j = 0; j < input.length; j++) input[j] = rng.nextInt(256);
      if (input.length > 0) input[0] = [0x11, 0x12, 0x16, 0x17, 0x22][rng.nextInt(5)];
    } else {
      const seed = ALL[rng.nextInt(ALL.length)];
      input = seed.slice(0, rng.chance(0.5) ? seed.length : rng.nextInt(seed.length + 1));
      for (let k = rng.nextInt(3); k > 0 && input.length > 0; k--) {
        input[rng.nextInt(input.length)] = rng.nextInt(256);
      }
    }
    if (input.length >= 4 && rng.chance(0.7)) IgmpPacket.unchecked(input).fillChecksum();
    try {
      const r = parseIgmp(input);
      parsed++;
      assert.equal(parseIgmp(encodeIgmp(r)).kind, r.kind);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 10_000, `${parsed} inputs parsed`);
});
