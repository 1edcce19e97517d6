/**
 * DNS messages against answers captured from dnsmasq 2.90 (tests/fixtures/dns/capture.py), and
 * against hostile bytes: pointer loops, forward and out-of-range pointers, long labels and names,
 * counts that promise more than the bytes hold.
 */
import assert from "node:assert/strict";
import { DnsFlag, dnsQuery, DnsType, emitDns, parseDns, parseDnsHeader, Rcode } from "./dns.ts";
import { nameLabels, NameWriter, parseName, sameName } from "./dns_name.ts";
import { WireError } from "./errors.ts";

const DIR = new URL("../../tests/fixtures/dns/", import.meta.url);
const fixture = (name: string) => Deno.readFileSync(new URL(name, DIR));
const answer = (name: string) => parseDns(fixture(`${name}.answer.bin`));

Deno.test("dns: our query encodes byte for byte as the capture's (built by python)", () => {
  const cases: Array<[string, number, string, number]> = [
    ["a", 0x1001, "alpha.lab", DnsType.A],
    ["aaaa", 0x1002, "beta.lab", DnsType.AAAA],
    ["cname_chain", 0x1004, "www.lab", DnsType.A],
  ];
  for (const [file, id, name, type] of cases) {
    assert.deepEqual(emitDns(dnsQuery(id, name, type)), fixture(`${file}.query.bin`));
  }
});

Deno.test("dns: dnsmasq's A and AAAA answers", () => {
  const a = answer("a");
  assert.equal(a.id, 0x1001);
  assert.ok(a.flags & DnsFlag.QR && a.flags & DnsFlag.RD && a.flags & DnsFlag.AA);
  assert.equal(a.rcode, Rcode.NOERROR);
  assert.deepEqual(a.questions, [{ name: "alpha.lab", type: 1, class: 1 }]);
  assert.deepEqual(a.answers.map((r) => [r.name, r.type, r.addr]), [["alpha.lab", 1, "10.53.0.1"]]);
  const aaaa = answer("aaaa");
  assert.deepEqual(aaaa.answers.map((r) => r.addr).sort(), ["2001:db8:53::2", "fd53::2"]);
});

Deno.test("dns: a CNAME chain arrives in order, each link a record", () => {
  const m = answer("cname_chain");
  assert.deepEqual(
    m.answers.map((r) => [r.name, r.type, r.target ?? r.addr]),
    [["www.lab", 5, "web.lab"], ["web.lab", 5, "beta.lab"], ["beta.lab", 1, "10.53.0.2"]],
  );
  const six = answer("cname_chain_aaaa");
  // dnsmasq answers from its cache, in no fixed order.
  assert.deepEqual(six.answers.slice(2).map((r) => r.addr).sort(), ["2001:db8:53::2", "fd53::2"]);
});

Deno.test("dns: NXDOMAIN, no data, SERVFAIL and REFUSED answers", () => {
  assert.equal(answer("nxdomain").rcode, Rcode.NXDOMAIN);
  const nodata = answer("nodata_aaaa");
  assert.equal(nodata.rcode, Rcode.NOERROR);
  assert.equal(nodata.answers.length, 0);
  assert.equal(answer("servfail").rcode, Rcode.SERVFAIL);
  assert.equal(answer("refused").rcode, Rcode.REFUSED);
});

Deno.test("dns: a truncated UDP answer sets TC; the TCP answer has every record", () => {
  const h = parseDnsHeader(fixture("truncated.answer.bin"));
  assert.ok(h.flags & DnsFlag.TC);
  assert.ok(fixture("truncated.answer.bin").length <= 512);
  const full = answer("truncated_tcp");
  assert.equal(full.flags & DnsFlag.TC, 0);
  assert.equal(full.answers.length, 60);
  const addrs = new Set(full.answers.map((r) => r.addr));
  for (let i = 1; i <= 60; i++) assert.ok(addrs.has(`10.53.1.${i}`));
});

Deno.test("dns: parse → emit → parse keeps every capture's meaning, emit compresses", () => {
  for (const e of Deno.readDirSync(DIR)) {
    if (!e.name.endsWith(".bin")) continue;
    const bytes = fixture(e.name);
    const m = parseDns(bytes);
    const again = emitDns(m);
    assert.deepEqual(parseDns(again), m, e.name);
    assert.ok(again.length <= bytes.length, `${e.name}: ${again.length} > ${bytes.length}`);
    assert.ok(emitDns(m, { compress: false }).length >= again.length);
  }
  // dnsmasq compresses the simple answers as we do: they come out identical.
  for (const f of ["a", "a_beta", "nxdomain", "servfail"]) {
    assert.deepEqual(emitDns(answer(f)), fixture(`${f}.answer.bin`), f);
  }
});

