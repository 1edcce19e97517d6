import assert from "node:assert/strict";
import { pseudoHeaderSum4, verifies } from "../../netstack/wire/checksum.ts";
import { parseTcp } from "../../netstack/wire/tcp.ts";
import { parseOptions } from "./parse.ts";
import { ScriptError, type SegSpec } from "./script.ts";
import {
  decodeOptions,
  decodeSegment,
  encodeOptions,
  encodeSegment,
  formatSegment,
  mismatch,
} from "./segment.ts";

const opts = (t: string) =>
  parseOptions(t, (m) => {
    throw new ScriptError("t", 1, m);
  });

Deno.test("segment: options keep their order through encode and decode", () => {
  const o = opts("mss 1460,sackOK,TS val 7 ecr 9,nop,wscale 7");
  const bytes = encodeOptions(o);
  assert.deepEqual([...bytes], [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 7]);
  assert.deepEqual(decodeOptions(bytes), o);
  const sack = opts("nop,nop,sack 1:2 3:4294967295");
  assert.deepEqual(decodeOptions(encodeOptions(sack)), sack);
});

Deno.test("segment: a malformed option tail decodes as one unknown entry", () => {
  assert.deepEqual(decodeOptions(Uint8Array.of(1, 2, 9)), [
    { kind: "nop" },
    { kind: "unknown", code: 2, data: Uint8Array.of(9) },
  ]);
});

Deno.test("segment: encoded segments parse with Serin's wire parser and checksum", () => {
  const src = 0x0a000002, dst = 0x0a000001;
  const pseudo = (len: number) => pseudoHeaderSum4(src, dst, 6, len);
  const b = encodeSegment({
    srcPort: 40000,
    dstPort: 8080,
    seq: 0xfffffff0,
    ack: 5,
    flags: 0x18,
    win: 257,
    urg: 0,
    options: opts("nop,nop,TS val 1 ecr 2"),
    payload: Uint8Array.of(1, 2, 3),
  }, pseudo);
  assert.ok(verifies(b, pseudo(b.length)));
  const r = parseTcp(b, { pseudoSum: pseudo(b.length) });
  assert.equal(r.seq, 0xfffffff0);
  assert.deepEqual(r.options.timestamp, { value: 1, echo: 2 });
  assert.deepEqual([...r.payload], [1, 2, 3]);
  assert.equal(decodeSegment(b)?.win, 257);
  assert.equal(decodeSegment(b.subarray(0, 19)), undefined);
});

Deno.test("segment: formatted in the script's syntax", () => {
  const s: SegSpec = {
    dir: ">",
    flags: 0x12,
    seq: 0,
    len: 0,
    ack: 1,
    win: 65535,
    options: opts("mss 1460,sackOK,TS val 5 ecr 100,nop,wscale 7"),
  };
  assert.equal(
    formatSegment(s),
    "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 5 ecr 100,nop,wscale 7>",
  );
  assert.equal(formatSegment({ dir: ">", flags: 0x04, seq: 300, len: 0, ack: 0 }), "R 300:300(0)");
  assert.equal(
    formatSegment({ dir: "<", flags: 0x38, seq: 1, len: 1, ack: 1, urg: 1, options: "any" }),
    "PU. 1:2(1) ack 1 urg 1 <...>",
  );
});

Deno.test("segment: matching rules", () => {
  const actual: SegSpec = {
    dir: ">",
    flags: 0x12,
    seq: 0,
    len: 0,
    ack: 1,
    win: 64240,
    urg: 0,
    options: opts("mss 1460,sackOK,TS val 123456 ecr 100,nop,wscale 10"),
  };
  const want = (o: Partial<SegSpec>): SegSpec => ({ dir: ">", flags: 0x12, seq: 0, len: 0, ...o });
  assert.equal(mismatch(want({}), actual), undefined, "options not given: not checked");
  assert.equal(mismatch(want({ options: "any" }), actual), undefined);
  const set = opts("mss 1460,nop,nop,sackOK,TS val 0 ecr 100,wscale *");
  assert.equal(mismatch(want({ options: set }), actual), undefined, "order, nop, TS val, *");
  assert.match(mismatch(want({ options: opts("mss 1460") }), actual)!, /unexpected option/);
  assert.match(
    mismatch(want({ options: opts("mss 1460,sackOK,TS val 0 ecr 1,wscale *") }), actual)!,
    /TS ecr 100 instead of 1/,
  );
  assert.match(mismatch(want({ options: opts("mss 536,sackOK") }), actual)!, /mss 1460/);
  assert.match(mismatch(want({ ack: 2 }), actual)!, /ack 1 instead of 2/);
  assert.match(mismatch(want({ win: 1 }), actual)!, /win 64240/);
  assert.match(mismatch(want({ flags: 0x02 }), actual)!, /flags S\. instead of S/);
  assert.equal(mismatch(want({ flags: 0x1a }), actual), undefined, "PSH is not compared");
  assert.match(mismatch(want({ seq: 1 }), actual)!, /seq 0 instead of 1/);
  assert.match(mismatch(want({ len: 10 }), actual)!, /payload 0 bytes instead of 10/);
});
