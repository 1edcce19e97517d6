import assert from "node:assert/strict";
import { Prng } from "../../drivers/link/prng.ts";
import { formatIPv6, parseIPv6 } from "./addr.ts";
import { emitNdpOptions, type NdpOption, ndpOptionLength, parseNdpOptions } from "./ndp.ts";

function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  return Uint8Array.from(t.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

const MTU = "0501000000000578";

Deno.test("ndp dns: RDNSS as dnsmasq sends it (two servers, lifetime 1200)", () => {
  const opts = parseNdpOptions(hex(
    "1905 0000 000004b0 fd000077000000000000000000000001 fd000077000000000000000000000002",
  ));
  assert.equal(opts.length, 1);
  const o = opts[0];
  assert.ok(o.kind === "rdnss");
  assert.equal(o.lifetime, 1200);
  assert.deepEqual(o.servers.map(formatIPv6), ["fd00:77::1", "fd00:77::2"]);
});

Deno.test("ndp dns: DNSSL names in wire format, zero-padded", () => {
  // "lab.example" (13 bytes) + "x" (3 bytes) = 16 → 8 + 16 = 24 bytes, Length 3.
  const b = hex("1f03 0000 ffffffff 036c6162076578616d706c6500 017800");
  const [o] = parseNdpOptions(b);
  assert.ok(o.kind === "dnssl");
  assert.equal(o.lifetime, 0xffffffff);
  assert.deepEqual(o.domains, ["lab.example", "x"]);
});

Deno.test("ndp dns: emit into 0xa5 and parse back", () => {
  const opts: NdpOption[] = [
    { kind: "rdnss", lifetime: 600, servers: [parseIPv6("2001:db8::53")!] },
    { kind: "dnssl", lifetime: 0, domains: ["corp.example.", "a"] },
  ];
  assert.deepEqual(opts.map(ndpOptionLength), [24, 32]);
  const buf = new Uint8Array(64).fill(0xa5);
  assert.equal(emitNdpOptions(opts, buf), 56);
  assert.equal(
    toHex(buf.subarray(0, 57)),
    "1903000000000258" + "20010db8000000000000000000000053" +
      "1f04000000000000" + "04636f7270076578616d706c6500016100" + "00000000000000" + "a5",
  );
  const back = parseNdpOptions(buf.subarray(0, 56));
  assert.deepEqual(back[0], opts[0]);
  assert.deepEqual(back[1], { kind: "dnssl", lifetime: 0, domains: ["corp.example", "a"] });
});

Deno.test("ndp dns: hostile RDNSS/DNSSL bodies are ignored, not thrown, and the rest parses", () => {
  const addr = "20010db8000000000000000000000053";
  const bad: [string, string][] = [
    ["1902 0000 00000e10 0000000000000000", "RDNSS length 2"], // even length
    ["1901 0000 00000e10", "RDNSS length 1"], // no room for an address
    ["1904 0000 00000e10" + addr + "0000000000000000", "RDNSS length 4"],
    ["1f01 0000 00000e10", "DNSSL length 1"],
    ["1f02 0000 00000e10 c00c000000000000", "DNSSL label length 192"], // compression pointer
    ["1f02 0000 00000e10 0361626303616263", "DNSSL name cut by the option's end"],
    ["1f02 0000 00000e10 0961626364656667", "DNSSL label cut by the option's end"],
    ["1f02 0000 00000e10 0000000000000001", "DNSSL padding not zero"], // no name, then junk
    ["1f02 0000 00000e10 0161000000000001", "DNSSL padding not zero"],
    ["1f02 0000 00000e10 03612e6200000000", "DNSSL label byte 46"], // '.' inside a label
    ["1f02 0000 00000e10 0361206200000000", "DNSSL label byte 32"],
    ["1f02 0000 00000e10 0000000000000000", "DNSSL without a name"],
  ];
  for (const [h, why] of bad) {
    const opts = parseNdpOptions(hex(h + MTU));
    assert.equal(opts.length, 2, h);
    assert.ok(opts[0].kind === "unknown", h);
    assert.equal(opts[0].kind === "unknown" && opts[0].malformed, why, h);
    assert.deepEqual(opts[1], { kind: "mtu", mtu: 1400 }, h);
  }
  // A name over 255 bytes: five 63-byte labels.
  const long = new Uint8Array(8 + 5 * 64 + 8);
  long.set([0x1f, long.length / 8]);
  for (let k = 0; k < 5; k++) long.fill(0x61, 8 + k * 64, 8 + k * 64 + 64), long[8 + k * 64] = 63;
  const [o] = parseNdpOptions(long);
  assert.equal(o.kind === "unknown" && o.malformed, "DNSSL name over 255 bytes");
});

Deno.test("ndp dns: random bytes in RDNSS/DNSSL bodies never throw", () => {
  const rng = new Prng(25);
  for (let n = 0; n < 3000; n++) {
    const units = 1 + rng.nextInt(6);
    const b = new Uint8Array(units * 8);
    for (let i = 2; i < b.length; i++) b[i] = rng.nextInt(4) === 0 ? 0 : rng.nextInt(256);
    b[0] = rng.nextInt(2) ? 25 : 31;
    b[1] = units;
    const [o] = parseNdpOptions(b);
    assert.ok(o.kind === "rdnss" || o.kind === "dnssl" || (o.kind === "unknown" && o.malformed));
    if (o.kind !== "unknown") {
      // What parses emits back to an option that parses to the same record.
      const out = new Uint8Array(ndpOptionLength(o));
      emitNdpOptions([o], out);
      assert.deepEqual(parseNdpOptions(out)[0], o);
    }
  }
});
