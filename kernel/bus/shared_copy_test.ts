/** copyBytes gives the same bytes as set() for every alignment and direction. */
import assert from "node:assert/strict";
import { copyBytes } from "./shared_copy.ts";

Deno.test("copyBytes copies exactly, shared or not, at every alignment", () => {
  const shared = new Uint8Array(new SharedArrayBuffer(1 << 16));
  const own = new Uint8Array(1 << 16);
  const src = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 255);
  own.set(src, 100);
  for (let a = 0; a < 9; a++) {
    for (let b = 0; b < 9; b++) {
      const into = shared.subarray(a, a + 5000);
      into.fill(0);
      copyBytes(into, own.subarray(100 + b, 100 + b + 4990));
      assert.deepEqual(into.subarray(0, 4990), src.subarray(b, b + 4990));
      assert.equal(into[4990], 0);
      const back = new Uint8Array(4990 + b).subarray(b);
      copyBytes(back, shared.subarray(a, a + 4990));
      assert.deepEqual(back, src.subarray(b, b + 4990));
    }
  }
  const small = new Uint8Array(3);
  copyBytes(small, shared.subarray(1, 4));
  assert.deepEqual(small, shared.subarray(1, 4));
});
