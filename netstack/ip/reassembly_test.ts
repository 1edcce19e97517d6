import assert from "node:assert/strict";
import { type AddResult, Reassembler, reassemblyKey4, reassemblyKey6 } from "./reassembly.ts";

const KEY = reassemblyKey4(0x0a000001, 0x0a000002, 17, 0x1234);
const HEADER = new Uint8Array(20).fill(0x45);

/** Bytes [from, to) of a payload whose byte i is i & 0xff. */
function bytes(from: number, to: number): Uint8Array {
  return Uint8Array.from({ length: to - from }, (_, i) => (from + i) & 0xff);
}

/** A fragment of the payload above. */
function frag(offset: number, len: number, more: boolean, key = KEY) {
  return {
    key,
    offset,
    more,
    data: bytes(offset, offset + len),
    header: offset === 0 ? HEADER : undefined,
  };
}

function payloadOf(r: AddResult): Uint8Array {
  assert.equal(r.status, "complete");
  return r.status === "complete" ? r.payload : new Uint8Array(0);
}

Deno.test("keys: IPv4 uses the protocol, IPv6 does not", () => {
  assert.notEqual(reassemblyKey4(1, 2, 6, 7), reassemblyKey4(1, 2, 17, 7));
  assert.equal(reassemblyKey4(-1, 2, 6, 0x10007), reassemblyKey4(0xffffffff, 2, 6, 7));
  const a = new Uint8Array(16).fill(1);
  assert.notEqual(
    reassemblyKey6(a, new Uint8Array(16), 7),
    reassemblyKey6(a, new Uint8Array(16), 8),
  );
});

Deno.test("in-order fragments reassemble and the first header comes back", () => {
  const r = new Reassembler();
  assert.deepEqual(r.add(frag(0, 1480, true), 0), { status: "pending" });
  assert.deepEqual(r.add(frag(1480, 1480, true), 1), { status: "pending" });
  const res = r.add(frag(2960, 40, false), 2);
  assert.deepEqual(payloadOf(res), bytes(0, 3000));
  assert.deepEqual(res.status === "complete" && res.header, HEADER);
  assert.equal(r.size, 0);
  assert.equal(r.bytesHeld, 0);
  assert.equal(r.stats.ok, 1);
});

Deno.test("reverse order and shuffled order reassemble", () => {
  const r = new Reassembler();
  for (const off of [64, 56, 48, 40, 32, 24, 16, 8]) {
    assert.equal(r.add(frag(off, 8, off !== 64), 0).status, "pending");
  }
  assert.deepEqual(payloadOf(r.add(frag(0, 8, true), 0)), bytes(0, 72));
  const k2 = reassemblyKey4(1, 2, 6, 9);
  for (const off of [16, 0, 32]) {
    assert.equal(r.add(frag(off, 8, off !== 32, k2), 0).status, "pending");
  }
  assert.equal(r.add(frag(24, 8, true, k2), 0).status, "pending");
  assert.deepEqual(payloadOf(r.add(frag(8, 8, true, k2), 0)), bytes(0, 40));
});

Deno.test("interleaved datagrams are kept apart", () => {
  const r = new Reassembler();
  const k2 = reassemblyKey4(0x0a000001, 0x0a000002, 17, 0x1235);
  r.add(frag(0, 8, true), 0);
  r.add(frag(0, 16, true, k2), 0);
  r.add(frag(24, 8, false, k2), 0);
  assert.equal(r.size, 2);
  assert.deepEqual(payloadOf(r.add(frag(8, 8, false), 0)), bytes(0, 16));
  assert.equal(r.size, 1);
});

Deno.test("exact duplicates are dropped without harm, in both modes", () => {
  for (const overlap of ["drop", "keep-first"] as const) {
    const r = new Reassembler({ overlap });
    r.add(frag(0, 16, true), 0);
    assert.deepEqual(r.add(frag(0, 16, true), 1), { status: "dropped", reason: "duplicate" });
    assert.deepEqual(payloadOf(r.add(frag(16, 4, false), 2)), bytes(0, 20));
    assert.equal(r.stats.duplicate, 1);
  }
});

