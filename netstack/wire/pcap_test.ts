import assert from "node:assert/strict";
import { WireError } from "./errors.ts";
import {
  LINKTYPE_ETHERNET,
  parsePcapHeader,
  PCAP_HEADER_LEN,
  PCAP_RECORD_HEADER_LEN,
  PcapWriter,
  readPcap,
  recordTimeMs,
} from "./pcap.ts";

const frameA = Uint8Array.from({ length: 60 }, (_, i) => i);
const frameB = Uint8Array.from({ length: 1514 }, (_, i) => (i * 7) & 0xff);

function throwsWire(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireError && e.reason === reason);
}

Deno.test("pcap: microsecond little-endian round trip", () => {
  const w = new PcapWriter();
  w.write(frameA, { seconds: 1700000000, nanoseconds: 123456000 });
  w.write(frameB, 1700000001250.5);
  const bytes = w.bytes();
  assert.equal(bytes.length, PCAP_HEADER_LEN + 2 * PCAP_RECORD_HEADER_LEN + 60 + 1514);
  assert.deepEqual(Array.from(bytes.subarray(0, 4)), [0xd4, 0xc3, 0xb2, 0xa1]);
  const file = readPcap(bytes);
  assert.deepEqual(file.header, {
    precision: "micro",
    littleEndian: true,
    versionMajor: 2,
    versionMinor: 4,
    snaplen: 262144,
    linktype: LINKTYPE_ETHERNET,
  });
  assert.equal(file.records.length, 2);
  assert.equal(file.records[0].seconds, 1700000000);
  assert.equal(file.records[0].nanoseconds, 123456000);
  assert.deepEqual(file.records[0].data, frameA);
  assert.equal(file.records[0].originalLength, 60);
  // 1250.5 ms past the second: 250.5 ms = 250500 us.
  assert.equal(file.records[1].seconds, 1700000001);
  assert.equal(file.records[1].nanoseconds, 250500000);
  assert.equal(recordTimeMs(file.records[1]), 1700000001250.5);
  assert.deepEqual(file.records[1].data, frameB);
});

Deno.test("pcap: nanosecond big-endian round trip keeps nanoseconds", () => {
  const w = new PcapWriter({ precision: "nano", littleEndian: false, linktype: 101 });
  w.write(frameA, { seconds: 5, nanoseconds: 999999999 });
  const bytes = w.bytes();
  assert.deepEqual(Array.from(bytes.subarray(0, 4)), [0xa1, 0xb2, 0x3c, 0x4d]);
  const file = readPcap(bytes);
  assert.equal(file.header.precision, "nano");
  assert.equal(file.header.littleEndian, false);
  assert.equal(file.header.linktype, 101);
  assert.equal(file.records[0].nanoseconds, 999999999);
  assert.deepEqual(file.records[0].data, frameA);
});

Deno.test("pcap: microsecond file truncates nanoseconds", () => {
  const w = new PcapWriter();
  w.write(frameA, { seconds: 1, nanoseconds: 1999 });
  assert.equal(readPcap(w.bytes()).records[0].nanoseconds, 1000);
});

Deno.test("pcap: snaplen cuts packets and keeps the original length", () => {
  const w = new PcapWriter({ snaplen: 100 });
  w.write(frameB, 0);
  w.write(frameA, 0);
  const file = readPcap(w.bytes());
  assert.equal(file.header.snaplen, 100);
  assert.equal(file.records[0].data.length, 100);
  assert.equal(file.records[0].originalLength, 1514);
  assert.deepEqual(file.records[0].data, frameB.subarray(0, 100));
  assert.equal(file.records[1].originalLength, 60);
});

Deno.test("pcap: a sink receives the header, then one chunk per record", () => {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter({ sink: (c) => chunks.push(c) });
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0].length, PCAP_HEADER_LEN);
  w.write(frameA, 0);
  assert.equal(chunks.length, 2);
  assert.equal(chunks[1].length, PCAP_RECORD_HEADER_LEN + 60);
  assert.equal(w.bytes().length, 0);
  const joined = new Uint8Array(chunks[0].length + chunks[1].length);
  joined.set(chunks[0]);
  joined.set(chunks[1], chunks[0].length);
  assert.deepEqual(readPcap(joined).records[0].data, frameA);
});

Deno.test("pcap: header-only file has no records", () => {
  assert.deepEqual(readPcap(new PcapWriter().bytes()).records, []);
});

Deno.test("pcap: reads a file at an unaligned offset inside a larger buffer", () => {
  const w = new PcapWriter({ littleEndian: false });
  w.write(frameA, 0);
  const bytes = w.bytes();
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 3);
  assert.deepEqual(readPcap(big.subarray(3)).records[0].data, frameA);
});

Deno.test("pcap: refuses short headers, bad magic and bad version", () => {
  throwsWire(() => parsePcapHeader(new Uint8Array(23)), "truncated");
  const pcapng = new Uint8Array(24);
  pcapng.set([0x0a, 0x0d, 0x0d, 0x0a]);
  throwsWire(() => parsePcapHeader(pcapng), "unsupported");
  const bytes = new PcapWriter().bytes();
  bytes[4] = 3;
  throwsWire(() => parsePcapHeader(bytes), "bad-version");
});

Deno.test("pcap: refuses truncated records", () => {
  const w = new PcapWriter();
  w.write(frameA, 0);
  const bytes = w.bytes();
  // Cut inside the record header, then inside the record data.
  throwsWire(() => readPcap(bytes.subarray(0, PCAP_HEADER_LEN + 10)), "truncated");
  throwsWire(() => readPcap(bytes.subarray(0, bytes.length - 1)), "truncated");
});

Deno.test("pcap: refuses captured length above original length or snaplen", () => {
  const w = new PcapWriter({ snaplen: 100 });
  w.write(frameA, 0);
  const bytes = w.bytes();
  const v = new DataView(bytes.buffer);
  v.setUint32(PCAP_HEADER_LEN + 12, 59, true); // orig_len < incl_len
  throwsWire(() => readPcap(bytes), "bad-length");
  v.setUint32(PCAP_HEADER_LEN + 12, 60, true);
  v.setUint32(16, 50, true); // snaplen < incl_len
  throwsWire(() => readPcap(bytes), "bad-length");
});

Deno.test("pcap: refuses a microsecond fraction of a second or more", () => {
  const w = new PcapWriter();
  w.write(frameA, 0);
  const bytes = w.bytes();
  new DataView(bytes.buffer).setUint32(PCAP_HEADER_LEN + 4, 1_000_000, true);
  throwsWire(() => readPcap(bytes), "malformed");
});

Deno.test("pcap: writer refuses bad timestamps, lengths and snaplen", () => {
  const w = new PcapWriter();
  assert.throws(() => w.write(frameA, -1), RangeError);
  assert.throws(() => w.write(frameA, { seconds: 0, nanoseconds: 1e9 }), RangeError);
  assert.throws(() => w.write(frameA, 0, 10), RangeError);
  assert.throws(() => new PcapWriter({ snaplen: 0 }), RangeError);
});
