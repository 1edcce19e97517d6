import assert from "node:assert/strict";
import { parseIPv6 } from "../wire/addr.ts";
import { martian6 } from "./martians6.ts";

const m = (loopback: boolean, src: string, dst: string) =>
  martian6(loopback, parseIPv6(src)!, parseIPv6(dst)!);

Deno.test("martian6: ::1 off loopback, multicast sources, interface-local and scope-0 groups", () => {
  assert.equal(m(false, "::1", "2001:db8::2"), "martian-source");
  assert.equal(m(false, "2001:db8::1", "::1"), "martian-destination");
  assert.equal(m(false, "ff02::1", "2001:db8::2"), "martian-source");
  assert.equal(m(false, "2001:db8::1", "ff01::1"), "martian-destination");
  assert.equal(m(false, "2001:db8::1", "ff00::1"), "martian-destination");
  assert.equal(m(false, "2001:db8::1", "ff02::1"), undefined);
  assert.equal(m(false, "fe80::1", "2001:db8::2"), undefined);
  assert.equal(m(false, "::", "ff02::1:ff00:2"), undefined, "DAD");
});

Deno.test("martian6: loopback carries ::1 and interface-local groups", () => {
  assert.equal(m(true, "::1", "::1"), undefined);
  assert.equal(m(true, "::1", "ff01::1"), undefined);
  assert.equal(m(true, "ff02::1", "::1"), "martian-source");
  assert.equal(m(true, "::1", "ff00::1"), "martian-destination");
});
