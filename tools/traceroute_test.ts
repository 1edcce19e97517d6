import { deepEqual, equal } from "node:assert/strict";
import { AF_INET, AF_INET6 } from "../libc/mod.ts";
import { classifyError, formatHop } from "./traceroute.ts";

Deno.test("hops print like Linux traceroute, repeating the address only when it changes", () => {
  equal(
    formatHop(1, [
      { from: "10.0.0.1", rttMs: 0.1234, note: "", reached: false },
      { note: "", reached: false },
      { from: "10.0.0.1", rttMs: 1.5, note: "", reached: false },
    ], false),
    " 1  10.0.0.1 (10.0.0.1)  0.123 ms *  1.500 ms",
  );
  equal(
    formatHop(12, [{ note: "", reached: false }, { note: "", reached: false }], true),
    "12  * *",
  );
  equal(
    formatHop(2, [
      { from: "10.0.0.1", rttMs: 1, note: "!H", reached: true },
      { from: "10.0.0.2", rttMs: 2, note: "", reached: true },
    ], true),
    " 2  10.0.0.1  1.000 ms !H 10.0.0.2  2.000 ms",
  );
});

Deno.test("ICMP errors end the trace or annotate it", () => {
  deepEqual(classifyError(AF_INET, 11, 0), { note: "", final: false });
  deepEqual(classifyError(AF_INET, 3, 3), { note: "", final: true });
  deepEqual(classifyError(AF_INET, 3, 1), { note: "!H", final: true });
  deepEqual(classifyError(AF_INET, 3, 13), { note: "!X", final: true });
  equal(classifyError(AF_INET, 5, 0), undefined);
  deepEqual(classifyError(AF_INET6, 3, 0), { note: "", final: false });
  deepEqual(classifyError(AF_INET6, 1, 4), { note: "", final: true });
  deepEqual(classifyError(AF_INET6, 1, 3), { note: "!H", final: true });
});
