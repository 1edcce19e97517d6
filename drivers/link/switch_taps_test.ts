/**
 * A TAP as a switch port against the real kernel (root and /dev/net/tun, else SKIPPED loudly):
 * frames flow between it and the switch's other ports, and when the device is deleted under the
 * running switch its frames are counted and dropped while the other ports go on.
 */
import assert from "node:assert/strict";
import { RealClock } from "../../kernel/clock.ts";
import { CAN_RUN, sh, skipNotice } from "./_tap_test_env.ts";
import { VirtualSwitch } from "./switch.ts";
import { plugTap } from "./switch_taps.ts";

const SKIPPED = skipNotice("switch_taps_test.ts");

/** A broadcast frame from a locally administered MAC (an ARP-sized payload of zeros). */
function broadcast(): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0x53, 0x57, 0, 0, 1], 6);
  f.set([0x88, 0xb5], 12); // IEEE local experimental EtherType: Linux just drops it
  return f;
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test({
  name:
    `switch taps: a TAP deleted under a running switch is counted and dropped; the other ports go on${SKIPPED}`,
  ignore: !CAN_RUN,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const name = `sw${crypto.getRandomValues(new Uint32Array(1))[0].toString(16)}`;
    const clock = new RealClock();
    const sw = new VirtualSwitch({ clock });
    const from = sw.connect();
    const other = sw.connect();
    const got: Uint8Array[] = [];
    // Only ours: Linux sends its own frames (IPv6 router solicitations, MLD) once the TAP is up.
    other.onFrame((f) => f[12] === 0x88 && f[13] === 0xb5 && got.push(f));
    const tap = await plugTap(sw, name, { clock, faults: "dup=0" });
    try {
      await sh(["ip", "link", "set", name, "up"]);
      from.send(broadcast());
      await until("the flood to reach the TAP", () => tap.stats.txFrames === 1);
      assert.equal(got.length, 1);

      await sh(["ip", "link", "del", "dev", name]);
      await until("the TAP's loop to see the device gone", () => tap.stats.readErrors > 0);
      for (let i = 0; i < 3; i++) from.send(broadcast());
      await until("the other port to get the floods", () => got.length === 4);
      const d = tap.stats.drops;
      assert.equal(d.closed + d.writeError, 3, JSON.stringify(tap.stats));
      assert.equal(tap.stats.txFrames, 1);
    } finally {
      tap.close();
      await tap.closed;
      await sh(["ip", "link", "del", "dev", name], true);
    }
  },
});
