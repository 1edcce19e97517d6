import assert from "node:assert/strict";
import { framesForMtu, segmentingPort, segmentTcp, tcpFrameLayout } from "./gso_segment.ts";
import { tcpChecksumsValid, tcpFrame, tcpPayload } from "./_tcp_frames.ts";
import type { LinkPort } from "./port.ts";

const seq = (f: Uint8Array) =>
  new DataView(f.buffer, f.byteOffset).getUint32(f[12] === 8 ? 38 : 58);

for (const v of [4, 6] as const) {
  Deno.test(`gso: an IPv${v} super-segment is cut into MSS segments with valid checksums`, () => {
    const big = tcpFrame(v, 20_000, { flags: 0x18 | 0x01 | 0x80 }); // PSH FIN CWR
    const l = tcpFrameLayout(big)!;
    assert.equal(l.ipVersion, v);
    const segs = framesForMtu(big, 1500);
    const mss = 1500 - (v === 4 ? 20 : 40) - 32;
    assert.equal(segs.length, Math.ceil(20_000 / mss));
    const joined = new Uint8Array(20_000);
    let at = 0;
    segs.forEach((s, i) => {
      assert.ok(tcpChecksumsValid(s), `segment ${i}`);
      assert.ok(s.length - 14 <= 1500);
      assert.equal(seq(s), 1000 + at);
      const flags = s[14 + (v === 4 ? 20 : 40) + 13];
      const last = i === segs.length - 1;
      assert.equal((flags & 0x09) !== 0, last, "FIN and PSH only on the last");
      assert.equal((flags & 0x80) !== 0, i === 0, "CWR only on the first");
      if (v === 4) assert.equal((s[18] << 8) | s[19], 0x1234 + i);
      joined.set(tcpPayload(s), at);
      at += tcpPayload(s).length;
    });
    assert.deepEqual(joined, tcpPayload(big));
  });
}

Deno.test("gso: frames that fit, and frames that are not plain TCP, pass unchanged", () => {
  const small = tcpFrame(4, 100);
  assert.deepEqual(framesForMtu(small, 1500), [small]);
  const udp = new Uint8Array(3000);
  udp[12] = 0x08;
  udp[14] = 0x45;
  udp[23] = 17;
  assert.deepEqual(framesForMtu(udp, 1500), [udp]);
  const lying = tcpFrame(4, 3000);
  lying[16] = 0; // IP total length disagrees with the frame
  assert.equal(tcpFrameLayout(lying), undefined);
  assert.deepEqual(framesForMtu(lying, 1500), [lying]);
});

Deno.test("gso: segmentTcp cuts at a smaller gso_size when asked", () => {
  const big = tcpFrame(4, 5000);
  const segs = segmentTcp(big, tcpFrameLayout(big)!, 536);
  assert.equal(segs.length, 10);
  assert.ok(segs.every(tcpChecksumsValid));
  assert.ok(segs.every((s, i) => tcpPayload(s).length === (i < 9 ? 536 : 5000 - 9 * 536)));
});

Deno.test("gso: segmentingPort cuts what is sent and passes what arrives", () => {
  const sent: Uint8Array[] = [];
  let handler: ((f: Uint8Array) => void) | undefined;
  const inner: LinkPort = {
    send: (f) => sent.push(f),
    onFrame: (h) => (handler = h),
    close() {},
  };
  const p = segmentingPort(inner, 1500);
  const got: Uint8Array[] = [];
  p.onFrame((f) => got.push(f));
  p.send(tcpFrame(6, 10_000));
  assert.equal(sent.length, Math.ceil(10_000 / (1500 - 40 - 32)));
  const big = tcpFrame(4, 10_000);
  handler!(big);
  assert.deepEqual(got, [big]);
});
