import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv6, parseIPv6 } from "./addr.ts";
import { WireError } from "./errors.ts";
import { type Ipv6AddressPair, parseIpv6 } from "./ipv6.ts";
import { type Ipv6OptionsHeader, walkIpv6Extensions } from "./ipv6_ext.ts";
import {
  emitMld,
  encodeMld,
  MLD_V1_LEN,
  mldLength,
  mldMaxResponseDelay,
  MldPacket,
  mldQqicSeconds,
  MldRecordType,
  type MldRepr,
  MldType,
  parseMld,
} from "./mld.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

/** The ICMPv6 message behind the Router Alert hop-by-hop header, and the addresses. */
function icmpOf(pkt: Uint8Array): { msg: Uint8Array; ip: Ipv6AddressPair } {
  const ip = parseIpv6(pkt);
  const chain = walkIpv6Extensions(ip.payload, ip.nextHeader);
  assert.equal(chain.upperLayer, 58);
  assert.equal((chain.headers[0] as Ipv6OptionsHeader).options[0].type, 5); // Router Alert
  return { msg: chain.upper, ip };
}

// Hand-built from RFC 3810/2710 layouts, checksums computed independently, hop limit 1.
// fe80::1 -> ff02::16: CHANGE_TO_EXCLUDE ff02::fb; ALLOW_NEW_SOURCES ff05::1:3 from
// 2001:db8::1 and 2001:db8::2 with 4 bytes of aux data.
const MLDV2 = hex(
  "60000000005c0001fe800000000000000000000000000001ff020000000000000000000000000016" +
    "3a000502000001008f0071b60000000204000000ff0200000000000000000000000000fb05010002" +
    "ff05000000000000000000000001000320010db800000000000000000000000120010db800000000" +
    "0000000000000002deadbeef",
);
const REPORT_V1 = hex(
  "6000000000200001fe800000000000000000000000000001ff0200000000000000000000000000fb" +
    "3a0005020000010083007e2f00000000ff0200000000000000000000000000fb",
);
const DONE = hex(
  "6000000000200001fe800000000000000000000000000001ff020000000000000000000000000002" +
    "3a0005020000010084007e2800000000ff0200000000000000000000000000fb",
);
// fe80::2 -> ff02::1: MLDv1 general query, max response delay 10000 ms.
const QUERY_V1 = hex(
  "6000000000200001fe800000000000000000000000000002ff020000000000000000000000000001" +
    "3a00050200000100820059162710000000000000000000000000000000000000",
);
// MLDv2 general query: max response code 10000, QRV 2, QQIC 125, no sources.
const QUERY_V2 = hex(
  "6000000000240001fe800000000000000000000000000002ff020000000000000000000000000001" +
    "3a00050200000100820056952710000000000000000000000000000000000000027d0000",
);
// MLDv2 address-and-source-specific query for ff05::1:3, code 0x8123, S set, QRV 2, QQIC 0x90.
const QUERY_V2S = hex(
  "6000000000340001fe800000000000000000000000000002ff050000000000000000000000010003" +
    "3a000502000001008200c79381230000ff0500000000000000000000000100030a90000120010db8" +
    "000000000000000000000001",
);
const ALL = [MLDV2, REPORT_V1, DONE, QUERY_V1, QUERY_V2, QUERY_V2S];

Deno.test("mld: MLDv2 listener report with address records", () => {
  const { msg, ip } = icmpOf(MLDV2);
  const r = parseMld(msg, ip);
  assert.equal(r.kind, "report-v2");
  if (r.kind !== "report-v2") return;
  assert.equal(r.records.length, 2);
  const [a, b] = r.records;
  assert.equal(a.recordType, MldRecordType.CHANGE_TO_EXCLUDE);
  assert.equal(formatIPv6(a.multicastAddress), "ff02::fb");
  assert.deepEqual(a.sources, []);
  assert.equal(a.auxData.length, 0);
  assert.equal(b.recordType, MldRecordType.ALLOW_NEW_SOURCES);
  assert.equal(formatIPv6(b.multicastAddress), "ff05::1:3");
  assert.deepEqual(b.sources.map(formatIPv6), ["2001:db8::1", "2001:db8::2"]);
  assert.equal(toHex(b.auxData), "deadbeef");
});

