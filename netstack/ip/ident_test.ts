import assert from "node:assert/strict";
import { IdentGenerator } from "./ident.ts";
import { secretFrom } from "./keyed_hash.ts";

Deno.test("ip ident: IDs to one destination follow each other; other destinations tell nothing (RFC 7739 §5.3.2)", () => {
  const g = new IdentGenerator(secretFrom(7));
  const a = [0, 1, 2].map(() => g.next(0x0a000001, 0x0a000002, 6) & 0xffff);
  assert.deepEqual([a[1] - a[0], a[2] - a[1]].map((d) => (d + 0x10000) & 0xffff), [1, 1]);
  // Sending to others in between does not move this destination's sequence.
  for (let i = 0; i < 100; i++) g.next(0x0a000001, 0x0a000100 + i, 6);
  assert.equal((g.next(0x0a000001, 0x0a000002, 6) - a[2] + 0x10000) & 0xffff, 1);
  // Another destination or protocol starts somewhere unrelated; so does another boot.
  const other = g.next(0x0a000001, 0x0a000003, 6) & 0xffff;
  assert.ok(Math.abs(other - a[0]) > 200, `${other} near ${a[0]}`);
  const reboot = new IdentGenerator(secretFrom(8)).next(0x0a000001, 0x0a000002, 6) & 0xffff;
  assert.notEqual(reboot, a[0]);
});

Deno.test("ip ident: IPv6 addresses key the table too", () => {
  const g = new IdentGenerator(secretFrom(3));
  const s = new Uint8Array(16).fill(1), d = new Uint8Array(16).fill(2);
  const x = g.next(s, d, 17);
  assert.equal(g.next(s, d, 17), (x + 1) >>> 0);
  assert.notEqual(g.next(s, new Uint8Array(16).fill(3), 17), (x + 2) >>> 0);
});
