import { equal } from "node:assert/strict";
import {
  broadcast4,
  formatBytesScaled,
  formatRtt,
  formatThroughput,
  netmask4,
  prefixFromNetmask,
} from "./_format.ts";

Deno.test("round-trip times get iputils' precision", () => {
  equal(formatRtt(0.0456), "0.046");
  equal(formatRtt(1.234), "1.23");
  equal(formatRtt(12.34), "12.3");
  equal(formatRtt(123.4), "123");
});

Deno.test("byte counts scale in powers of 1000 with one truncated decimal", () => {
  equal(formatBytesScaled(0), "0.0 B");
  equal(formatBytesScaled(999), "999.0 B");
  equal(formatBytesScaled(1599), "1.5 KB");
  equal(formatBytesScaled(12_345_678), "12.3 MB");
});

Deno.test("netmasks and prefix lengths convert both ways", () => {
  equal(netmask4(0), "0.0.0.0");
  equal(netmask4(8), "255.0.0.0");
  equal(netmask4(23), "255.255.254.0");
  equal(netmask4(32), "255.255.255.255");
  equal(prefixFromNetmask("255.255.254.0"), 23);
  equal(prefixFromNetmask("255.255.255.255"), 32);
  equal(prefixFromNetmask("0.0.0.0"), 0);
  equal(prefixFromNetmask("255.0.255.0"), undefined);
  equal(prefixFromNetmask("255.255.256.0"), undefined);
});

Deno.test("broadcast addresses fill the host bits", () => {
  equal(broadcast4("10.0.0.1", 24), "10.0.0.255");
  equal(broadcast4("192.168.7.9", 22), "192.168.7.255");
  equal(broadcast4("200.1.2.3", 1), "255.255.255.255");
  equal(broadcast4("10.1.2.3", 32), "10.1.2.3");
});

Deno.test("throughput uses decimal megabytes and megabits", () => {
  equal(formatThroughput(2_000_000, 500), "2000000 bytes in 0.500 s = 4.00 MB/s = 32.00 Mbit/s");
});
