import { equal } from "node:assert/strict";
import { AF_INET, AF_INET6, inet, inet6 } from "../libc/mod.ts";
import { hostOf, listenText, unmapped } from "./_net.ts";

Deno.test("a dual-stack server's v4-mapped peers print as IPv4", () => {
  equal(unmapped("::ffff:10.0.0.1"), "10.0.0.1");
  equal(unmapped("::FFFF:127.0.0.1"), "127.0.0.1");
  equal(unmapped("::1"), "::1");
  equal(unmapped("64:ff9b::10.0.0.1"), "64:ff9b::10.0.0.1");
  equal(hostOf(inet6("::ffff:10.0.0.1", 7)), "10.0.0.1");
  equal(hostOf(inet("10.0.0.1", 7)), "10.0.0.1");
  equal(hostOf(inet6("fe80::1", 7)), "fe80::1");
  equal(hostOf(undefined), "?");
});

Deno.test("a listener's wildcard prints as dual-stack [::], IPv6-only [::] or 0.0.0.0", () => {
  equal(listenText(undefined, 7), "[::]:7");
  equal(listenText(AF_INET6, 7), "[::]:7 (IPv6 only)");
  equal(listenText(AF_INET, 7), "0.0.0.0:7");
});