Deno.test("mld: MLDv1 report and done", () => {
  const rep = icmpOf(REPORT_V1);
  assert.deepEqual(parseMld(rep.msg, rep.ip), {
    kind: "report-v1",
    multicastAddress: parseIPv6("ff02::fb")!,
  });
  const done = icmpOf(DONE);
  assert.deepEqual(parseMld(done.msg, done.ip), {
    kind: "done",
    multicastAddress: parseIPv6("ff02::fb")!,
  });
});

Deno.test("mld: MLDv1 and MLDv2 queries", () => {
  const q1 = icmpOf(QUERY_V1);
  assert.deepEqual(parseMld(q1.msg, q1.ip), {
    kind: "query",
    maxResponseCode: 10000,
    multicastAddress: new Uint8Array(16),
  });
  const q2 = icmpOf(QUERY_V2);
  assert.deepEqual(parseMld(q2.msg, q2.ip), {
    kind: "query",
    maxResponseCode: 10000,
    multicastAddress: new Uint8Array(16),
    v2: { suppressRouterSide: false, qrv: 2, qqic: 125, sources: [] },
  });
  const q3 = icmpOf(QUERY_V2S);
  const r = parseMld(q3.msg, q3.ip);
  assert.equal(r.kind, "query");
  if (r.kind !== "query" || !r.v2) throw new Error("expected an MLDv2 query");
  assert.equal(formatIPv6(r.multicastAddress), "ff05::1:3");
  assert.equal(r.v2.suppressRouterSide, true);
  assert.equal(r.v2.qrv, 2);
  assert.deepEqual(r.v2.sources.map(formatIPv6), ["2001:db8::1"]);
  assert.equal(mldMaxResponseDelay(r.maxResponseCode, true), 0x1123 << 3);
  assert.equal(mldQqicSeconds(r.v2.qqic), 16 << 4);
});

Deno.test("mld: response-code and QQIC decoding (RFC 3810 §5.1.3, §5.1.9)", () => {
  assert.equal(mldMaxResponseDelay(10000, true), 10000);
  assert.equal(mldMaxResponseDelay(0x8000, true), 0x1000 << 3);
  assert.equal(mldMaxResponseDelay(0xffff, true), 0x1fff << 10);
  assert.equal(mldMaxResponseDelay(0xffff, false), 0xffff);
  assert.equal(mldQqicSeconds(125), 125);
  assert.equal(mldQqicSeconds(0x80), 128);
  assert.equal(mldQqicSeconds(0xff), 0x1f << 10);
});

Deno.test("mld: parse→emit round trips into 0xa5-filled buffers", () => {
  for (const pkt of ALL) {
    const { msg, ip } = icmpOf(pkt);
    const r = parseMld(msg, ip);
    assert.equal(mldLength(r), msg.length);
    const buf = new Uint8Array(msg.length + 5).fill(0xa5);
    assert.equal(emitMld(r, buf, ip), msg.length);
    assert.equal(toHex(buf), toHex(msg) + "a5a5a5a5a5");
  }
});

Deno.test("mld: emit pads aux data to 32-bit words", () => {
  const ip = { src: parseIPv6("fe80::1")!, dst: parseIPv6("ff02::16")! };
  const r: MldRepr = {
    kind: "report-v2",
    records: [{
      recordType: 99,
      multicastAddress: parseIPv6("ff0e::1")!,
      sources: [],
      auxData: hex("01"),
    }],
  };
  const b = encodeMld(r, ip);
  assert.equal(b.length, 8 + 20 + 4);
  assert.equal(toHex(b.subarray(8, 12)), "63010000");
  assert.equal(toHex(b.subarray(28)), "01000000");
  const back = parseMld(b, ip);
  assert.equal(back.kind === "report-v2" && back.records[0].recordType, 99);
});

