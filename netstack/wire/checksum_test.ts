import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import {
  checksum,
  fold,
  pseudoHeaderSum4,
  pseudoHeaderSum6,
  sumBytes,
  updateChecksum,
  verifies,
} from "./checksum.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Reference RFC 1071 sum: one 16-bit big-endian word at a time, folded at every step. */
function naiveChecksum(data: Uint8Array, initial = 0): number {
  let sum = fold(initial);
  for (let i = 0; i < data.length; i += 2) {
    sum += (data[i] << 8) | (i + 1 < data.length ? data[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

function randomBytes(rng: Prng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.nextUint32() & 0xff;
  return b;
}

Deno.test("checksum: RFC 1071 §3 example words sum to ddf2", () => {
  const data = hex("0001 f203 f4f5 f6f7");
  assert.equal(fold(sumBytes(data)), 0xddf2);
  assert.equal(checksum(data), 0x220d);
});

Deno.test("checksum: a real IPv4 header (Linux ping) verifies and recomputes", () => {
  const header = hex("4500 0054 1c46 4000 4001 0a61 0a00 0001 0a00 0002");
  assert.ok(verifies(header));
  const zeroed = header.slice();
  zeroed[10] = 0;
  zeroed[11] = 0;
  assert.equal(checksum(zeroed), 0x0a61);
});

Deno.test("checksum: empty, one byte, all-zero and all-ones inputs", () => {
  assert.equal(checksum(new Uint8Array(0)), 0xffff);
  assert.equal(checksum(hex("ab")), ~0xab00 & 0xffff);
  assert.equal(checksum(new Uint8Array(64)), 0xffff);
  // 0xffff words sum to negative zero; the complement is 0.
  assert.equal(checksum(new Uint8Array(64).fill(0xff)), 0);
  assert.ok(verifies(new Uint8Array(64).fill(0xff)));
});

Deno.test("checksum: matches the naive reference over random lengths, offsets and initial sums", () => {
  const rng = new Prng(1071);
  const backing = randomBytes(rng, 4096 + 8);
  for (let t = 0; t < 3000; t++) {
    const offset = rng.nextInt(8);
    const len = t < 100 ? t : rng.nextInt(t % 10 === 0 ? 4096 : 80);
    const data = backing.subarray(offset, offset + len);
    const initial = rng.chance(0.5) ? rng.nextUint32() * 8 : 0;
    assert.equal(checksum(data, initial), naiveChecksum(data, initial), `len ${len} off ${offset}`);
  }
});

Deno.test("checksum: views at every alignment of one buffer agree with a copy at offset 0", () => {
  const rng = new Prng(7);
  const backing = randomBytes(rng, 1600);
  for (let offset = 0; offset < 8; offset++) {
    for (const len of [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 1499, 1500, 1501]) {
      const view = backing.subarray(offset, offset + len);
      assert.equal(fold(sumBytes(view)), fold(sumBytes(view.slice())), `off ${offset} len ${len}`);
    }
  }
});

Deno.test("checksum: sums over SharedArrayBuffer-backed views", () => {
  const shared = new Uint8Array(new SharedArrayBuffer(1502));
  shared.set(randomBytes(new Prng(3), 1502));
  const view = shared.subarray(3, 1501);
  assert.equal(checksum(view), naiveChecksum(view));
});

Deno.test("checksum: a large buffer's sum stays exact (no 32-bit overflow)", () => {
  const big = new Uint8Array(1 << 20).fill(0xff);
  big[5] = 0x12;
  assert.equal(checksum(big), naiveChecksum(big));
  assert.equal(checksum(big.subarray(1)), naiveChecksum(big.subarray(1)));
});

Deno.test("checksum: splitting data at an even boundary sums the same as whole", () => {
  const rng = new Prng(11);
  const data = randomBytes(rng, 999);
  for (const cut of [0, 2, 100, 998]) {
    const split = sumBytes(data.subarray(cut), sumBytes(data.subarray(0, cut)));
    assert.equal(fold(split), fold(sumBytes(data)));
  }
});

Deno.test("checksum: IPv4 pseudo-header sum for a Linux UDP datagram", () => {
  // 10.0.0.1:40000 -> 10.0.0.2:53, DNS query for example.com; Linux-computed checksum 6d8a.
  const udp = hex(
    "9c40 0035 0025 6d8a 1234 0100 0001 0000 0000 0000 0765 7861 6d70 6c65 0363 6f6d 0000 0100 01",
  );
  const ps = pseudoHeaderSum4(0x0a000001, 0x0a000002, 17, udp.length);
  assert.ok(verifies(udp, ps));
  assert.ok(!verifies(udp, ps + 1));
});

Deno.test("checksum: IPv6 pseudo-header sum for a UDP datagram fe80::1 -> fe80::2", () => {
  const udp = hex("0222 0223 0012 1fa0 6468 6370 7636 2d69 7368");
  const src = hex("fe80 0000 0000 0000 0000 0000 0000 0001");
  const dst = hex("fe80 0000 0000 0000 0000 0000 0000 0002");
  assert.ok(verifies(udp, pseudoHeaderSum6(src, dst, 17, udp.length)));
  // A reference sum built from the explicit 40-byte pseudo-header.
  const pseudo = new Uint8Array(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  pseudo[35] = udp.length;
  pseudo[39] = 17;
  assert.equal(
    fold(pseudoHeaderSum6(src, dst, 17, udp.length)),
    fold(sumBytes(pseudo)),
  );
});

Deno.test("checksum: RFC 1624 update equals recomputation for random 16-bit field changes", () => {
  const rng = new Prng(1624);
  for (let t = 0; t < 5000; t++) {
    const len = 2 * (3 + rng.nextInt(30));
    const data = randomBytes(rng, len);
    data[0] = 0;
    data[1] = 0;
    const field = 4 + 2 * rng.nextInt(len / 2 - 2);
    // Sums near zero exercise the ±0 corner; like any IPv4 header (version 4), one other word
    // stays nonzero: a header of all zeros is the one case eqn. 3 and recomputation differ.
    if (t % 7 === 0) data.fill(0, 2);
    data[2] |= 0x40;
    const before = checksum(data);
    data[0] = before >>> 8;
    data[1] = before & 0xff;
    const oldWord = (data[field] << 8) | data[field + 1];
    const newWord = t % 5 === 0 ? 0 : rng.nextUint32() & 0xffff;
    data[field] = newWord >>> 8;
    data[field + 1] = newWord & 0xff;
    const updated = updateChecksum(before, oldWord, newWord);
    data[0] = 0;
    data[1] = 0;
    assert.equal(updated, checksum(data), `old ${oldWord} new ${newWord}`);
  }
});

Deno.test("checksum: RFC 1624 §4 example (eqn. 3 avoids the -0 result of eqn. 2)", () => {
  // HC = 0xdd2f, m = 0x5555 -> m' = 0x3285: HC' = 0x0000 (RFC 1624 §4).
  assert.equal(updateChecksum(0xdd2f, 0x5555, 0x3285), 0x0000);
});
