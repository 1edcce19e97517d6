/** IPv6 reassembly: order, overlaps (RFC 5722), lengths and timeouts. */
import assert from "node:assert/strict";
import { type Fragment6, Reassembler6, REASSEMBLY6_TIMEOUT } from "./reassembler6.ts";

const SRC = Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const DST = Uint8Array.of(0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

function frag(offset: number, more: boolean, data: Uint8Array, id = 1): Fragment6 {
  return {
    src: SRC,
    dst: DST,
    identification: id,
    offset,
    more,
    nextHeader: 17,
    data,
    packet: Uint8Array.of(offset),
  };
}

const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i + seed) & 255);

Deno.test("fragments out of order reassemble into the original payload", () => {
  const r = new Reassembler6();
  const whole = bytes(40, 3);
  assert.deepEqual(r.add(0, frag(32, false, whole.subarray(32))), { kind: "pending" });
  assert.deepEqual(r.add(0, frag(0, true, whole.subarray(0, 16))), { kind: "pending" });
  assert.deepEqual(r.add(0, frag(16, true, whole.subarray(16, 32))), {
    kind: "done",
    nextHeader: 17,
    payload: whole,
  });
  assert.equal(r.bytesHeld, 0);
});

Deno.test("any overlap drops the datagram and the rest of its fragments", () => {
  const r = new Reassembler6();
  r.add(0, frag(0, true, bytes(16, 0)));
  assert.deepEqual(r.add(0, frag(8, true, bytes(16, 0))), {
    kind: "dropped",
    reason: "frag-overlap",
  });
  assert.deepEqual(r.add(0, frag(16, false, bytes(8, 0))), {
    kind: "dropped",
    reason: "frag-overlap",
  });
  assert.equal(r.bytesHeld, 0);
  assert.deepEqual(r.poll(REASSEMBLY6_TIMEOUT), [], "no time exceeded for a dropped datagram");
});

Deno.test("bad lengths are refused; an atomic fragment passes straight through", () => {
  const r = new Reassembler6();
  assert.equal(r.add(0, frag(0, true, bytes(10, 0))).kind, "dropped");
  assert.equal(r.add(0, frag(65528, false, bytes(16, 0))).kind, "dropped");
  assert.deepEqual(r.add(0, frag(0, false, bytes(5, 0))), {
    kind: "done",
    nextHeader: 17,
    payload: bytes(5, 0),
  });
});

Deno.test("an incomplete datagram times out after 60 s, returning its first fragment", () => {
  const r = new Reassembler6();
  r.add(0, frag(0, true, bytes(8, 0), 5));
  r.add(0, frag(8, true, bytes(8, 0), 6));
  assert.equal(r.nextDeadline(), REASSEMBLY6_TIMEOUT);
  assert.deepEqual(r.poll(REASSEMBLY6_TIMEOUT - 1), []);
  const firsts = r.poll(REASSEMBLY6_TIMEOUT);
  assert.deepEqual(firsts, [Uint8Array.of(0)], "only the datagram whose first fragment came");
  assert.equal(r.bytesHeld, 0);
});
