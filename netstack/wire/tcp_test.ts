import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { pseudoHeaderSum4 } from "./checksum.ts";
import { WireError } from "./errors.ts";
import {
  emitTcp,
  encodeTcp,
  parseTcp,
  parseTcpOptions,
  TcpFlag,
  tcpHeaderLength,
  tcpLength,
  tcpOptionsLength,
  TcpPacket,
  type TcpRepr,
} from "./tcp.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const A = 0x0a000001; // 10.0.0.1
const B = 0x0a000002; // 10.0.0.2

// Linux-style segments 10.0.0.1:40000 <-> 10.0.0.2:80, checksums computed independently.
const SYN = hex(
  "9c40 0050 12345678 00000000 a002 faf0 518e 0000" +
    "020405b4 0402 080a 0001e240 00000000 01 030307",
);
const SYN_ACK = hex(
  "0050 9c40 9abcdef0 12345679 a012 fe88 17c1 0000" +
    "020405b4 0402 080a 00aabbcc 0001e240 01 030307",
);
const DATA = hex(
  "9c40 0050 12345679 9abcdef1 8018 01f6 ff34 0000 0101080a 0001e241 00aabbcc 68656c6c6f0a",
);
const SACK = hex(
  "0050 9c40 9abcdef1 12345679 d010 01fd 49ef 0000 0101080a 00aabbcd 0001e241" +
    "0101 0512 1234567f 12345680 12345690 123456a0",
);

function expectWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

Deno.test("tcp: parses a Linux SYN with MSS, SACK-permitted, timestamps and window scale", () => {
  const r = parseTcp(SYN, { pseudoSum: pseudoHeaderSum4(A, B, 6, SYN.length) });
  assert.equal(r.srcPort, 40000);
  assert.equal(r.dstPort, 80);
  assert.equal(r.seq, 0x12345678);
  assert.equal(r.ack, 0);
  assert.equal(r.flags, TcpFlag.SYN);
  assert.equal(r.window, 64240);
  assert.equal(r.urgent, 0);
  assert.deepEqual(r.options, {
    mss: 1460,
    sackPermitted: true,
    timestamp: { value: 0x1e240, echo: 0 },
    windowScale: 7,
  });
  assert.equal(r.payload.length, 0);
});

Deno.test("tcp: parse→emit round trips are byte-identical for Linux layouts", () => {
  for (const [fixture, src, dst] of [[SYN, A, B], [SYN_ACK, B, A], [DATA, A, B], [SACK, B, A]]) {
    const f = fixture as Uint8Array;
    const pseudoSum = pseudoHeaderSum4(src as number, dst as number, 6, f.length);
    const r = parseTcp(f, { pseudoSum });
    assert.equal(tcpLength(r), f.length);
    assert.equal(toHex(encodeTcp(r, { pseudoSum })), toHex(f));
  }
});

Deno.test("tcp: data segment options and zero-copy payload", () => {
  const r = parseTcp(DATA);
  assert.deepEqual(r.options, { timestamp: { value: 0x1e241, echo: 0xaabbcc } });
  assert.equal(new TextDecoder().decode(r.payload), "hello\n");
  assert.equal(r.payload.buffer, DATA.buffer);
  assert.equal(r.payload.byteOffset, DATA.byteOffset + 32);
  const s = parseTcp(SACK);
  assert.deepEqual(s.options.sack, [[0x1234567f, 0x12345680], [0x12345690, 0x123456a0]]);
});

Deno.test("tcp: emit into a 0xa5-filled buffer writes exactly the segment", () => {
  const r = parseTcp(SYN);
  const buf = new Uint8Array(SYN.length + 16).fill(0xa5);
  const n = emitTcp(r, buf, { pseudoSum: pseudoHeaderSum4(A, B, 6, SYN.length) });
  assert.equal(n, SYN.length);
  assert.equal(toHex(buf.subarray(0, n)), toHex(SYN));
  assert.ok(buf.subarray(n).every((x) => x === 0xa5));
  // Without a pseudo-header sum the checksum field is written as zero, not left stale.
  buf.fill(0xa5);
  emitTcp(r, buf);
  assert.equal(buf[16], 0);
  assert.equal(buf[17], 0);
});