Deno.test("drop mode (RFC 5722): any overlap discards the datagram and its later fragments", () => {
  const r = new Reassembler({ overlap: "drop" });
  r.add(frag(0, 16, true), 0);
  assert.deepEqual(r.add(frag(8, 16, true), 1), { status: "dropped", reason: "overlap" });
  assert.equal(r.bytesHeld, 0);
  assert.deepEqual(r.add(frag(24, 8, false), 2), { status: "dropped", reason: "discarded" });
  assert.deepEqual(r.add(frag(16, 8, true), 2), { status: "dropped", reason: "discarded" });
  assert.equal(r.stats.overlap, 1);
  assert.equal(r.stats.discarded, 2);
  // The tombstone dies at the timeout without an ICMP report; then the key is usable again.
  assert.deepEqual(r.poll(30_000), []);
  assert.equal(r.stats.timeout, 0);
  assert.equal(r.size, 0);
  r.add(frag(0, 8, true), 30_001);
  assert.deepEqual(payloadOf(r.add(frag(8, 8, false), 30_002)), bytes(0, 16));
});

Deno.test("keep-first mode: later overlapping data never rewrites held bytes", () => {
  const r = new Reassembler({ overlap: "keep-first" });
  r.add(frag(8, 16, true), 0); // holds [8, 24)
  // [0, 32) overlaps in the middle; only [0, 8) and [24, 32) are taken, from a forged copy.
  const forged = {
    key: KEY,
    offset: 0,
    more: true,
    data: new Uint8Array(32).fill(0xee),
    header: HEADER,
  };
  assert.deepEqual(r.add(forged, 1), { status: "pending" });
  const res = r.add(frag(32, 8, false), 2);
  const want = bytes(0, 40);
  want.fill(0xee, 0, 8);
  want.fill(0xee, 24, 32);
  assert.deepEqual(payloadOf(res), want);
  assert.equal(r.stats.overlap, 1);
});

Deno.test("tiny-fragment overlap attack (RFC 1858): the first header bytes win", () => {
  for (const overlap of ["drop", "keep-first"] as const) {
    const r = new Reassembler({ overlap });
    // A TCP header's flags at bytes 12..13: the attacker's fragment at offset 8 tries to
    // turn a harmless header into SYN after filtering looked at the first fragment.
    const first = {
      key: KEY,
      offset: 0,
      more: true,
      data: new Uint8Array(16).fill(0x11),
      header: HEADER,
    };
    r.add(first, 0);
    const evil = { key: KEY, offset: 8, more: true, data: new Uint8Array(8).fill(0x02) };
    assert.deepEqual(r.add(evil, 1), { status: "dropped", reason: "overlap" });
    const res = r.add({ key: KEY, offset: 16, more: false, data: new Uint8Array(4) }, 2);
    if (overlap === "keep-first") {
      assert.deepEqual(payloadOf(res).subarray(0, 16), new Uint8Array(16).fill(0x11));
    } else {
      assert.deepEqual(res, { status: "dropped", reason: "discarded" });
    }
  }
});

Deno.test("offset + length beyond 65535 is refused and kills the datagram", () => {
  const r = new Reassembler();
  r.add(frag(0, 8, true), 0);
  const res = r.add({ key: KEY, offset: 65528, more: false, data: new Uint8Array(16) }, 1);
  assert.deepEqual(res, { status: "dropped", reason: "too-big" });
  assert.equal(r.stats.tooBig, 1);
  assert.equal(r.bytesHeld, 0);
  // Exactly 65535 is fine.
  const k2 = reassemblyKey4(9, 9, 9, 9);
  r.add({ key: k2, offset: 0, more: true, data: new Uint8Array(65528) }, 2);
  const ok = r.add({ key: k2, offset: 65528, more: false, data: new Uint8Array(7) }, 3);
  assert.equal(payloadOf(ok).length, 65535);
});

