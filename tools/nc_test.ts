import { deepEqual, throws } from "node:assert/strict";
import { parsePorts, unescapeText } from "./nc.ts";

Deno.test("-e text expands C escapes and encodes the rest as UTF-8", () => {
  deepEqual([...unescapeText("a\\r\\n\\t\\\\\\x00\\xff")], [97, 13, 10, 9, 92, 0, 255]);
  deepEqual([...unescapeText("é\\q")], [0xc3, 0xa9, 92, 113]);
  deepEqual([...unescapeText("\\x4")], [92, 120, 52]);
});

Deno.test("ports are single numbers or ranges", () => {
  deepEqual(parsePorts("80"), [80]);
  deepEqual(parsePorts("20-23"), [20, 21, 22, 23]);
  throws(() => parsePorts("23-20"), /invalid port range/);
  throws(() => parsePorts("0"), /invalid port/);
  throws(() => parsePorts("http"), /invalid port/);
});
