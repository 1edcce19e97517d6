/**
 * TAP tests against the real kernel. They need root and /dev/net/tun; elsewhere they are
 * reported as SKIPPED (loudly) and ignored. All traffic stays inside a network namespace the
 * test creates (10.77.N.0/24 on the TAP) and is removed in `finally`.
 */

import assert from "node:assert/strict";
import { CAN_RUN, sh, skipNotice } from "./_tap_test_env.ts";
import { openTap, type TapLink } from "./tap.ts";

const SKIPPED = skipNotice("tap_test.ts");

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Resolve with the first frame from `tap` matching `pred`, or reject after `ms` (I/O guard). */
function nextFrame(
  inbox: FrameInbox,
  pred: (f: Uint8Array) => boolean,
  ms = 3000,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      inbox.waiters.delete(w);
      reject(new Error(`No matching frame within ${ms} ms`));
    }, ms);
    const w = (f: Uint8Array) => {
      if (!pred(f)) return false;
      clearTimeout(timer);
      resolve(f);
      return true;
    };
    inbox.waiters.add(w);
  });
}

interface FrameInbox {
  waiters: Set<(f: Uint8Array) => boolean>;
}

function inboxFor(tap: TapLink): FrameInbox {
  const inbox: FrameInbox = { waiters: new Set() };
  tap.onFrame((f) => {
    for (const w of inbox.waiters) if (w(f)) inbox.waiters.delete(w);
  });
  return inbox;
}

const OUR_MAC = [0x02, 0x53, 0x52, 0x4e, 0x00, 0x02];

function etherType(f: Uint8Array): number {
  return (f[12] << 8) | f[13];
}

/** An ARP reply from OUR_MAC/ourIp to the asker of `request`. */
function arpReply(request: Uint8Array, ourIp: number[]): Uint8Array {
  const f = new Uint8Array(42);
  const asker = request.subarray(22, 28); // sender hardware address
  f.set(asker, 0);
  f.set(OUR_MAC, 6);
  f.set([0x08, 0x06], 12);
  f.set([0, 1, 0x08, 0x00, 6, 4, 0, 2], 14); // Ethernet/IPv4, op 2 = reply
  f.set(OUR_MAC, 22);
  f.set(ourIp, 28);
  f.set(asker, 32);
  f.set(request.subarray(28, 32), 38); // their IP
  return f;
}

