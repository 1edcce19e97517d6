import { deepEqual, equal } from "node:assert/strict";
import { formatReply, formatSummary, rttSummary } from "./ping.ts";

Deno.test("rtt mdev is the population standard deviation", () => {
  const r = rttSummary([1, 2, 3, 4]);
  deepEqual([r.min, r.avg, r.max], [1, 2.5, 4]);
  equal(r.mdev.toFixed(6), Math.sqrt(1.25).toFixed(6));
  deepEqual(rttSummary([]), { min: 0, avg: 0, max: 0, mdev: 0 });
  equal(rttSummary([0.1, 0.1, 0.1]).mdev < 1e-9, true);
});

Deno.test("the summary reads like iputils", () => {
  const s = { transmitted: 3, received: 3, duplicates: 0, errors: 0, rtts: [0.045, 0.058, 0.072] };
  deepEqual(formatSummary("10.0.0.2", s, 2003.4), [
    "--- 10.0.0.2 ping statistics ---",
    "3 packets transmitted, 3 received, 0% packet loss, time 2003ms",
    "rtt min/avg/max/mdev = 0.045/0.058/0.072/0.011 ms",
  ]);
});

Deno.test("loss, errors and duplicates appear in the summary; no rtt line without replies", () => {
  const none = { transmitted: 3, received: 0, duplicates: 0, errors: 3, rtts: [] };
  deepEqual(formatSummary("10.9.0.1", none, 2040), [
    "--- 10.9.0.1 ping statistics ---",
    "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2040ms",
  ]);
  const some = { transmitted: 3, received: 2, duplicates: 1, errors: 0, rtts: [1, 1] };
  equal(
    formatSummary("h", some, 10)[1],
    "3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, time 10ms",
  );
});

Deno.test("reply lines show bytes, seq, ttl and time", () => {
  equal(
    formatReply(64, "10.0.0.2", 1, 64, 0.1234),
    "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.123 ms",
  );
  equal(
    formatReply(64, "::1", 2, undefined, 12.34, true),
    "64 bytes from ::1: icmp_seq=2 time=12.3 ms (DUP!)",
  );
});
