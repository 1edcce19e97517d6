import { deepEqual } from "node:assert/strict";
import { pattern } from "./ttcp.ts";

Deno.test("the ttcp pattern cycles through printable ASCII", () => {
  const p = pattern(200);
  deepEqual([p[0], p[94], p[95], p[199]], [32, 126, 32, 32 + (199 % 95)]);
});