Deno.test("tcp: emit with the payload already in place", () => {
  const buf = new Uint8Array(DATA.length).fill(0xa5);
  buf.set(DATA.subarray(32), 32);
  const r = { ...parseTcp(DATA), payload: buf.subarray(32) };
  assert.equal(emitTcp(r, buf, { pseudoSum: pseudoHeaderSum4(A, B, 6, DATA.length) }), DATA.length);
  assert.equal(toHex(buf), toHex(DATA));
});

Deno.test("tcp: emitted option layouts match Linux", () => {
  const base: TcpRepr = {
    srcPort: 1,
    dstPort: 2,
    seq: 3,
    ack: 4,
    flags: TcpFlag.ACK,
    window: 5,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
  };
  const opts = (o: TcpRepr["options"]) => toHex(encodeTcp({ ...base, options: o }).subarray(20));
  assert.equal(opts({}), "");
  assert.equal(
    opts({ mss: 1460, sackPermitted: true, timestamp: { value: 1, echo: 0 }, windowScale: 7 }),
    "020405b40402080a000000010000000001030307",
  );
  assert.equal(opts({ mss: 1460, windowScale: 7 }), "020405b401030307");
  assert.equal(opts({ mss: 1460, sackPermitted: true }), "020405b401010402");
  assert.equal(opts({ timestamp: { value: 9, echo: 8 } }), "0101080a0000000900000008");
  assert.equal(opts({ sack: [[1, 2]] }), "0101050a0000000100000002");
  // Unknown options follow, zero-padded to a multiple of 4.
  assert.equal(
    opts({ mss: 536, unknown: [{ kind: 30, data: hex("010203") }] }),
    "02040218" + "1e05010203000000",
  );
  assert.equal(tcpOptionsLength({ unknown: [{ kind: 99, data: new Uint8Array(0) }] }), 4);
  assert.equal(tcpHeaderLength({ ...base, options: { mss: 1 } }), 24);
});

Deno.test("tcp: emit refuses oversized options and short buffers", () => {
  const r = parseTcp(SACK);
  r.options.sack = [[1, 2], [3, 4], [5, 6], [7, 8]];
  assert.throws(() => encodeTcp(r), RangeError);
  assert.throws(() => emitTcp(parseTcp(DATA), new Uint8Array(10)), RangeError);
});

Deno.test("tcp: truncated and impossible lengths", () => {
  expectWire(() => parseTcp(SYN.subarray(0, 19)), "truncated");
  expectWire(() => parseTcp(new Uint8Array(0)), "truncated");
  expectWire(() => parseTcp(SYN.subarray(0, 39)), "bad-length"); // data offset 10 > 39 bytes
  const low = SYN.slice();
  low[12] = 0x40; // data offset 4
  expectWire(() => parseTcp(low), "bad-length");
  assert.doesNotThrow(() => new TcpPacket(SYN));
  assert.throws(() => new TcpPacket(SYN.subarray(0, 30)), WireError);
});

Deno.test("tcp: a corrupted segment fails its checksum", () => {
  const bad = DATA.slice();
  bad[bad.length - 1] ^= 1;
  const pseudoSum = pseudoHeaderSum4(A, B, 6, bad.length);
  expectWire(() => parseTcp(bad, { pseudoSum }), "bad-checksum");
  assert.equal(parseTcp(bad).payload[5], 0x0b); // not verified without a pseudo-header sum
  assert.ok(!new TcpPacket(bad).verifyChecksum(pseudoSum));
  assert.ok(new TcpPacket(DATA).verifyChecksum(pseudoSum));
});

