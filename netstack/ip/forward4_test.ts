import assert from "node:assert/strict";
import { IpProtocol, type Ipv4Repr, parseIpv4 } from "../wire/ipv4.ts";
import { refragment4 } from "./forward4.ts";

/** Router alert (copied) and record route (not copied), 12 bytes with the EOL pad. */
const OPTIONS = Uint8Array.of(0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0);
const STRIPPED = Uint8Array.of(0x94, 4, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0);

function fragment(offset: number, more: boolean, len: number, options = new Uint8Array(0)) {
  const repr: Ipv4Repr = {
    dscp: 10,
    ecn: 1,
    ident: 0xbeef,
    dontFragment: false,
    moreFragments: more,
    fragmentOffset: offset,
    ttl: 63,
    protocol: IpProtocol.UDP,
    src: 0x0a000101,
    dst: 0x0a000201,
    options,
    payload: Uint8Array.from({ length: len }, (_, i) => (offset + i) & 0xff),
  };
  return repr;
}

Deno.test("a forwarded non-last fragment cut again keeps ID, absolute offsets and MF on every piece", () => {
  const pieces = refragment4(fragment(1480, true, 1480), 600)!.map((p) => parseIpv4(p));
  assert.deepEqual(pieces.map((p) => p.fragmentOffset), [1480, 1480 + 576, 1480 + 1152]);
  assert.deepEqual(pieces.map((p) => p.moreFragments), [true, true, true]);
  assert.ok(pieces.every((p) => p.ident === 0xbeef && p.ttl === 63 && p.dscp === 10));
  assert.ok(pieces.every((p) => 20 + p.payload.length <= 600));
  const joined = pieces.flatMap((p) => [...p.payload]);
  assert.deepEqual(joined, [...fragment(1480, true, 1480).payload]);
});

Deno.test("the last piece of a forwarded last fragment clears MF; a whole datagram starts at 0", () => {
  const last = refragment4(fragment(2960, false, 1000), 600)!.map((p) => parseIpv4(p));
  assert.deepEqual(last.map((p) => [p.fragmentOffset, p.moreFragments]), [
    [2960, true],
    [3536, false],
  ]);
  const whole = refragment4(fragment(0, false, 1000), 600)!.map((p) => parseIpv4(p));
  assert.deepEqual(whole.map((p) => [p.fragmentOffset, p.moreFragments]), [[0, true], [
    576,
    false,
  ]]);
});

Deno.test("pieces after the first carry only copied options, the header keeping its length", () => {
  const pieces = refragment4(fragment(0, true, 1200, OPTIONS), 600)!.map((p) => parseIpv4(p));
  assert.deepEqual(pieces[0].options, OPTIONS);
  for (const p of pieces.slice(1)) assert.deepEqual(p.options, STRIPPED);
  assert.deepEqual(pieces.map((p) => p.fragmentOffset), [0, 568, 1136]);
});

Deno.test("no room for 8 bytes, or an offset past the 13-bit field: undefined", () => {
  assert.equal(refragment4(fragment(0, true, 100), 27), undefined);
  assert.equal(refragment4(fragment(65000, true, 1200), 600), undefined);
});
