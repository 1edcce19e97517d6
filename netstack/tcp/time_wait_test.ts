/**
 * TIME-WAIT: the host's bucket budget (Linux's tcp_max_tw_buckets) and new SYNs for a 4-tuple
 * in TIME-WAIT (RFC 6191, Linux's tcp_timewait_state_process). Our ISS 1000, the peer's 5000.
 */

import assert from "node:assert/strict";
import { ACK, describe, established, FIN, ISS, PEER_ISS, RST, seg, SYN } from "./_test_fixture.ts";
import { TimeWaitBuckets } from "./time_wait.ts";
import type { Harness } from "./_test_fixture.ts";

/** Close actively and take the peer's FIN: TIME-WAIT unless the budget is spent. */
function closeActively(h: Harness) {
  h.conn.close();
  h.flush();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2 }));
  return h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK }));
}

Deno.test("TIME-WAIT budget: a connection past the budget closes at once, still ACKing the FIN", () => {
  let reported = "";
  const buckets = new TimeWaitBuckets(2, (b) => reported = `${b.count}/${b.overflows}`);
  const hs = [0, 1, 2].map(() => established({ timeWaitBuckets: buckets }));
  closeActively(hs[0]);
  closeActively(hs[1]);
  assert.equal(buckets.count, 2);
  const out = closeActively(hs[2]);
  assert.equal(hs[2].conn.state, "CLOSED", "no bucket: straight to CLOSED (Linux's tcp_time_wait)");
  assert.deepEqual(out.map(describe), [`A ${ISS + 2}:${ISS + 2} ack ${PEER_ISS + 2} w 65535`]);
  assert.equal(hs[2].conn.error, undefined);
  assert.equal(buckets.overflows, 1);
  assert.equal(reported, "2/1");
  assert.equal(buckets.count, 2);
  // 2*MSL later the buckets are free again.
  hs[0].advance(60_000);
  assert.equal(hs[0].conn.state, "CLOSED");
  assert.equal(buckets.count, 1);
  // An RST in TIME-WAIT (RFC 1337 aside, Linux kills it) and a forgotten 4-tuple give theirs back.
  hs[1].input(seg({ seq: PEER_ISS + 2, flags: RST }));
  assert.equal(hs[1].conn.state, "CLOSED");
  assert.equal(buckets.count, 0);
  const h = established({ timeWaitBuckets: buckets });
  closeActively(h);
  assert.equal(h.conn.state, "TIME-WAIT");
  assert.equal(buckets.count, 1);
  h.conn.forget();
  assert.equal(buckets.count, 0);
});

Deno.test("TIME-WAIT budget: CLOSING → TIME-WAIT and FIN-WAIT-1 → TIME-WAIT use it too", () => {
  const buckets = new TimeWaitBuckets(0);
  // Simultaneous close: our FIN and theirs cross, then their ACK of ours.
  const a = established({ timeWaitBuckets: buckets });
  a.conn.close();
  a.flush();
  a.input(seg({ seq: PEER_ISS + 1, ack: ISS + 1, flags: FIN | ACK }));
  assert.equal(a.conn.state, "CLOSING");
  a.input(seg({ seq: PEER_ISS + 2, ack: ISS + 2 }));
  assert.equal(a.conn.state, "CLOSED");
  // Their FIN acknowledges ours in one segment.
  const b = established({ timeWaitBuckets: buckets });
  b.conn.close();
  b.flush();
  const out = b.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK }));
  assert.equal(b.conn.state, "CLOSED");
  assert.equal(out.length, 1, "the FIN is still acknowledged");
  assert.equal(out[0].ack, PEER_ISS + 2);
  assert.equal(buckets.overflows, 2);
});

Deno.test("TIME-WAIT: a new SYN is taken as Linux's tcp_timewait_state_process does", () => {
  const ts = (value: number) => ({ timestamp: { value, echo: 0 } });
  const h = established({}, {
    options: { mss: 1460, timestamp: { value: 1000, echo: 0 } },
  });
  h.conn.close();
  h.flush();
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, options: ts(1001) }));
  h.input(seg({ seq: PEER_ISS + 1, ack: ISS + 2, flags: FIN | ACK, options: ts(1002) }));
  assert.equal(h.conn.state, "TIME-WAIT");
  const syn = (seq: number, options = {}) => seg({ seq, flags: SYN, options });
  // Beyond RCV.NXT with the same TSval: not PAWS-rejected, so accepted (RFC 6191 wants newer).
  assert.ok(h.conn.acceptsNewSyn(syn(PEER_ISS + 100, ts(1002))));
  // A newer TSval reopens even with an old sequence number (RFC 6191 §2).
  assert.ok(h.conn.acceptsNewSyn(syn(PEER_ISS, ts(5000))));
  // PAWS: a TSval older than TS.Recent by more than 1 is rejected even beyond RCV.NXT.
  assert.ok(!h.conn.acceptsNewSyn(syn(PEER_ISS + 100, ts(900))));
  // No timestamp in the SYN: the sequence number decides (RFC 1122 §4.2.2.13).
  assert.ok(h.conn.acceptsNewSyn(syn(PEER_ISS + 100)));
  assert.ok(!h.conn.acceptsNewSyn(syn(PEER_ISS)));
  // Never with ACK or RST.
  assert.ok(
    !h.conn.acceptsNewSyn(seg({ seq: PEER_ISS + 100, flags: SYN | ACK, options: ts(5000) })),
  );
});