Deno.test("tcp: option soup", () => {
  // NOPs, unknown kinds in order, MSS, EOL then garbage that must be ignored.
  const o = parseTcpOptions(hex("01 01 1e0401ff 020405b4 01 2202 fd06aabbccdd 00 ffffff"));
  assert.equal(o.mss, 1460);
  assert.deepEqual(
    o.unknown?.map((u) => [u.kind, toHex(u.data)]),
    [[30, "01ff"], [34, ""], [253, "aabbccdd"]],
  );
  assert.deepEqual(parseTcpOptions(hex("00 02")), {});
  assert.deepEqual(parseTcpOptions(new Uint8Array(0)), {});
  assert.deepEqual(parseTcpOptions(hex("04020101")), { sackPermitted: true });
  const malformed = [
    "0203 05", // MSS length 3
    "020505b400", // MSS length 5
    "030403ff", // window scale length 4
    "0403 00", // SACK-permitted length 3
    "0502", // SACK without blocks
    "050b 0000000000000000 00", // SACK length 11
    "082a" + "00".repeat(40), // SACK-sized timestamp
    "0809 00000000000000", // timestamp length 9
    "1e01", // length below 2
    "1e00", // length 0
    "1e08 0000", // runs past the end
    "01 1e", // no length byte
    "05 22" + "00".repeat(32), // SACK with 4 blocks is fine...
  ];
  for (const m of malformed.slice(0, -1)) {
    expectWire(() => parseTcpOptions(hex(m)), "malformed");
  }
  assert.equal(parseTcpOptions(hex(malformed.at(-1)!)).sack?.length, 4);
  expectWire(() => parseTcpOptions(hex("052a" + "00".repeat(40))), "malformed"); // ...5 are not
});

Deno.test("tcp: checked view accessors and unchecked emit", () => {
  const p = new TcpPacket(DATA);
  assert.equal(p.srcPort, 40000);
  assert.equal(p.dstPort, 80);
  assert.equal(p.seq, 0x12345679);
  assert.equal(p.ack, 0x9abcdef1);
  assert.equal(p.headerLength, 32);
  assert.equal(p.flags, TcpFlag.PSH | TcpFlag.ACK);
  assert.equal(p.window, 502);
  assert.equal(p.checksum, 0xff34);
  assert.equal(p.urgent, 0);
  assert.equal(toHex(p.options), "0101080a0001e24100aabbcc");
  assert.equal(toHex(p.payload), "68656c6c6f0a");

  const buf = new Uint8Array(DATA.length).fill(0xa5);
  const w = TcpPacket.unchecked(buf);
  w.srcPort = 40000;
  w.dstPort = 80;
  w.seq = 0x12345679;
  w.ack = 0x9abcdef1;
  w.headerLength = 32;
  w.flags = TcpFlag.PSH | TcpFlag.ACK;
  w.window = 502;
  w.urgent = 0;
  w.options.set(DATA.subarray(20, 32));
  w.payload.set(DATA.subarray(32));
  w.fillChecksum(pseudoHeaderSum4(A, B, 6, buf.length));
  assert.equal(toHex(buf), toHex(DATA));
});

Deno.test("tcp: fuzz — 100,000 random and mutated inputs raise only WireError", () => {
  const rng = new Prng(0x7c9);
  const seeds = [SYN, SYN_ACK, DATA, SACK];
  let parsed = 0;
  for (let i = 0; i < 100_000; i++) {
    let b: Uint8Array;
    if (i % 4 === 0) {
      b = new Uint8Array(rng.nextInt(80));
      for (let j = 0; j < b.length; j++) b[j] = rng.nextUint32();
    } else {
      b = seeds[rng.nextInt(seeds.length)].slice(0, 20 + rng.nextInt(40));
      const flips = 1 + rng.nextInt(4);
      for (let k = 0; k < flips && b.length > 0; k++) {
        b[rng.nextInt(b.length)] = rng.nextInt(3) === 0 ? rng.nextInt(12) : rng.nextUint32();
      }
    }
    try {
      const r = parseTcp(b, { pseudoSum: rng.nextInt(0x20000) });
      assert.ok(r.payload.length <= b.length);
      parsed++;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
    try {
      parseTcp(b);
      const v = new TcpPacket(b);
      const sum = v.srcPort + v.dstPort + v.seq + v.ack + v.flags + v.window + v.checksum +
        v.urgent;
      assert.ok(Number.isInteger(sum) && v.options.length + v.payload.length + 20 === b.length);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
    }
  }
  assert.ok(parsed > 0);
});
