/** dnsd's answers: authoritative for its zone, negative answers with the SOA, no recursion. */
import assert from "node:assert/strict";
import {
  DnsFlag,
  type DnsMessage,
  dnsQuery,
  DnsType,
  emitDns,
  parseDns,
  Rcode,
} from "../netstack/wire/dns.ts";
import { serveQuery, type Zone } from "./_dns_zone.ts";

const ZONE: Zone = {
  origin: "lab",
  server: "alpha",
  hosts: new Map([["alpha", ["10.0.0.1", "fd00::1"]], ["beta", ["10.0.0.2"]]]),
};
const ask = (name: string, type: number, maxLen?: number): DnsMessage => {
  const r = serveQuery(ZONE, emitDns(dnsQuery(0x1234, name, type)), maxLen).reply;
  assert.ok(r, `no reply for ${name}`);
  return parseDns(r);
};

Deno.test("dnsd: A and AAAA for the zone's hosts, authoritative, no recursion offered", () => {
  const a = ask("Alpha.LAB", DnsType.A);
  assert.equal(a.id, 0x1234);
  assert.equal(a.rcode, Rcode.NOERROR);
  assert.ok(a.flags & DnsFlag.QR && a.flags & DnsFlag.AA && a.flags & DnsFlag.RD);
  assert.equal(a.flags & DnsFlag.RA, 0);
  assert.deepEqual(a.questions[0].name, "Alpha.LAB"); // the question's case, repeated
  assert.deepEqual(a.answers.map((r) => [r.name, r.addr]), [["Alpha.LAB", "10.0.0.1"]]);
  assert.deepEqual(ask("alpha.lab", DnsType.AAAA).answers.map((r) => r.addr), ["fd00::1"]);
});

Deno.test("dnsd: NXDOMAIN and NODATA carry the SOA; outside the zone is REFUSED", () => {
  const nx = ask("gamma.lab", DnsType.A);
  assert.equal(nx.rcode, Rcode.NXDOMAIN);
  assert.equal(nx.authority[0].type, DnsType.SOA);
  assert.equal(nx.authority[0].soa?.mname, "alpha.lab");
  const nodata = ask("beta.lab", DnsType.AAAA);
  assert.equal(nodata.rcode, Rcode.NOERROR);
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authority[0].type, DnsType.SOA);
  assert.equal(ask("example.com", DnsType.A).rcode, Rcode.REFUSED);
  assert.equal(ask("lab", DnsType.SOA).answers[0].type, DnsType.SOA);
});

Deno.test("dnsd: PTR for the zone's addresses", () => {
  const r = ask("2.0.0.10.in-addr.arpa", DnsType.PTR);
  assert.deepEqual(r.answers.map((x) => x.target), ["beta.lab"]);
  const six = ask(
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa",
    DnsType.PTR,
  );
  assert.deepEqual(six.answers.map((x) => x.target), ["alpha.lab"]);
  assert.equal(ask("9.0.0.10.in-addr.arpa", DnsType.PTR).rcode, Rcode.REFUSED);
});

Deno.test("dnsd: past 512 bytes over UDP the answer is truncated (TC), whole over TCP", () => {
  const big: Zone = {
    ...ZONE,
    hosts: new Map([["many", Array.from({ length: 60 }, (_, i) => `10.0.9.${i}`)]]),
  };
  const q = emitDns(dnsQuery(1, "many.lab", DnsType.A));
  const udp = parseDns(serveQuery(big, q).reply!);
  assert.ok(udp.flags & DnsFlag.TC);
  assert.equal(udp.answers.length, 0);
  assert.equal(parseDns(serveQuery(big, q, 0xffff).reply!).answers.length, 60);
});

Deno.test("dnsd: garbage gets FORMERR or nothing, responses and short packets nothing", () => {
  assert.equal(serveQuery(ZONE, Uint8Array.of(1, 2, 3)).reply, null);
  const response = emitDns({ ...dnsQuery(1, "alpha.lab", 1), flags: DnsFlag.QR });
  assert.equal(serveQuery(ZONE, response).reply, null);
  const bad = emitDns(dnsQuery(7, "alpha.lab", 1)).slice(0, 16);
  const r = parseDns(serveQuery(ZONE, bad).reply!);
  assert.equal(r.rcode, Rcode.FORMERR);
  assert.equal(r.id, 7);
  const notimp = emitDns({ ...dnsQuery(8, "alpha.lab", 1), opcode: 2 });
  assert.equal(parseDns(serveQuery(ZONE, notimp).reply!).rcode, Rcode.NOTIMP);
});
