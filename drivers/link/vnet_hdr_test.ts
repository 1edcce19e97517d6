import assert from "node:assert/strict";
import {
  completeChecksum,
  GsoBuilder,
  parseVnetHdr,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
} from "./vnet_hdr.ts";
import { checksum, pseudoHeaderSum4, pseudoHeaderSum6 } from "../../netstack/wire/checksum.ts";

/** An Ethernet/IPv4/TCP frame with `payload` bytes; the TCP checksum is left to the caller. */
function tcpFrame(payload: number): { frame: Uint8Array; tcpAt: number; tcpLen: number } {
  const tcpAt = 14 + 20;
  const tcpLen = 20 + payload;
  const frame = new Uint8Array(tcpAt + tcpLen);
  for (let i = tcpAt + 20; i < frame.length; i++) frame[i] = (i * 7) & 0xff;
  frame[tcpAt + 12] = 5 << 4;
  return { frame, tcpAt, tcpLen };
}

for (const payload of [0, 1, 1447, 1448, 65_000]) {
  Deno.test(`a partial TCP checksum is finished as Linux would have (${payload} bytes)`, () => {
    const { frame, tcpAt, tcpLen } = tcpFrame(payload);
    const src = 0x0a4d0001, dst = 0x0a4d0002;
    const pseudo = pseudoHeaderSum4(src, dst, 6, tcpLen);
    const want = checksum(frame.subarray(tcpAt), pseudo);
    // What the TAP hands over: the field holds the folded pseudo-header sum, not complemented.
    let p = pseudo;
    while (p > 0xffff) p = (p & 0xffff) + (p >>> 16);
    new DataView(frame.buffer).setUint16(tcpAt + 16, p);
    assert.ok(completeChecksum(frame, tcpAt, 16));
    const got = new DataView(frame.buffer).getUint16(tcpAt + 16);
    assert.ok(got === want || (want === 0 && got === 0xffff), `${got} vs ${want}`);
    assert.equal(checksum(frame.subarray(tcpAt), pseudo), 0);
  });
}

Deno.test("positions outside the frame are refused; the header parses little-endian", () => {
  assert.equal(completeChecksum(new Uint8Array(40), 38, 16), false);
  const h = new Uint8Array([VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 66, 0, 0xa8, 0x05, 34, 0, 16, 0]);
  assert.deepEqual(parseVnetHdr(h), {
    flags: 1,
    gsoType: 1,
    hdrLen: 66,
    gsoSize: 1448,
    csumStart: 34,
    csumOffset: 16,
  });
});

/** A complete Ethernet/IPv4/TCP frame (timestamps option, flags ACK unless given). */
function segment(seq: number, payload: number, flags = 0x10, ack = 777): Uint8Array {
  const hdr = 32;
  const f = new Uint8Array(14 + 20 + hdr + payload);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  v.setUint8(14, 0x45);
  v.setUint16(16, 20 + hdr + payload);
  v.setUint16(18, seq & 0xffff);
  v.setUint16(20, 0x4000);
  v.setUint8(22, 64);
  v.setUint8(23, 6);
  v.setUint32(26, 0x0a4d0002);
  v.setUint32(30, 0x0a4d0001);
  v.setUint16(24, checksum(f.subarray(14, 34)));
  const t = 34;
  v.setUint16(t, 5001);
  v.setUint16(t + 2, 80);
  v.setUint32(t + 4, seq);
  v.setUint32(t + 8, ack);
  v.setUint8(t + 12, (hdr / 4) << 4);
  v.setUint8(t + 13, flags);
  v.setUint16(t + 14, 65535);
  f.set([1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7], t + 20);
  for (let i = t + hdr; i < f.length; i++) f[i] = (seq + i) & 0xff;
  v.setUint16(
    t + 16,
    checksum(f.subarray(t), pseudoHeaderSum4(0x0a4d0002, 0x0a4d0001, 6, hdr + payload)),
  );
  return f;
}