Deno.test("invalid fragments: unaligned offsets, odd non-last lengths, contradicting ends", () => {
  const r = new Reassembler();
  const bad = { status: "dropped", reason: "invalid" };
  assert.deepEqual(r.add({ key: KEY, offset: 3, more: true, data: new Uint8Array(8) }, 0), bad);
  assert.deepEqual(r.add({ key: KEY, offset: 0, more: true, data: new Uint8Array(7) }, 0), bad);
  assert.deepEqual(r.add({ key: KEY, offset: 0, more: true, data: new Uint8Array(0) }, 0), bad);
  assert.deepEqual(r.add({ key: KEY, offset: -8, more: true, data: new Uint8Array(8) }, 0), bad);
  assert.equal(r.size, 0);
  r.add(frag(0, 16, true), 0);
  r.add(frag(24, 8, false), 0);
  // A second, different end, and data past the end.
  assert.deepEqual(r.add(frag(40, 8, false), 1), { status: "dropped", reason: "inconsistent" });
  const k2 = reassemblyKey4(1, 1, 1, 1);
  r.add(frag(0, 16, true, k2), 0);
  r.add(frag(24, 8, false, k2), 0);
  assert.deepEqual(r.add(frag(32, 8, true, k2), 1), { status: "dropped", reason: "inconsistent" });
  const k3 = reassemblyKey4(1, 1, 1, 2);
  r.add(frag(32, 8, true, k3), 0);
  assert.deepEqual(r.add(frag(16, 8, false, k3), 1), { status: "dropped", reason: "inconsistent" });
  assert.equal(r.stats.invalid, 7);
});

Deno.test("an unfragmented datagram (atomic fragment) completes at once", () => {
  const r = new Reassembler();
  assert.deepEqual(payloadOf(r.add(frag(0, 20, false), 0)), bytes(0, 20));
  assert.equal(r.size, 0);
});

Deno.test("an atomic fragment is never merged with a datagram in progress under its key (RFC 6946)", () => {
  const r = new Reassembler();
  assert.deepEqual(r.add(frag(0, 16, true), 0), { status: "pending" });
  // Same key, offset 0, no more fragments: whole on its own, the pending datagram untouched.
  const atomic = { key: KEY, offset: 0, more: false, data: bytes(100, 124), header: HEADER };
  assert.deepEqual(payloadOf(r.add(atomic, 1)), bytes(100, 124));
  assert.equal(r.size, 1);
  assert.equal(r.stats.overlap, 0);
  assert.deepEqual(payloadOf(r.add(frag(16, 8, false), 2)), bytes(0, 24));
  assert.equal(r.size, 0);
});

Deno.test("timeout after 30 s reports the first fragment for ICMP time exceeded", () => {
  const r = new Reassembler();
  r.add(frag(8, 8, false), 0);
  r.add(frag(0, 8, true, reassemblyKey4(1, 2, 3, 4)), 5000);
  assert.equal(r.nextDeadline(), 30_000);
  assert.deepEqual(r.poll(29_999), []);
  // The datagram without its first fragment expires silently (no ICMP: nothing to quote).
  assert.deepEqual(r.poll(30_000), [{ key: KEY, first: undefined }]);
  assert.equal(r.nextDeadline(), 35_000);
  const [x] = r.poll(35_000);
  assert.equal(x.key, reassemblyKey4(1, 2, 3, 4));
  assert.deepEqual(x.first?.header, HEADER);
  assert.deepEqual(x.first?.data, bytes(0, 8));
  assert.equal(r.stats.timeout, 2);
  assert.equal(r.nextDeadline(), undefined);
});

Deno.test("a fragment for an expired datagram starts a new one; the old is still reported", () => {
  const r = new Reassembler();
  r.add(frag(0, 8, true), 0);
  assert.equal(r.add(frag(8, 8, false), 30_000).status, "pending");
  assert.equal(r.nextDeadline(), 0);
  const out = r.poll(30_000);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0].first?.data, bytes(0, 8));
  assert.equal(r.size, 1);
});

Deno.test("memory cap: the oldest datagram is evicted when total bytes would exceed it", () => {
  const r = new Reassembler({ maxBytes: 4096, fragmentOverhead: 0 });
  const keys = [1, 2, 3].map((id) => reassemblyKey4(1, 2, 17, id));
  r.add({ key: keys[0], offset: 0, more: true, data: new Uint8Array(2000) }, 0);
  r.add({ key: keys[1], offset: 0, more: true, data: new Uint8Array(2000) }, 1);
  assert.equal(r.bytesHeld, 4000);
  r.add({ key: keys[2], offset: 0, more: true, data: new Uint8Array(1000) }, 2);
  assert.equal(r.bytesHeld, 3000);
  assert.equal(r.stats.evicted, 1);
  // keys[0] is gone: its tail alone cannot complete it.
  assert.equal(
    r.add({ key: keys[0], offset: 2000, more: false, data: new Uint8Array(8) }, 3).status,
    "pending",
  );
  assert.ok(r.bytesHeld <= 4096);
  // A single datagram larger than the cap is dropped on its own.
  const small = new Reassembler({ maxBytes: 1000, fragmentOverhead: 0 });
  small.add({ key: keys[0], offset: 0, more: true, data: new Uint8Array(800) }, 0);
  const res = small.add({ key: keys[0], offset: 800, more: false, data: new Uint8Array(800) }, 0);
  assert.deepEqual(res, { status: "dropped", reason: "no-room" });
  assert.equal(small.bytesHeld, 0);
});

