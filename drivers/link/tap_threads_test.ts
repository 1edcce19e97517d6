/**
 * The TAP thread pair against the real kernel (needs root and /dev/net/tun; reported as SKIPPED
 * elsewhere): Linux's ARP request reaches a messagePortLink through the shared rings, our reply
 * goes back through them and Linux believes it. Everything lives in a namespace the test makes.
 */

import assert from "node:assert/strict";
import { CAN_RUN, sh, skipNotice } from "./_tap_test_env.ts";
import { messagePortLink } from "./message_link.ts";
import type { LinkPort } from "./port.ts";
import { attachTapThreads, TapThreadCounter, type TapThreads } from "./tap_threads.ts";

const SKIPPED = skipNotice("tap_threads_test.ts");
/** The ARP exchange is started by Linux's ping: without it the test says so and skips. */
const HAS_PING = (() => {
  try {
    return new Deno.Command("ping", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();
const NO_PING = CAN_RUN && !HAS_PING ? " (SKIPPED: needs ping, from iputils-ping)" : "";
if (NO_PING) console.error(`\n*** tap_threads_test.ts${NO_PING} ***\n`);

const OUR_MAC = [0x02, 0x53, 0x52, 0x4e, 0x00, 0x03];

/** An ARP reply from OUR_MAC/ourIp to the asker of `request`. */
function arpReply(request: Uint8Array, ourIp: number[]): Uint8Array {
  const f = new Uint8Array(42);
  const asker = request.subarray(22, 28);
  f.set(asker, 0);
  f.set(OUR_MAC, 6);
  f.set([0x08, 0x06], 12);
  f.set([0, 1, 0x08, 0x00, 6, 4, 0, 2], 14);
  f.set(OUR_MAC, 22);
  f.set(ourIp, 28);
  f.set(asker, 32);
  f.set(request.subarray(28, 32), 38);
  return f;
}

Deno.test({
  name: `tap threads: an ARP exchange with the kernel through the shared rings${SKIPPED}${NO_PING}`,
  ignore: !CAN_RUN || !HAS_PING,
  fn: arpExchange,
});

/** Linux asks for our address over the TAP; our reply must land in its neighbour table. */
async function arpExchange(): Promise<void> {
  const id = Math.floor(Math.random() * 1e6);
  const ns = `serin-tt-${id}`;
  const dev = `srtt${id}`;
  const net = 1 + Math.floor(Math.random() * 250);
  const ourIp = [10, 78, net, 2];
  let link: LinkPort | undefined;
  let threads: TapThreads | undefined;
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    await sh(["ip", "netns", "add", ns]);
    await sh(["ip", "tuntap", "add", "dev", dev, "mode", "tap"]);
    const ch = new MessageChannel();
    const port = link = messagePortLink(ch.port2);
    threads = attachTapThreads(dev, ch.port1);
    await threads.ready;
    await sh(["ip", "link", "set", "dev", dev, "netns", ns]);
    await sh(["ip", "-n", ns, "addr", "add", `10.78.${net}.1/24`, "dev", dev]);
    await sh(["ip", "-n", ns, "link", "set", "dev", dev, "up"]);
    const request = new Promise<Uint8Array>((resolve, reject) => {
      guard = setTimeout(() => reject(new Error("No ARP request within 5 s")), 5000);
      port.onFrame((f) => {
        const isRequest = f[12] === 0x08 && f[13] === 0x06 && f[21] === 1;
        if (isRequest && f[38] === 10 && f[39] === 78 && f[41] === 2) resolve(f);
      });
    });
    const pinging = sh(
      ["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", ourIp.join(".")],
      true,
    );
    port.send(arpReply(await request, ourIp));
    await pinging; // no echo reply comes, but the ARP entry is made
    const neigh = await sh(["ip", "-n", ns, "neigh", "show", ourIp.join(".")]);
    assert.match(neigh, /02:53:52:4e:00:03/);
    const c = threads.counters;
    assert.ok(Atomics.load(c, TapThreadCounter.RX_FRAMES) >= 1);
    assert.ok(Atomics.load(c, TapThreadCounter.TX_FRAMES) >= 1);
    await threads.close();
    assert.equal(Atomics.load(c, TapThreadCounter.EXITED), 2);
    threads = undefined;
  } finally {
    clearTimeout(guard);
    link?.close();
    await threads?.close();
    await sh(["ip", "-n", ns, "link", "del", dev], true);
    await sh(["ip", "link", "del", dev], true);
    await sh(["ip", "netns", "del", ns], true);
  }
}
