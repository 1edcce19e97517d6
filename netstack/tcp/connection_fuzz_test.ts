/** Random segments never throw out of a connection and never break its invariants. */

import assert from "node:assert/strict";
import type { TcpOptions } from "../wire/tcp.ts";
import { established, ISS, PEER_ISS, seg } from "./_test_fixture.ts";

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
}

Deno.test("fuzz: 20,000 random segments against an established connection", () => {
  const rand = prng(99);
  const pick = (n: number) => Math.floor(rand() * n);
  for (let round = 0; round < 20; round++) {
    const h = established({ timestamps: round % 2 === 0, maxRetransmits: 3 }, {
      options: { mss: 1460, sackPermitted: true, timestamp: { value: 5, echo: 0 } },
    });
    h.conn.send(new Uint8Array(5000));
    h.flush();
    for (let i = 0; i < 1000; i++) {
      const near = rand() < 0.7;
      const options: TcpOptions = {};
      if (rand() < 0.3) options.sack = [[pick(2 ** 32), pick(2 ** 32)], [ISS + pick(6000), ISS]];
      if (rand() < 0.5) options.timestamp = { value: pick(2 ** 32), echo: pick(2 ** 32) };
      if (rand() < 0.05) options.mss = pick(70000);
      if (rand() < 0.05) options.windowScale = pick(40);
      h.input(seg({
        seq: near ? (PEER_ISS + pick(200_000) - 1000) >>> 0 : pick(2 ** 32),
        ack: near ? (ISS + pick(7000)) >>> 0 : pick(2 ** 32),
        flags: pick(256),
        window: pick(65536),
        options,
        len: rand() < 0.5 ? 0 : pick(3000),
      }));
      if (rand() < 0.1) h.advance(pick(2000));
      if (rand() < 0.05) h.conn.recv();
      const info = h.conn.info();
      assert.ok(info.cwnd >= 0 && Number.isFinite(info.cwnd));
      assert.ok(info.unacked >= 0);
      assert.ok(h.conn.recvQueue <= h.conn.options.rcvBuf);
      if (h.conn.state === "CLOSED") break;
    }
  }
});
