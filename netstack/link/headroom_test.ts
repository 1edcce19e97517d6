/** Packet buffers: headroom for headers, and reuse of whole loopback frames nobody holds. */
import assert from "node:assert/strict";
import { allocPacket, growFront, HEADROOM_IPV4, recyclePacket } from "./headroom.ts";

Deno.test("a packet grows to a frame in place: headers go into its headroom", () => {
  const p = allocPacket(100);
  assert.equal(p.byteOffset, HEADROOM_IPV4);
  const frame = growFront(p, HEADROOM_IPV4)!;
  assert.equal(frame.byteOffset, 0);
  assert.equal(frame.length, 100 + HEADROOM_IPV4);
  assert.equal(growFront(frame, 1), undefined);
});

Deno.test("a recycled frame is reused for the next packet of its size, headers cleared", () => {
  const len = 65_000;
  const frame = growFront(allocPacket(len), HEADROOM_IPV4)!;
  frame.fill(0xaa);
  recyclePacket(frame);
  const again = allocPacket(len);
  assert.equal(again.buffer, frame.buffer);
  assert.ok(again.subarray(0, 64).every((b) => b === 0), "header bytes are zero again");
  assert.notEqual(allocPacket(len).buffer, frame.buffer); // handed out once
});

Deno.test("only whole, private, large frames are kept", () => {
  const len = 65_000;
  const partial = allocPacket(len); // a view that does not cover its buffer
  recyclePacket(partial);
  assert.notEqual(allocPacket(len).buffer, partial.buffer);
  const shared = new Uint8Array(new SharedArrayBuffer(len + HEADROOM_IPV4));
  recyclePacket(shared);
  assert.notEqual(allocPacket(len).buffer, shared.buffer);
  const small = growFront(allocPacket(100), HEADROOM_IPV4)!;
  recyclePacket(small);
  assert.notEqual(allocPacket(100).buffer, small.buffer);
});
