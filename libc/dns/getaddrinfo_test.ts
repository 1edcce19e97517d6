/**
 * The stub resolver against dnsmasq's captured answers (tests/fixtures/dns/) replayed by a
 * played network, and against lying ones: spoofed IDs, sources and questions, garbage, silence.
 */
import assert from "node:assert/strict";
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM } from "../../kernel/abi.ts";
import type { SockAddr } from "../../kernel/bus/messages.ts";
import { type DnsMessage, DnsType, emitDns, Rcode } from "../../netstack/wire/dns.ts";
import { type Delivery, fakeIo, type FakeNet, withId } from "./_fake_io.ts";
import { GaiError } from "./gai_error.ts";
import {
  AI_CANONNAME,
  AI_NUMERICHOST,
  NI_NAMEREQD,
  resolveAddrInfo,
  resolveNameInfo,
  reverseName,
} from "./getaddrinfo.ts";

const DIR = new URL("../../tests/fixtures/dns/", import.meta.url);
const captured = (name: string) => Deno.readFileSync(new URL(`${name}.answer.bin`, DIR));
const SERVER = "10.53.0.53";
const from = (addr = SERVER, port = 53): SockAddr => ({ family: 2, addr, port });

/** A server that answers each question from captures: "name/type" → fixture. */
function replay(table: Record<string, string>): FakeNet["serve"] {
  return (q) => {
    const key = `${q.questions[0].name}/${q.questions[0].type}`;
    const f = table[key];
    if (!f) return [{ data: withId(captured("nxdomain"), q.id), from: from() }];
    return [{ data: withId(captured(f), q.id), from: from() }];
  };
}

const base = { nameservers: [SERVER], search: ["lab"] };

async function gaiError(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (e: unknown) => e instanceof GaiError && e.code === code);
}

Deno.test("getaddrinfo: numbers and the hosts table need no DNS", async () => {
  const io = fakeIo({
    conf: { ...base, hosts: [{ addr: "10.0.0.2", names: ["beta"] }] },
  });
  const r = await resolveAddrInfo(io, "beta", "7", { socktype: SOCK_STREAM });
  assert.deepEqual(r.map((a) => a.addr), [{ family: AF_INET, addr: "10.0.0.2", port: 7 }]);
  const lit = await resolveAddrInfo(io, "fe80::1%2", "http", { family: AF_INET6 });
  assert.deepEqual(lit.map((a) => [a.socktype, a.addr]), [
    [SOCK_STREAM, { family: AF_INET6, addr: "fe80::1", port: 80, scopeId: 2 }],
  ]);
  // No socket type asked: STREAM, DGRAM and RAW, as getent ahosts shows them.
  assert.equal((await resolveAddrInfo(io, "10.0.0.9", undefined)).length, 3);
  assert.equal(io.seen.length, 0);
  await gaiError(resolveAddrInfo(io, "beta", undefined, { flags: AI_NUMERICHOST }), "EAI_NONAME");
  await gaiError(
    resolveAddrInfo(io, "10.0.0.1", undefined, { family: AF_INET6 }),
    "EAI_ADDRFAMILY",
  );
  await gaiError(resolveAddrInfo(io, "beta", "nosuchservice"), "EAI_SERVICE");
  await gaiError(resolveAddrInfo(io, undefined, undefined), "EAI_NONAME");
});

Deno.test("getaddrinfo: A and AAAA from dnsmasq's answers, search domain applied", async () => {
  const io = fakeIo({
    conf: base,
    serve: replay({ "beta.lab/1": "a_beta", "beta.lab/28": "aaaa" }),
    sources: {
      "10.53.0.2": { addr: "10.53.0.1", prefixLen: 24 },
      "fd53::2": { addr: "fd53::1", prefixLen: 64 },
      "2001:db8:53::2": { addr: "fd53::1", prefixLen: 64 },
    },
  });
  const r = await resolveAddrInfo(io, "beta", undefined, {
    socktype: SOCK_DGRAM,
    flags: AI_CANONNAME,
  });
  // As glibc with a ULA source: the ULA first (precedence 40 over IPv4's 10), then IPv4, then
  // the global address whose label does not match the source's.
  assert.deepEqual(r.map((a) => (a.addr as { addr: string }).addr), [
    "fd53::2",
    "10.53.0.2",
    "2001:db8:53::2",
  ]);
  assert.equal(r[0].canonname, "beta.lab");
  // "beta" has fewer dots than ndots:1, so the search domain comes first and is enough.
  assert.deepEqual(io.seen.map((s) => s.msg.questions[0].name), ["beta.lab", "beta.lab"]);
});

