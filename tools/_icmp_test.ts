import { deepEqual, equal, ok } from "node:assert/strict";
import { AF_INET, AF_INET6, inet_pton, IPPROTO_ICMP, IPPROTO_UDP } from "../libc/mod.ts";
import { verifies } from "../netstack/wire/checksum.ts";
import { buildEcho, describeIcmpError, echoPayload, icmpSource, parseIcmp } from "./_icmp.ts";

/** A minimal IPv4 datagram (checksum left 0: the parser does not look at it). */
function ipv4(src: string, dst: string, protocol: number, ttl: number, payload: Uint8Array) {
  const d = new Uint8Array(20 + payload.length);
  d[0] = 0x45;
  d[2] = d.length >> 8;
  d[3] = d.length & 255;
  d[8] = ttl;
  d[9] = protocol;
  d.set(inet_pton(AF_INET, src)!, 12);
  d.set(inet_pton(AF_INET, dst)!, 16);
  d.set(payload, 20);
  return d;
}

function ipv6(dst: string, next: number, payload: Uint8Array) {
  const d = new Uint8Array(40 + payload.length);
  d[0] = 0x60;
  d[4] = payload.length >> 8;
  d[5] = payload.length & 255;
  d[6] = next;
  d[7] = 64;
  d.set(inet_pton(AF_INET6, "::1")!, 8);
  d.set(inet_pton(AF_INET6, dst)!, 24);
  d.set(payload, 40);
  return d;
}

function icmpError(type: number, code: number, quoted: Uint8Array, info = 0) {
  const m = new Uint8Array(8 + quoted.length);
  m[0] = type;
  m[1] = code;
  m[6] = info >> 8;
  m[7] = info & 255;
  m.set(quoted, 8);
  return m;
}

const UDP_PROBE = Uint8Array.of(0x9c, 0x40, 0x82, 0x9a, 0, 40, 0, 0); // 40000 → 33434

Deno.test("an IPv4 echo request carries id, seq and a verifying checksum", () => {
  const m = buildEcho(AF_INET, 0x1234, 7, echoPayload(56));
  equal(m.length, 64);
  deepEqual([...m.subarray(0, 2), ...m.subarray(4, 8)], [8, 0, 0x12, 0x34, 0, 7]);
  ok(verifies(m));
  equal(m[8 + 10], 10);
});

Deno.test("an IPv6 echo request leaves the checksum to the kernel", () => {
  const m = buildEcho(AF_INET6, 1, 2, echoPayload(4));
  deepEqual([...m], [128, 0, 0, 0, 0, 1, 0, 2, 0, 1, 2, 3]);
});

Deno.test("an IPv4 echo reply is classified with its TTL and ICMP length", () => {
  const reply = buildEcho(AF_INET, 0x1234, 3, echoPayload(56));
  reply[0] = 0;
  const d = ipv4("10.0.0.2", "10.0.0.1", IPPROTO_ICMP, 63, reply);
  const ev = parseIcmp(AF_INET, d);
  ok(ev?.kind === "reply");
  deepEqual([ev.id, ev.seq, ev.ttl, ev.icmpLen, ev.data.length], [0x1234, 3, 63, 64, 56]);
  equal(icmpSource(AF_INET, d, undefined), "10.0.0.2");
});

Deno.test("a time exceeded quoting our echo request names its id and seq", () => {
  const probe = ipv4(
    "10.0.0.1",
    "10.9.0.1",
    IPPROTO_ICMP,
    1,
    buildEcho(AF_INET, 77, 5, echoPayload(56)),
  );
  const d = ipv4(
    "10.0.0.254",
    "10.0.0.1",
    IPPROTO_ICMP,
    64,
    icmpError(11, 0, probe.subarray(0, 28)),
  );
  const ev = parseIcmp(AF_INET, d);
  ok(ev?.kind === "error");
  deepEqual(ev.quote, { dst: "10.9.0.1", protocol: IPPROTO_ICMP, id: 77, seq: 5 });
  equal(describeIcmpError(AF_INET, ev.type, ev.code, ev.info), "Time to live exceeded");
});

Deno.test("a port unreachable quoting a UDP probe names its ports", () => {
  const probe = ipv4("127.0.0.1", "127.0.0.1", IPPROTO_UDP, 1, UDP_PROBE);
  const ev = parseIcmp(
    AF_INET,
    ipv4("127.0.0.1", "127.0.0.1", IPPROTO_ICMP, 64, icmpError(3, 3, probe)),
  );
  ok(ev?.kind === "error");
  deepEqual(ev.quote, { dst: "127.0.0.1", protocol: IPPROTO_UDP, srcPort: 40000, dstPort: 33434 });
  equal(describeIcmpError(AF_INET, 3, 3, 0), "Destination Port Unreachable");
  equal(describeIcmpError(AF_INET, 3, 4, 1400), "Frag needed and DF set (mtu = 1400)");
});

Deno.test("ICMPv6 errors quote the IPv6 header and transport ports", () => {
  const ev = parseIcmp(AF_INET6, icmpError(3, 0, ipv6("2001:db8::9", IPPROTO_UDP, UDP_PROBE)));
  ok(ev?.kind === "error");
  deepEqual(ev.quote, {
    dst: "2001:db8::9",
    protocol: IPPROTO_UDP,
    srcPort: 40000,
    dstPort: 33434,
  });
  equal(describeIcmpError(AF_INET6, 3, 0, 0), "Time exceeded: Hop limit");
  equal(describeIcmpError(AF_INET6, 1, 3, 0), "Destination unreachable: Address unreachable");
  equal(
    icmpSource(AF_INET6, new Uint8Array(8), { family: 10, addr: "fe80::1", port: 0 }),
    "fe80::1",
  );
});

Deno.test("truncated and foreign datagrams are not classified", () => {
  equal(parseIcmp(AF_INET, new Uint8Array(10)), undefined);
  equal(
    parseIcmp(AF_INET, ipv4("1.1.1.1", "2.2.2.2", IPPROTO_UDP, 1, new Uint8Array(8))),
    undefined,
  );
  equal(
    parseIcmp(AF_INET, ipv4("1.1.1.1", "2.2.2.2", IPPROTO_ICMP, 1, new Uint8Array(4))),
    undefined,
  );
  equal(parseIcmp(AF_INET6, icmpError(1, 4, new Uint8Array(20))), undefined);
  deepEqual(parseIcmp(AF_INET6, icmpError(135, 0, new Uint8Array(20))), {
    kind: "other",
    type: 135,
  });
});
