import { deepEqual, equal } from "node:assert/strict";
import { tcpSegment } from "./segments.ts";

/** Ethernet + IPv4 + TCP with a SACK block and `payload` bytes, checksums left zero. */
function frame(payload: number): Uint8Array {
  const f = new Uint8Array(14 + 20 + 32 + payload);
  f.set([0x08, 0x00], 12);
  const ip = 14;
  f.set([
    0x45,
    0,
    ((20 + 32 + payload) >> 8) & 255,
    (20 + 32 + payload) & 255,
    0,
    1,
    0x40,
    0,
    64,
    6,
  ], ip);
  f.set([10, 0, 0, 1, 10, 0, 0, 2], ip + 12);
  const t = ip + 20;
  f.set([0x13, 0x89, 0xc0, 0x00], t); // 5001 → 49152
  f.set([0xff, 0xff, 0xff, 0xf0, 0, 0, 0x10, 0], t + 4); // seq near the wrap, ack 4096
  f[t + 12] = 8 << 4;
  f[t + 13] = 0x10;
  f.set([0x01, 0xf5], t + 14);
  f.set([1, 1, 5, 10, 0, 0, 0x20, 0, 0, 0, 0x30, 0], t + 20);
  return f;
}

Deno.test("a TCP segment's numbers and SACK blocks come out of a frame", () => {
  deepEqual(tcpSegment(frame(100)), {
    src: "10.0.0.1:5001",
    dst: "10.0.0.2:49152",
    seq: 0xfffffff0,
    ack: 4096,
    flags: 0x10,
    len: 100,
    win: 501,
    sack: [[0x2000, 0x3000]],
  });
});

Deno.test("a frame cut short still gives its length from the IP header; non-TCP gives nothing", () => {
  equal(tcpSegment(frame(1400).subarray(0, 128))?.len, 1400);
  equal(tcpSegment(frame(0).subarray(0, 40)), undefined);
  const arp = frame(0);
  arp.set([0x08, 0x06], 12);
  equal(tcpSegment(arp), undefined);
  const bad = frame(0);
  bad[14 + 20 + 20 + 3] = 200; // a SACK option running past the header
  equal(tcpSegment(bad)?.sack, undefined);
  equal(tcpSegment(new Uint8Array(0)), undefined);
});
