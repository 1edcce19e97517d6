import assert from "node:assert/strict";
import { countDrop, countRx, countTx, newNicStats } from "./nic.ts";

Deno.test("nic stats: count frames, bytes and drops by reason", () => {
  const s = newNicStats();
  countRx(s, 60);
  countRx(s, 1514);
  countTx(s, 100);
  countDrop(s, "rx-overflow");
  countDrop(s, "rx-overflow", 3);
  countDrop(s, "rx-no-descriptor", 0);
  assert.deepEqual(s, {
    rxPackets: 2,
    rxBytes: 1574,
    txPackets: 1,
    txBytes: 100,
    drops: { "rx-overflow": 4, "rx-no-descriptor": 0 },
  });
});
