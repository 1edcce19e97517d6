/** SYN cookies (RFC 4987 §3.6) as Linux's net/ipv4/syncookies.c makes and checks them. */

import assert from "node:assert/strict";
import {
  COOKIE_MSS_TABLE,
  COOKIE_MSS_TABLE6,
  COOKIE_PERIOD_MS,
  cookieTimestamp,
  decodeCookieTimestamp,
  SynCookies,
} from "./syn_cookie.ts";

const secret = new Uint8Array([3, 1, 4, 1, 5, 9, 2, 6]);
const tuple = "3221225994>167772161|40000|80";

Deno.test("syn cookie: a cookie checks back to the MSS it encodes", () => {
  const c = new SynCookies(secret);
  for (const peerIsn of [0, 1, 0x7fffffff, 0xffffffff, 123456789]) {
    const { isn, mss } = c.make(5000, tuple, peerIsn, 1460);
    assert.equal(mss, 1460);
    assert.equal(c.check(5000, tuple, peerIsn, isn), 1460);
  }
});

// Linux's msstab: the largest entry not above the peer's MSS; 536 below them all.
Deno.test("syn cookie: the MSS table rounds the peer's MSS down", () => {
  const c = new SynCookies(secret);
  const cases: Array<[number, number]> = [
    [100, 536],
    [536, 536],
    [1299, 536],
    [1300, 1300],
    [1400, 1300],
    [1440, 1440],
    [1459, 1440],
    [1460, 1460],
    [8960, 1460],
    [65495, 1460],
  ];
  for (const [peer, want] of cases) {
    const { isn, mss } = c.make(0, tuple, 77, peer);
    assert.equal(mss, want, `peer MSS ${peer}`);
    assert.equal(c.check(0, tuple, 77, isn), want);
  }
  assert.deepEqual(COOKIE_MSS_TABLE, [536, 1300, 1440, 1460]);
});

// MAX_SYNCOOKIE_AGE 2: good in its own period and the next, never after.
Deno.test("syn cookie: expires after two periods", () => {
  const c = new SynCookies(secret);
  const t0 = 10 * COOKIE_PERIOD_MS;
  const { isn } = c.make(t0, tuple, 1000, 1460);
  assert.equal(c.check(t0 + COOKIE_PERIOD_MS - 1, tuple, 1000, isn), 1460);
  assert.equal(c.check(t0 + 2 * COOKIE_PERIOD_MS - 1, tuple, 1000, isn), 1460);
  assert.equal(c.check(t0 + 2 * COOKIE_PERIOD_MS, tuple, 1000, isn), undefined);
  assert.equal(c.check(t0 + 100 * COOKIE_PERIOD_MS, tuple, 1000, isn), undefined);
  // From the future (a clock that went back) it is no good either.
  assert.equal(c.check(t0 - COOKIE_PERIOD_MS, tuple, 1000, isn), undefined);
});

Deno.test("syn cookie: a wrong ack, sequence number, tuple or secret is rejected", () => {
  const c = new SynCookies(secret);
  const { isn } = c.make(0, tuple, 1000, 1460);
  for (const delta of [1, 2, 3, 4, 0x100, 0x10000, 1 << 24, -(1 << 24), 0x80000000]) {
    assert.equal(c.check(0, tuple, 1000, (isn + delta) >>> 0), undefined, `ack off by ${delta}`);
  }
  // As in Linux, the MSS index is added into the low bits: an ack 1 below this cookie (index 3)
  // reads as index 2. Only the MSS can differ, and only someone who saw the cookie can do it.
  assert.equal(c.check(0, tuple, 1000, (isn - 1) >>> 0), 1440);
  assert.equal(c.check(0, tuple, 999, isn), undefined);
  assert.equal(c.check(0, tuple, 1000 + 0x10000, isn), undefined);
  assert.equal(c.check(0, "3221225994>167772161|40001|80", 1000, isn), undefined);
  const other = new SynCookies(new Uint8Array([2, 7, 1, 8, 2, 8, 1, 8]));
  assert.equal(other.check(0, tuple, 1000, isn), undefined);
});

// A blind attacker must guess 8 bits of counter and 22 of hash: 100,000 tries find nothing.
Deno.test("syn cookie: forged ACKs with random cookies are rejected", () => {
  const c = new SynCookies(secret);
  c.make(0, tuple, 1000, 1460); // cookies are being sent
  let x = 0x9e3779b9;
  let accepted = 0;
  for (let i = 0; i < 100_000; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if (c.check(30_000, tuple, 1000, x >>> 0) !== undefined) accepted++;
  }
  assert.equal(accepted, 0);
});

Deno.test("syn cookie: a bad secret is refused; the default secret is random", () => {
  assert.throws(() => new SynCookies(new Uint8Array(4)), RangeError);
  const a = new SynCookies().make(0, tuple, 1, 1460).isn;
  const b = new SynCookies().make(0, tuple, 1, 1460).isn;
  assert.notEqual(a, b);
});

// Linux's cookie_init_timestamp / cookie_timestamp_decode: wscale in bits 0-3 (15: none),
// SACK in bit 4, ECN in bit 5; the TSval never runs ahead of the clock.
Deno.test("syn cookie: the TSval carries window scale and SACK", () => {
  for (const tsNow of [0x12345678, 0x1234567f, 0x12345640, 64, 0]) {
    for (const ws of [undefined, 0, 7, 14]) {
      for (const sack of [false, true]) {
        const ts = cookieTimestamp(tsNow, ws, sack);
        const behind = (tsNow - ts) >>> 0;
        assert.ok(behind < 64, `TSval ${ts} is ${behind} behind ${tsNow}`);
        assert.deepEqual(decodeCookieTimestamp(ts), { windowScale: ws, sack });
      }
    }
  }
  assert.equal(cookieTimestamp(0x12345678, 7, true) & 0x3f, 0x17);
  assert.equal(cookieTimestamp(0x12345678, undefined, false) & 0x3f, 0x0f);
  assert.equal(decodeCookieTimestamp(0x20), undefined); // ECN, which Serin never offers
});

// RFC 7323 §5.4: a random offset per connection, stable for its 4-tuple.
Deno.test("syn cookie: timestamp offsets are per tuple and keyed", () => {
  const c = new SynCookies(secret);
  assert.equal(c.tsOffset(tuple), c.tsOffset(tuple));
  assert.notEqual(c.tsOffset(tuple), c.tsOffset("3221225994>167772161|40001|80"));
  assert.notEqual(c.tsOffset(tuple), new SynCookies(new Uint8Array(8)).tsOffset(tuple));
});

// Linux's IPv6 msstab: 1280, 1480, 1500 and 9000 less 60 bytes of headers.
Deno.test("syn cookie: the IPv6 table", () => {
  const c = new SynCookies(secret);
  for (
    const [peer, want] of [[1220, 1220], [1440, 1440], [1460, 1440], [8940, 8940], [500, 1220]]
  ) {
    const { isn, mss } = c.make(0, "6|fe80::1|fe80::2|0|40000|80", 1, peer, COOKIE_MSS_TABLE6);
    assert.equal(mss, want);
    assert.equal(c.check(0, "6|fe80::1|fe80::2|0|40000|80", 1, isn, COOKIE_MSS_TABLE6), want);
  }
});