async function linkStats(ns: string, dev: string): Promise<{ rx: number; tx: number }> {
  const json = JSON.parse(await sh(["ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev]));
  const s = json[0].stats64;
  return { rx: s.rx.packets, tx: s.tx.packets };
}

Deno.test({
  name: `tap: opening a missing interface creates it, closing removes it${SKIPPED}`,
  ignore: !CAN_RUN,
  async fn() {
    const name = `srtap${rand(1e6)}`;
    let tap: TapLink | undefined;
    try {
      tap = await openTap(name);
      assert.match(await sh(["ip", "link", "show", "dev", name]), new RegExp(name));
      tap.close();
      await tap.closed;
      tap = undefined;
      const after = await new Deno.Command("ip", { args: ["link", "show", "dev", name] }).output();
      assert.equal(after.success, false);
      tap = await openTap(name);
      tap.close();
      tap.send(new Uint8Array(60));
      assert.equal(tap.stats.drops.closed, 1);
      await tap.closed;
    } finally {
      tap?.close();
      await tap?.closed;
      await sh(["ip", "link", "del", "dev", name], true);
    }
  },
});

Deno.test({
  name: "tap: bad names are rejected before touching the system",
  async fn() {
    await assert.rejects(openTap(""), /bad name/);
    await assert.rejects(openTap("x".repeat(16)), /bad name/);
  },
});

Deno.test({
  name: `tap: ARP and UDP round trip with a kernel inside a test namespace${SKIPPED}`,
  ignore: !CAN_RUN,
  async fn(t) {
    const id = rand(1e6);
    const ns = `serin-tap-${id}`;
    const dev = `srtap${id}`;
    const net = 1 + rand(250);
    const kernelIp = `10.77.${net}.1`;
    const ourIp = [10, 77, net, 2];
    let tap: TapLink | undefined;
    try {
      await sh(["ip", "netns", "add", ns]);
      // A device that already exists: openTap attaches to it.
      await sh(["ip", "tuntap", "add", "dev", dev, "mode", "tap"]);
      tap = await openTap(dev);
      const inbox = inboxFor(tap);
      // The open descriptor keeps working after the device moves to the test namespace.
      await sh(["ip", "link", "set", "dev", dev, "netns", ns]);
      await sh(["ip", "-n", ns, "addr", "add", `${kernelIp}/24`, "dev", dev]);
      await sh(["ip", "-n", ns, "link", "set", "dev", dev, "up", "txqueuelen", "10000"]);

      await t.step("the kernel's ARP request arrives and our reply is accepted", async () => {
        const isArpRequest = (f: Uint8Array) =>
          etherType(f) === 0x0806 && f[21] === 1 &&
          f.subarray(38, 42).join(".") === ourIp.join(".");
        const isUdp = (f: Uint8Array) =>
          etherType(f) === 0x0800 && f[23] === 17 && ((f[36] << 8) | f[37]) === 7777;
        const arp = nextFrame(inbox, isArpRequest);
        const udp = nextFrame(inbox, isUdp);
        const sender = sh([
          "ip",
          "netns",
          "exec",
          ns,
          "bash",
          "-c",
          `echo hello > /dev/udp/${ourIp.join(".")}/7777`,
        ]);
        const request = await arp;
        assert.equal(request.subarray(28, 32).join("."), kernelIp);
        tap!.send(arpReply(request, ourIp));
        const datagram = await udp;
        await sender;
        assert.deepEqual([...datagram.subarray(0, 6)], OUR_MAC);
        assert.equal(new TextDecoder().decode(datagram.subarray(42)), "hello\n");
        const neigh = await sh(["ip", "-n", ns, "neigh", "show", ourIp.join(".")]);
        assert.match(neigh, /lladdr 02:53:52:4e:00:02/);
        assert.ok(tap!.stats.txFrames >= 1);
      });

      await t.step("frames/s written into the kernel", async () => {
        const before = await linkStats(ns, dev);
        const f = new Uint8Array(60).fill(0xff, 0, 6);
        f.set(OUR_MAC, 6);
        f.set([0x88, 0xb5], 12); // local experimental EtherType: the kernel drops it
        const n = 20_000;
        const start = performance.now();
        for (let i = 0; i < n; i++) tap!.send(f.slice());
        const ms = performance.now() - start;
        const after = await linkStats(ns, dev);
        assert.equal(after.rx - before.rx, n);
        console.log(`tap write: ${n} frames in ${ms.toFixed(1)} ms = ${(n / ms * 1000) | 0}/s`);
      });

      await t.step("frames/s read from the kernel", async () => {
        // A second TAP bridged to the first: frames written into it are flooded out of `dev`.
        // Writing them in one synchronous loop fills dev's queue before the reader runs, so
        // the time to drain it measures reading alone.
        const feeder = await openTap(`${dev}f`);
        try {
          await sh(["ip", "link", "set", "dev", `${dev}f`, "netns", ns]);
          await sh(["ip", "-n", ns, "link", "add", "br0", "type", "bridge"]);
          for (const d of [dev, `${dev}f`]) {
            await sh(["ip", "-n", ns, "link", "set", "dev", d, "master", "br0", "up"]);
          }
          await sh(["ip", "-n", ns, "link", "set", "dev", "br0", "up"]);
          const n = 10_000;
          let count = 0;
          let lastAt = 0;
          inbox.waiters.add((f) => {
            if (etherType(f) !== 0x88b6) return false;
            count++;
            lastAt = performance.now();
            return false;
          });
          const f = new Uint8Array(60).fill(0xff, 0, 6);
          f.set([0x02, 0x53, 0x52, 0x4e, 0x00, 0x03], 6);
          f.set([0x88, 0xb6], 12);
          for (let i = 0; i < n; i++) feeder.send(f.slice());
          const start = performance.now();
          // The kernel may drop a few frames on the way (its backlog queue is bounded), so
          // wait until every frame is in or 200 ms pass without progress.
          for (let seen = -1; count < n && count !== seen;) {
            seen = count;
            await new Promise((r) => setTimeout(r, 200));
          }
          inbox.waiters.clear();
          const ms = Math.max(lastAt - start, 0.001);
          console.log(
            `tap read: ${count}/${n} frames in ${ms.toFixed(1)} ms = ${(count / ms * 1000) | 0}/s` +
              ` (${feeder.stats.txFrames} written, ${tap!.stats.rxBatches} batches in total)`,
          );
          assert.ok(count >= n * 0.9, `only ${count} of ${n} frames read`);
        } finally {
          feeder.close();
          await feeder.closed;
        }
      });
    } finally {
      tap?.close();
      await tap?.closed;
      await sh(["ip", "netns", "del", ns], true);
      await sh(["ip", "link", "del", "dev", dev], true);
    }
  },
});
