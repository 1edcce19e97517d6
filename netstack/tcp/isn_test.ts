import assert from "node:assert/strict";
import { IsnGenerator } from "./isn.ts";

const key = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

// RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey).
Deno.test("isn: deterministic for a key and tuple, different across tuples and keys", () => {
  const g = new IsnGenerator(key);
  assert.equal(g.next(0, "10.0.0.1:80-10.0.0.2:5000"), g.next(0, "10.0.0.1:80-10.0.0.2:5000"));
  assert.notEqual(g.next(0, "10.0.0.1:80-10.0.0.2:5000"), g.next(0, "10.0.0.1:80-10.0.0.2:5001"));
  const h = new IsnGenerator(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9]));
  assert.notEqual(g.next(0, "t"), h.next(0, "t"));
});

// RFC 6528 §3: M advances every 4 µs, so the same tuple later gets a larger ISN.
Deno.test("isn: the clock component advances 250 per ms", () => {
  const g = new IsnGenerator(key);
  assert.equal((g.next(10, "t") - g.next(0, "t")) >>> 0, 2500);
});

Deno.test("isn: a short key is refused", () => {
  assert.throws(() => new IsnGenerator(new Uint8Array(4)), RangeError);
});