Deno.test("consecutive full segments of a flow become one GSO packet Linux can split again", () => {
  const gso = new GsoBuilder(new Uint8Array(70_000));
  const segs = [segment(1000, 1448), segment(2448, 1448), segment(3896, 300)];
  for (const s of segs) assert.ok(gso.add(s));
  assert.equal(gso.add(segment(4196, 1448)), false); // nothing follows a short segment
  const out = gso.take()!;
  const h = parseVnetHdr(out);
  assert.deepEqual(h, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: VNET_GSO_TCPV4,
    hdrLen: 66,
    gsoSize: 1448,
    csumStart: 34,
    csumOffset: 16,
  });
  const frame = out.subarray(10);
  const v = new DataView(frame.buffer, frame.byteOffset, frame.length);
  assert.equal(frame.length, 66 + 1448 * 2 + 300);
  assert.equal(v.getUint16(16), frame.length - 14);
  assert.equal(checksum(frame.subarray(14, 34)), 0);
  // The payload is the three payloads in order; finishing the checksum makes it valid.
  for (let i = 0; i < 3; i++) {
    const want = segs[i].subarray(66);
    const at = 66 + 1448 * i;
    assert.deepEqual(frame.subarray(at, at + want.length), want);
  }
  assert.ok(completeChecksum(frame, h.csumStart, h.csumOffset));
  assert.equal(
    checksum(frame.subarray(34), pseudoHeaderSum4(0x0a4d0002, 0x0a4d0001, 6, frame.length - 34)),
    0,
  );
  assert.equal(gso.take(), undefined);
});

Deno.test("a lone segment, a PSH, another ACK or a gap goes out unchanged, behind a zero header", () => {
  const gso = new GsoBuilder(new Uint8Array(70_000));
  const first = segment(1000, 1448);
  assert.ok(gso.add(first));
  assert.equal(gso.add(segment(2448, 1448, 0x18)), false); // PSH
  assert.equal(gso.add(segment(2448, 1448, 0x10, 778)), false); // another ACK number
  assert.equal(gso.add(segment(9999, 1448)), false); // not the next sequence number
  const out = gso.take()!;
  assert.deepEqual(out.subarray(0, 10), new Uint8Array(10));
  assert.deepEqual(out.subarray(10), first);
  const syn = segment(5, 0, 0x02);
  assert.ok(gso.add(syn));
  assert.equal(gso.add(segment(6, 0, 0x02)), false);
  assert.deepEqual(gso.take()!.subarray(10), syn);
});

Deno.test("a super-segment longer than the MTU goes out alone as GSO, cut at the MTU", () => {
  const gso = new GsoBuilder(new Uint8Array(70_000), 1500);
  const big = segment(1000, 1448 * 10, 0x18); // ACK|PSH, as the netstack's TSO sends it
  assert.ok(gso.add(big));
  assert.equal(gso.add(segment(1000 + 14480, 1448)), false);
  const out = gso.take()!;
  const h = parseVnetHdr(out);
  assert.equal(h.gsoType, VNET_GSO_TCPV4);
  assert.equal(h.gsoSize, 1500 - 20 - 32);
  const frame = out.subarray(10);
  assert.equal(frame.length, big.length);
  assert.equal(checksum(frame.subarray(14, 34)), 0);
  assert.ok(completeChecksum(frame, h.csumStart, h.csumOffset));
  assert.deepEqual(frame, big);
});

Deno.test("an IPv6 super-segment goes out as TCPv6 GSO with a partial checksum", () => {
  const hdr = 32;
  const payload = 1440 * 8;
  const f = new Uint8Array(14 + 40 + hdr + payload);
  const v = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd]);
  v.setUint8(14, 0x60);
  v.setUint16(18, hdr + payload);
  v.setUint8(20, 6);
  v.setUint8(21, 64);
  const src = new Uint8Array(16).fill(0x11);
  const dst = new Uint8Array(16).fill(0x22);
  f.set(src, 22);
  f.set(dst, 38);
  const t = 54;
  v.setUint16(t, 5001);
  v.setUint16(t + 2, 80);
  v.setUint32(t + 4, 1000);
  v.setUint8(t + 12, (hdr / 4) << 4);
  v.setUint8(t + 13, 0x18);
  for (let i = t + hdr; i < f.length; i++) f[i] = i & 0xff;
  const pseudo = pseudoHeaderSum6(src, dst, 6, hdr + payload);
  v.setUint16(t + 16, checksum(f.subarray(t), pseudo));
  const want = f.slice();
  const gso = new GsoBuilder(new Uint8Array(70_000), 1500);
  assert.ok(gso.add(f));
  const out = gso.take()!;
  const h = parseVnetHdr(out);
  assert.equal(h.gsoType, VNET_GSO_TCPV6);
  assert.equal(h.gsoSize, 1500 - 40 - 32);
  assert.equal(h.csumStart, 54);
  const frame = out.subarray(10);
  assert.ok(completeChecksum(frame, h.csumStart, h.csumOffset));
  assert.deepEqual(frame, want);
});