Deno.test("mld: truncated and impossible lengths", () => {
  const q = icmpOf(QUERY_V2S).msg;
  expectWire(() => parseMld(q.subarray(0, 23)), "truncated");
  for (const n of [25, 26, 27]) expectWire(() => parseMld(q.subarray(0, n)), "malformed");
  expectWire(() => parseMld(q.subarray(0, 43)), "truncated"); // one source announced, cut
  const rep = icmpOf(MLDV2).msg;
  expectWire(() => parseMld(rep.subarray(0, rep.length - 1)), "truncated"); // aux data cut
  expectWire(() => parseMld(rep.subarray(0, 20)), "truncated"); // record header cut
  expectWire(() => parseMld(rep.subarray(0, 7)), "truncated");
  const more = rep.slice();
  more[7] = 3; // three records announced, two present
  expectWire(() => parseMld(more), "truncated");
  expectWire(() => parseMld(icmpOf(DONE).msg.subarray(0, MLD_V1_LEN - 1)), "truncated");
  const other = rep.slice();
  other[0] = 135;
  expectWire(() => parseMld(other), "unsupported");
  expectWire(() => new MldPacket(more), "truncated");
  const corrupt = rep.slice();
  corrupt[40] ^= 0x80;
  expectWire(() => parseMld(corrupt, icmpOf(MLDV2).ip), "bad-checksum");
});

Deno.test("mld: checked view accessors and unchecked emit", () => {
  const p = new MldPacket(icmpOf(QUERY_V2S).msg);
  assert.equal(p.type, MldType.QUERY);
  assert.ok(p.isV2Query);
  assert.equal(p.maxResponseCode, 0x8123);
  assert.equal(formatIPv6(p.multicastAddress), "ff05::1:3");
  const r = new MldPacket(icmpOf(MLDV2).msg);
  assert.equal(r.recordCount, 2);
  assert.equal(r.multicastAddress.length, 0);
  assert.ok(!new MldPacket(icmpOf(QUERY_V1).msg).isV2Query);

  const { msg, ip } = icmpOf(REPORT_V1);
  const buf = new Uint8Array(MLD_V1_LEN).fill(0xa5);
  const w = MldPacket.unchecked(buf);
  buf.fill(0, 0, 8);
  w.type = MldType.REPORT_V1;
  w.maxResponseCode = 0;
  w.multicastAddress.set(parseIPv6("ff02::fb")!);
  assert.equal(toHex(encodeMld(parseMld(buf), ip)), toHex(msg));
});

Deno.test("mld: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(3810);
  const seeds = ALL.map((p) => icmpOf(p).msg);
  const types = [130, 131, 132, 143];
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let b: Uint8Array;
    if (i % 4 === 0) {
      b = new Uint8Array(rng.nextInt(120));
      for (let j = 0; j < b.length; j++) b[j] = rng.nextUint32();
      if (b.length > 0) b[0] = types[rng.nextInt(types.length)];
    } else {
      const s = seeds[rng.nextInt(seeds.length)];
      b = s.slice(0, rng.nextInt(s.length + 1));
      const flips = rng.nextInt(4);
      for (let k = 0; k < flips && b.length > 0; k++) {
        b[rng.nextInt(b.length)] = rng.chance(0.5) ? rng.nextInt(4) : rng.nextUint32();
      }
    }
    try {
      const v = new MldPacket(b);
      assert.ok(Number.isInteger(v.maxResponseCode + v.recordCount) && v.type === b[0]);
      assert.ok(v.multicastAddress.length === (v.type === MldType.REPORT_V2 ? 0 : 16));
      const r = parseMld(b);
      assert.ok(mldLength(r) <= b.length + 3 * 256);
      parsed++;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 1000);
});
