import assert from "node:assert/strict";
import { fcs } from "./fcs.ts";

Deno.test("fcs: CRC-32 check value of '123456789' is 0xCBF43926", () => {
  assert.equal(fcs(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(fcs(new Uint8Array(0)), 0);
});
