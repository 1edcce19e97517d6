import assert from "node:assert/strict";
import { completeChecksum, parseVnetHdr, VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4 } from "./vnet_hdr.ts";
import { checksum, pseudoHeaderSum4 } from "../../netstack/wire/checksum.ts";

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
