import assert from "node:assert/strict";
import { firstFragmentIncomplete } from "./fragment_chain.ts";

const NH = { TCP: 6, UDP: 17, DEST: 60, ICMPV6: 58, NONE: 59, ESP: 50 };

Deno.test("a first fragment must hold the upper-layer header as Linux's ipv6frag_thdr_truncated", () => {
  assert.equal(firstFragmentIncomplete(new Uint8Array(8), NH.TCP), true);
  assert.equal(firstFragmentIncomplete(new Uint8Array(16), NH.TCP), true);
  assert.equal(firstFragmentIncomplete(new Uint8Array(24), NH.TCP), false);
  assert.equal(firstFragmentIncomplete(new Uint8Array(8), NH.UDP), false);
  assert.equal(firstFragmentIncomplete(new Uint8Array(0), NH.ICMPV6), true);
  assert.equal(firstFragmentIncomplete(new Uint8Array(8), NH.ICMPV6), false);
  assert.equal(firstFragmentIncomplete(new Uint8Array(0), NH.ESP), true);
  assert.equal(firstFragmentIncomplete(new Uint8Array(0), NH.NONE), false);
});

Deno.test("extension headers after the fragment header are part of the chain", () => {
  // A destination options header (8 bytes, PadN) then UDP: complete with 8 bytes of UDP.
  const dest = (next: number) => Uint8Array.of(next, 0, 1, 4, 0, 0, 0, 0);
  const withUdp = new Uint8Array(16);
  withUdp.set(dest(NH.UDP));
  assert.equal(firstFragmentIncomplete(withUdp, NH.DEST), false);
  // The chain stops at the options header: no UDP header at all.
  assert.equal(firstFragmentIncomplete(dest(NH.UDP), NH.DEST), true);
  // The options header says 16 bytes but 8 arrived (Linux 6.18: Parameter Problem code 3).
  assert.equal(firstFragmentIncomplete(Uint8Array.of(NH.UDP, 1, 1, 4, 0, 0, 0, 0), NH.DEST), true);
});