Deno.test("flood: datagram count and bytes stay bounded, newest kept", () => {
  const r = new Reassembler({ maxDatagrams: 100, fragmentOverhead: 0 });
  for (let id = 0; id < 10_000; id++) {
    r.add(
      { key: reassemblyKey4(1, 2, 17, id), offset: 8, more: true, data: new Uint8Array(1024) },
      id,
    );
  }
  assert.equal(r.size, 100);
  assert.equal(r.bytesHeld, 100 * 1024);
  assert.equal(r.stats.evicted, 9900);
  const key = reassemblyKey4(1, 2, 17, 9999);
  r.add({ key, offset: 0, more: true, data: new Uint8Array(8) }, 10_000);
  const res = r.add({ key, offset: 1032, more: false, data: new Uint8Array(1) }, 10_000);
  assert.equal(payloadOf(res).length, 1033);

  const big = new Reassembler();
  for (let id = 0; id < 200; id++) {
    big.add({
      key: reassemblyKey4(1, 2, 17, id),
      offset: 0,
      more: true,
      data: new Uint8Array(65528),
    }, 0);
  }
  assert.ok(big.bytesHeld <= 4 << 20);
  assert.equal(big.size, Math.floor((4 << 20) / (65528 + 64)));
});

Deno.test("IPv6 keys and overlap drop together", () => {
  const src = new Uint8Array(16).fill(0x20);
  const dst = new Uint8Array(16).fill(0x30);
  const key = reassemblyKey6(src, dst, 0xdeadbeef);
  const r = new Reassembler({ overlap: "drop" });
  r.add({ key, offset: 0, more: true, data: bytes(0, 1232) }, 0);
  assert.deepEqual(
    payloadOf(r.add({ key, offset: 1232, more: false, data: bytes(1232, 1300) }, 0)),
    bytes(0, 1300),
  );
});

Deno.test("8-byte fragments of a 64 KiB datagram, in reverse order", () => {
  const r = new Reassembler();
  const total = 65528;
  for (let off = total - 8; off > 0; off -= 8) {
    assert.equal(r.add(frag(off, 8, off !== total - 8), off).status, "pending");
  }
  assert.deepEqual(payloadOf(r.add(frag(0, 8, true), 0)), bytes(0, total));
});

Deno.test("tiny fragments are charged their overhead against the memory cap", () => {
  const r = new Reassembler({ maxBytes: 64 * 1024 });
  let id = 0;
  for (; id < 100; id++) {
    const key = reassemblyKey4(1, 2, 17, id);
    for (let off = 8; off < 8 * 100; off += 16) r.add(frag(off, 8, true, key), 0);
  }
  // 50 fragments of 8 bytes each per datagram, charged 72 bytes apiece.
  assert.equal(r.bytesHeld % 72, 0);
  assert.ok(r.bytesHeld <= 64 * 1024);
  assert.equal(r.size, Math.floor((64 * 1024) / (50 * 72)));
});

Deno.test("IPv6 configuration: 60 s timeout (RFC 8200 §4.5), first fragment reported", () => {
  const r = new Reassembler({ overlap: "drop", timeoutMs: 60_000 });
  const key = reassemblyKey6(new Uint8Array(16).fill(1), new Uint8Array(16).fill(2), 5);
  r.add({ key, offset: 0, more: true, data: new Uint8Array(8), header: Uint8Array.of(0x60) }, 0);
  r.add({ key: key + "x", offset: 8, more: true, data: new Uint8Array(8) }, 0);
  assert.equal(r.nextDeadline(), 60_000);
  assert.deepEqual(r.poll(59_999), []);
  const expired = r.poll(60_000);
  assert.deepEqual(expired.map((x) => x.first?.header), [Uint8Array.of(0x60), undefined]);
  assert.deepEqual(expired[0].first?.packet, Uint8Array.of(0x60, 0, 0, 0, 0, 0, 0, 0, 0));
  assert.equal(r.bytesHeld, 0);
});