Deno.test("getaddrinfo: a CNAME chain gives the target's addresses and canonical name", async () => {
  const io = fakeIo({ conf: base, serve: replay({ "www.lab/1": "cname_chain" }) });
  const r = await resolveAddrInfo(io, "www.lab", undefined, {
    family: AF_INET,
    socktype: SOCK_STREAM,
    flags: AI_CANONNAME,
  });
  assert.deepEqual(r.map((a) => [(a.addr as { addr: string }).addr, a.canonname]), [
    ["10.53.0.2", "beta.lab"],
  ]);
  // One dot reaches ndots:1: tried as is first, and it answered.
  assert.deepEqual(io.seen.map((s) => s.msg.questions[0].name), ["www.lab"]);
});

Deno.test("getaddrinfo: a truncated answer is asked again over TCP and gives all 60", async () => {
  const io = fakeIo({
    conf: base,
    serve: replay({ "many.lab/1": "truncated" }),
    serveTcp: (q) => withId(captured("truncated_tcp"), q.id),
  });
  const r = await resolveAddrInfo(io, "many.lab", undefined, {
    family: AF_INET,
    socktype: SOCK_STREAM,
  });
  assert.equal(r.length, 60);
  assert.deepEqual(io.seen.map((s) => s.proto), ["udp", "tcp"]);
  assert.equal(io.seen[0].msg.id, io.seen[1].msg.id);
});

Deno.test("getaddrinfo: NXDOMAIN, NODATA, SERVFAIL and REFUSED become EAI codes", async () => {
  const conf = { ...base, search: [] };
  // Each capture answers the very question asked here.
  const as = (fixture: string, _name: string, _type: number): FakeNet["serve"] => (q) => [
    { data: withId(captured(fixture), q.id), from: from() },
  ];
  await gaiError(
    resolveAddrInfo(
      fakeIo({ conf, serve: as("nxdomain", "nosuch.lab", 1) }),
      "nosuch.lab",
      undefined,
      {
        family: AF_INET,
      },
    ),
    "EAI_NONAME",
  );
  await gaiError(
    resolveAddrInfo(
      fakeIo({ conf, serve: as("nodata_aaaa", "alpha.lab", 28) }),
      "alpha.lab",
      undefined,
      {
        family: AF_INET6,
      },
    ),
    "EAI_NODATA",
  );
  const sf = fakeIo({ conf: { ...conf, attempts: 2 }, serve: as("servfail", "x.broken", 1) });
  await gaiError(resolveAddrInfo(sf, "x.broken", undefined, { family: AF_INET }), "EAI_AGAIN");
  assert.equal(sf.seen.length, 2, "SERVFAIL is retried attempts times");
  await gaiError(
    resolveAddrInfo(
      fakeIo({ conf, serve: as("refused", "example.com", 1) }),
      "example.com",
      undefined,
      {
        family: AF_INET,
      },
    ),
    "EAI_AGAIN",
  );
});

Deno.test("getaddrinfo: silence from every server is EAI_AGAIN after attempts × servers", async () => {
  const io = fakeIo({
    conf: { nameservers: ["10.53.0.53", "10.53.0.54"], attempts: 3, timeout: 1 },
    serve: () => "silent",
  });
  await gaiError(resolveAddrInfo(io, "alpha.lab", undefined, { family: AF_INET }), "EAI_AGAIN");
  assert.deepEqual(io.seen.map((s) => s.server), [
    "10.53.0.53",
    "10.53.0.54",
    "10.53.0.53",
    "10.53.0.54",
    "10.53.0.53",
    "10.53.0.54",
  ]);
  // Each query its own ID.
  assert.equal(new Set(io.seen.map((s) => s.msg.id)).size, 6);
  // A timeout ends the search list walk (glibc res_nsearch): "alpha.lab" only, not "alpha.lab.lab".
  assert.ok(io.seen.every((s) => s.msg.questions[0].name === "alpha.lab"));
});

Deno.test("getaddrinfo: every server refusing (port unreachable) is EAI_NONAME, as glibc", async () => {
  const io = fakeIo({ conf: { nameservers: [SERVER] }, serve: () => "refused" });
  await gaiError(resolveAddrInfo(io, "alpha.lab", undefined, { family: AF_INET }), "EAI_NONAME");
});

Deno.test("getaddrinfo: spoofed answers are ignored, the real one still counts", async () => {
  const real = (q: DnsMessage) => withId(captured("a"), q.id);
  const io = fakeIo({
    conf: { nameservers: [SERVER] },
    serve: (q): Delivery[] => [
      { data: withId(captured("a"), q.id ^ 1), from: from() }, // wrong ID
      { data: real(q), from: from("10.53.0.66") }, // wrong source address
      { data: real(q), from: from(SERVER, 5353) }, // wrong source port
      { data: withId(captured("a_beta"), q.id), from: from() }, // wrong question
      { data: real(q).slice(0, 11), from: from() }, // no header
      {
        data: Uint8Array.from([...real(q).slice(0, 2), 0x01, 0x00, ...real(q).slice(4)]),
        from: from(),
      }, // a query
      { data: real(q), from: from() },
    ],
  });
  const r = await resolveAddrInfo(io, "alpha.lab", undefined, {
    family: AF_INET,
    socktype: SOCK_STREAM,
  });
  assert.deepEqual(r.map((a) => (a.addr as { addr: string }).addr), ["10.53.0.1"]);
});