/** A header with the given counts, then `body`. */
function msg(counts: number[], ...body: number[]): Uint8Array {
  return Uint8Array.from([0, 1, 0x81, 0x80, ...counts.flatMap((c) => [0, c]), ...body]);
}

function refuses(bytes: Uint8Array, why: RegExp) {
  assert.throws(
    () => parseDns(bytes),
    (e: unknown) => e instanceof WireError && why.test(e.message),
  );
}

Deno.test("dns: hostile names are parse errors, never loops or out-of-range reads", () => {
  // A pointer to itself, a pointer forward, one past the end, and a two-pointer loop.
  refuses(msg([1, 0, 0, 0], 0xc0, 12, 0, 1, 0, 1), /backwards/);
  refuses(msg([1, 0, 0, 0], 0xc0, 14, 0, 1, 0, 1), /backwards/);
  refuses(msg([1, 0, 0, 0], 0xc0, 0xff, 0, 1, 0, 1), /backwards/);
  refuses(msg([1, 0, 0, 0], 1, 0x61, 0xc0, 12, 0, 1, 0, 1), /backwards/);
  // A pointer cut in half, a label longer than the message, label types 01 and 10.
  refuses(msg([1, 0, 0, 0], 0xc0), /truncated/);
  refuses(msg([1, 0, 0, 0], 5, 0x61), /truncated/);
  refuses(msg([1, 0, 0, 0], 0x40, 0), /label type/);
  refuses(msg([1, 0, 0, 0], 0x80, 0), /label type/);
  // 64 would be a label type; 5 labels of 63 are over 255 octets.
  const long = Array.from({ length: 5 }, () => [63, ...new Array(63).fill(0x61)]).flat();
  refuses(msg([1, 0, 0, 0], ...long, 0, 0, 1, 0, 1), /longer than 255/);
  // Pointers that each point backwards but chain into a name over 255 octets.
  const chain: number[] = [];
  const body = [63, ...new Array(63).fill(0x61), 0];
  chain.push(...body);
  for (let i = 0; i < 4; i++) chain.push(63, ...new Array(63).fill(0x62), 0xc0, 12 + i * 66);
  assert.throws(() => parseName(msg([0, 0, 0, 0], ...chain), 12 + 4 * 66 - 66 + 66), WireError);
});

Deno.test("dns: counts and lengths that lie are parse errors", () => {
  const q = [1, 0x61, 0, 0, 1, 0, 1]; // "a" A IN
  refuses(msg([2, 0, 0, 0], ...q), /truncated/); // two questions promised
  refuses(msg([1, 1, 0, 0], ...q), /truncated/); // an answer promised
  const rr = (
    rdlen: number,
    ...rdata: number[]
  ) => [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, rdlen, ...rdata];
  refuses(msg([1, 1, 0, 0], ...q, ...rr(4, 1, 2, 3)), /truncated/); // RDATA short
  refuses(msg([1, 1, 0, 0], ...q, ...rr(5, 1, 2, 3, 4, 5)), /bad-length/); // A of 5 octets
  refuses(
    msg([1, 1, 0, 0], ...q, 0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4),
    /bad-length/,
  );
  // A CNAME whose name runs past its RDATA.
  refuses(msg([1, 1, 0, 0], ...q, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 1, 1, 0x62, 0), /overruns/);
  refuses(Uint8Array.of(0, 1, 0x81), /truncated/);
  // Bytes after the last counted record are ignored.
  assert.equal(parseDns(msg([1, 0, 0, 0], ...q, 9, 9, 9)).questions[0].name, "a");
});

Deno.test("dns names: escapes, case, limits and compression", () => {
  const w = new NameWriter();
  const first = w.encode("Www.Lab", 12);
  assert.deepEqual([...first], [3, 0x57, 0x77, 0x77, 3, 0x4c, 0x61, 0x62, 0]);
  assert.deepEqual([...w.encode("web.Lab", 21)], [3, 0x77, 0x65, 0x62, 0xc0, 16]);
  assert.deepEqual([...w.encode("lab.", 30)], [3, 0x6c, 0x61, 0x62, 0]); // "Lab" was not "lab"
  assert.deepEqual([...w.encode("Lab", 35)], [0xc0, 16]);
  assert.ok(sameName("WWW.lab", "www.LAB"));
  assert.equal(parseName(Uint8Array.of(3, 0x61, 0x2e, 0x00, 0), 0).name, "a\\.\\000");
  assert.deepEqual(nameLabels("a\\.\\000"), [Uint8Array.of(0x61, 0x2e, 0)]);
  assert.deepEqual(nameLabels(""), []);
  assert.throws(() => nameLabels("a..b"), /empty label/);
  assert.throws(() => nameLabels("x".repeat(64)), /label over 63/);
  assert.throws(() => nameLabels(Array(64).fill("abc").join(".")), /too long/);
});
