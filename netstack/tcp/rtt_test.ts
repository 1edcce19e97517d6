import assert from "node:assert/strict";
import { RttEstimator } from "./rtt.ts";

// RFC 6298 §2.1: before any sample the RTO is 1 s.
Deno.test("rtt: initial RTO is 1 s", () => {
  assert.equal(new RttEstimator().rto, 1000);
});

// RFC 6298 §2.2: first sample R sets SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR.
Deno.test("rtt: first sample", () => {
  const e = new RttEstimator();
  e.sample(100);
  assert.equal(e.srtt, 100);
  assert.equal(e.rttvar, 50);
  assert.equal(e.rto, 300);
});

// RFC 6298 §2.3: subsequent samples, alpha = 1/8, beta = 1/4.
Deno.test("rtt: smoothing", () => {
  const e = new RttEstimator();
  e.sample(100);
  e.sample(200);
  assert.equal(e.rttvar, 0.75 * 50 + 0.25 * 100);
  assert.equal(e.srtt, 0.875 * 100 + 0.125 * 200);
});

Deno.test("rtt: min RTO clamp is configurable", () => {
  const e = new RttEstimator();
  e.sample(1);
  assert.equal(e.rto, 200);
  const f = new RttEstimator({ minRto: 1000 });
  f.sample(1);
  assert.equal(f.rto, 1000);
});

// RFC 6298 §5.5: back off by doubling, capped at the maximum (60 s).
Deno.test("rtt: backoff doubles up to 60 s and a sample resets it", () => {
  const e = new RttEstimator();
  const seen: number[] = [];
  for (let i = 0; i < 9; i++) {
    seen.push(e.rto);
    e.backoff();
  }
  assert.deepEqual(seen, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  e.sample(100);
  assert.equal(e.rto, 300);
});

// RFC 6298 §5.7 (Linux's TCP_TIMEOUT_FALLBACK): a handshake without an RTT sample leaves the
// RTO at 3 s until the first sample; one with a sample is not affected.
Deno.test("rtt: no sample from the handshake: 3 s until the first sample", () => {
  const e = new RttEstimator();
  e.noHandshakeSample();
  assert.equal(e.rto, 3000);
  e.backoff();
  assert.equal(e.rto, 6000);
  e.sample(100);
  assert.equal(e.rto, 300);
  const f = new RttEstimator();
  f.sample(100);
  f.noHandshakeSample();
  assert.equal(f.rto, 300);
});