Deno.test("getaddrinfo: a malformed answer fails that server and the next one answers", async () => {
  const garbage = (q: DnsMessage) => {
    const b = withId(captured("a"), q.id);
    b[b.length - 5] = 0x20; // RDLENGTH 0x2004: RDATA past the end
    return b;
  };
  const io = fakeIo({
    conf: { nameservers: ["10.53.0.53", "10.53.0.54"] },
    serve: (q, server) =>
      (server as { addr: string }).addr === "10.53.0.53"
        ? [{ data: garbage(q), from: server }]
        : [{ data: withId(captured("a"), q.id), from: server }],
  });
  const r = await resolveAddrInfo(io, "alpha.lab", undefined, {
    family: AF_INET,
    socktype: SOCK_STREAM,
  });
  assert.deepEqual(r.map((a) => (a.addr as { addr: string }).addr), ["10.53.0.1"]);
  assert.deepEqual(io.seen.map((s) => s.server), ["10.53.0.53", "10.53.0.54"]);
  // Garbage from every server is EAI_AGAIN, never an exception of another kind.
  const bad = fakeIo({
    conf: { nameservers: [SERVER] },
    serve: (q) => [{ data: garbage(q), from: from() }],
  });
  await gaiError(resolveAddrInfo(bad, "alpha.lab", undefined, { family: AF_INET }), "EAI_AGAIN");
});

Deno.test("getnameinfo: the hosts table, then PTR; numeric unless NI_NAMEREQD", async () => {
  const ptr = (q: DnsMessage): Delivery[] => {
    const answer: DnsMessage = {
      ...q,
      flags: 0x8180,
      answers: [{
        name: q.questions[0].name,
        type: DnsType.PTR,
        class: 1,
        ttl: 60,
        target: "gamma.lab",
      }],
    };
    return q.questions[0].name === reverseName("10.53.0.3")
      ? [{ data: emitDns(answer), from: from() }]
      : [{ data: emitDns({ ...q, flags: 0x8180, rcode: Rcode.NXDOMAIN }), from: from() }];
  };
  const io = fakeIo({
    conf: { nameservers: [SERVER], hosts: [{ addr: "10.0.0.2", names: ["beta"] }] },
    serve: ptr,
  });
  assert.deepEqual(await resolveNameInfo(io, { family: 2, addr: "10.0.0.2", port: 7 }), {
    host: "beta",
    service: "echo",
  });
  assert.equal(
    (await resolveNameInfo(io, { family: 2, addr: "10.53.0.3", port: 1 })).host,
    "gamma.lab",
  );
  assert.equal(
    (await resolveNameInfo(io, { family: 2, addr: "10.53.0.4", port: 1 })).host,
    "10.53.0.4",
  );
  await gaiError(
    resolveNameInfo(io, { family: 2, addr: "10.53.0.4", port: 1 }, NI_NAMEREQD),
    "EAI_NONAME",
  );
  assert.equal(
    reverseName("2001:db8::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
});

Deno.test("getaddrinfo: the search walk's error is glibc's (measured with python3 against dnsmasq)", async () => {
  // dnsmasq with --local=/lab/ and no upstream: names under lab are NXDOMAIN or NODATA, every
  // other name REFUSED. Python's socket.getaddrinfo in that namespace gave these codes.
  const serve: FakeNet["serve"] = (q) => {
    const { name, type } = q.questions[0];
    const reply = (rcode: number, answers: DnsMessage["answers"] = []): Delivery[] => [
      { data: emitDns({ ...q, flags: 0x8580, rcode, answers }), from: from() },
    ];
    if (!name.endsWith(".lab")) return reply(Rcode.REFUSED);
    if (name !== "v4only.lab") return reply(Rcode.NXDOMAIN);
    if (type !== DnsType.A) return reply(Rcode.NOERROR);
    return reply(Rcode.NOERROR, [{ name, type, class: 1, ttl: 0, addr: "10.9.9.9" }]);
  };
  const io = () => fakeIo({ conf: { nameservers: [SERVER], search: ["lab"] }, serve });
  await gaiError(resolveAddrInfo(io(), "v4only", undefined, { family: AF_INET6 }), "EAI_NODATA");
  await gaiError(resolveAddrInfo(io(), "nosuchx", undefined), "EAI_AGAIN");
  await gaiError(resolveAddrInfo(io(), "nosuch.lab", undefined), "EAI_NONAME");
  await gaiError(resolveAddrInfo(io(), "x.nosuch", undefined), "EAI_AGAIN");
  const ok = await resolveAddrInfo(io(), "v4only", undefined, { socktype: SOCK_STREAM });
  assert.deepEqual(ok.map((a) => (a.addr as { addr: string }).addr), ["10.9.9.9"]);
});
