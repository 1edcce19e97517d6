/** A short soak (SERIN_SOAK_SECONDS, default 30 s): every transfer over faulty links arrives intact. */
import assert from "node:assert/strict";
import { formatSoak, soak } from "./soak.ts";

Deno.test("soak: TCP and UDP over lossy, duplicating, reordering, corrupting links stay intact", async () => {
  const seconds = Number(Deno.env.get("SERIN_SOAK_SECONDS") ?? 30);
  const r = await soak({ seconds, seed: Number(Deno.env.get("SERIN_SOAK_SEED") ?? 1) });
  console.log(formatSoak(r));
  assert.deepEqual(r.failures, []);
  assert.ok(r.tcpOk >= 2, "TCP transfers completed");
  assert.ok(r.udpOk >= 1, "UDP exchanges completed");
  assert.ok(r.driverKills >= 1, "a NIC driver was killed and restarted during the soak");
});
