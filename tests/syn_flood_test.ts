/**
 * SYN flood in virtual time (issue #15, "Spoofed SYNs at 10,000/s do not stop legitimate
 * clients from connecting"; RFC 4987 §3.6). An attacker on the server's LAN sends SYNs from
 * random off-link addresses at 10,000/s; it is also their gateway, and answers nothing but ARP,
 * so the server's SYN-ACKs go out on the wire and vanish, as on the Internet. Meanwhile:
 * - a client whose handshake was already in progress when the flood started completes it
 *   (its half-open entry is never evicted: before SYN cookies, a few hundred spoofed SYNs
 *   evicted it and its final ACK drew a RST);
 * - a client connecting during the flood gets a cookie SYN-ACK and connects from the cookie;
 * - both exchange data with the server, and the server's state stays bounded.
 * Linux (tcp_syncookies=1) behaves the same: "Possible SYN flooding on port 80. Sending
 * cookies", SyncookiesSent/SyncookiesRecv in nstat.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import { withFaults } from "../drivers/link/faults.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { parseIPv4 } from "../netstack/wire/addr.ts";
import { ArpOp, encodeArp, parseArp } from "../netstack/wire/arp.ts";
import { pseudoHeaderSum4 } from "../netstack/wire/checksum.ts";
import {
  encodeEthernet,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  parseEthernet,
} from "../netstack/wire/ethernet.ts";
import { encodeIpv4 } from "../netstack/wire/ipv4.ts";
import { encodeTcp, TcpFlag } from "../netstack/wire/tcp.ts";
import { Sim } from "./sim.ts";

const in4 = (addr: string, port: number) => ({ family: 2 as const, addr, port });
const GATEWAY = parseIPv4("10.0.0.254")!;
const ATTACKER_MAC = Uint8Array.of(2, 0xaa, 0, 0, 0, 1);
/** Spoofed SYNs per millisecond of virtual time: 10,000/s. */
const SYNS_PER_MS = 10;

/**
 * The attacker: a port on the LAN that answers ARP for the gateway (so the server's SYN-ACKs
 * leave) and sends spoofed SYNs to `server`'s port 80 on each `tick()`.
 */
function attacker(sim: Sim, server: NetworkTask) {
  const port = sim.switches.get("lan")!.connect();
  const eth0 = server.iface("eth0")!;
  const dst = parseIPv4("10.0.0.2")!;
  let synAcksSeen = 0;
  port.onFrame((f) => {
    const e = parseEthernet(f);
    if (e.ethertype === ETHERTYPE_IPV4) return void synAcksSeen++; // swallowed
    if (e.ethertype !== ETHERTYPE_ARP) return;
    const a = parseArp(e.payload);
    if (a.op !== ArpOp.REQUEST || a.targetIp !== GATEWAY) return;
    port.send(encodeEthernet({
      dst: a.senderMac,
      src: ATTACKER_MAC,
      ethertype: ETHERTYPE_ARP,
      payload: encodeArp({
        op: ArpOp.REPLY,
        senderMac: ATTACKER_MAC,
        senderIp: GATEWAY,
        targetMac: a.senderMac,
        targetIp: a.senderIp,
      }),
    }));
  });
  let x = 0x2545f491;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  let sent = 0;
  const tick = () => {
    for (let i = 0; i < SYNS_PER_MS; i++) {
      // Random sources in 100.64.0.0/10 (never on this LAN, never answering).
      const src = (0x64400000 | (rand() & 0x003fffff)) >>> 0;
      const tcp = encodeTcp({
        srcPort: 1024 + (rand() % 64000),
        dstPort: 80,
        seq: rand(),
        ack: 0,
        flags: TcpFlag.SYN,
        window: 64240,
        urgent: 0,
        options: { mss: 1460, sackPermitted: true, windowScale: 7 },
        payload: new Uint8Array(0),
      }, { pseudoSum: pseudoHeaderSum4(src, dst, 6, 32) });
      const ip = encodeIpv4({
        dscp: 0,
        ecn: 0,
        ident: rand() & 0xffff,
        dontFragment: true,
        moreFragments: false,
        fragmentOffset: 0,
        ttl: 64,
        protocol: 6,
        src,
        dst,
        options: new Uint8Array(0),
        payload: tcp,
      });
      port.send(
        encodeEthernet({
          dst: eth0.mac,
          src: ATTACKER_MAC,
          ethertype: ETHERTYPE_IPV4,
          payload: ip,
        }),
      );
      sent++;
    }
  };
  return { tick, sent: () => sent, synAcksSeen: () => synAcksSeen };
}

/** Write `data` and read back as much (the server echoes), all while `step` runs the flood. */
async function echo(sim: Sim, c: TcpSocket, data: Uint8Array, step: () => Promise<void>) {
  const ctx = { signal: sim.signal };
  const got: Uint8Array[] = [];
  let total = 0;
  const work = (async () => {
    await c.sendmsg(data, 0, undefined, ctx);
    while (total < data.length) {
      const r = await c.recvmsg(65536, 0, ctx);
      if (r.data.length === 0) break;
      got.push(r.data);
      total += r.data.length;
    }
  })();
  await during(work, step, 10_000);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of got) (out.set(p, o), o += p.length);
  return out;
}

/** Run `step` (1 ms of virtual time each) until `p` settles, at most `limitMs`. */
async function during<T>(p: Promise<T>, step: () => Promise<void>, limitMs: number): Promise<T> {
  let done = false;
  const guarded = p.finally(() => (done = true));
  for (let t = 0; !done && t < limitMs; t++) await step();
  if (!done) throw new Error(`did not settle within ${limitMs} ms of virtual time under flood`);
  return await guarded;
}

Deno.test("SYN flood at 10,000/s: a handshake in progress completes and new clients connect and exchange data", async () => {
  const sim = new Sim();
  const server = sim.host("server", { eth0: ["lan", "10.0.0.2/24"] });
  // Client A's link is slow (50 ms each way), so the flood starts mid-handshake.
  const slow = (p: Parameters<typeof withFaults>[0]) => withFaults(p, "delay=50ms", sim.clock);
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap: slow });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.3/24"] });
  sim.route("server", "0.0.0.0/0", "10.0.0.254");
  const ctx = { signal: sim.signal };
  const l = server.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(in4("0.0.0.0", 80));
  l.listen(16);
  // The server echoes every connection it accepts.
  const served: TcpSocket[] = [];
  (async () => {
    for (;;) {
      const { socket } = await l.accept(ctx);
      const s = socket as TcpSocket;
      served.push(s);
      (async () => {
        for (;;) {
          const r = await s.recvmsg(65536, 0, ctx);
          if (r.data.length === 0) return s.shutdown(abi.SHUT_WR);
          await s.sendmsg(r.data, 0, undefined, ctx);
        }
      })();
    }
  })();
  const flood = attacker(sim, server);
  let flooding = false;
  const step = async () => {
    if (flooding) flood.tick();
    await sim.run(1);
  };

  // A sends its SYN; once the server has answered it, the flood starts while A's final ACK is
  // still on its way (100 ms round trip).
  const ca = a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  const aConnected = ca.connect(in4("10.0.0.2", 80), ctx);
  const listener = l.listener!;
  for (let i = 0; i < 1000 && listener.halfOpen === 0; i++) await step();
  assert.equal(listener.halfOpen, 1, "A's handshake is in progress");
  flooding = true;
  const floodStart = sim.clock.now();
  for (let i = 0; i < 40; i++) await step(); // 400 spoofed SYNs: the half-open table is full
  assert.equal(listener.halfOpen, listener.maxHalfOpen);
  await during(aConnected, step, 5000);
  for (let i = 0; i < 1000 && served.length === 0; i++) await step(); // A's ACK: 50 ms away
  assert.equal(served.length, 1, "the server accepted A");
  assert.equal(listener.syncookies.recv, 0, "A completed through its own half-open entry");

  // B connects in the middle of the flood: its SYN gets a cookie.
  const cb = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  const t0 = sim.clock.now();
  await during(cb.connect(in4("10.0.0.2", 80), ctx), step, 5000);
  const connectMs = sim.clock.now() - t0;
  assert.equal(listener.syncookies.recv, 1, "B connected from its cookie");

  // Both exchange data through the flood.
  const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
  const [ea, eb] = await Promise.all([
    echo(sim, ca, data, step),
    echo(sim, cb, data.subarray(0, 100_000), async () => {}),
  ]);
  assert.deepEqual(ea, data);
  assert.deepEqual(eb, data.subarray(0, 100_000));

  // More clients keep connecting, one every 300 ms for 3 s of flood, each echoing 10 kB.
  for (let i = 0; i < 10; i++) {
    for (let t = 0; t < 300; t++) await step();
    const c = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
    await during(c.connect(in4("10.0.0.2", 80), ctx), step, 5000);
    assert.deepEqual(
      await echo(sim, c, data.subarray(i, i + 10_000), step),
      data.subarray(i, i + 10_000),
    );
    c.release();
  }

  // The flood ran at full rate throughout; the server kept no state for it beyond its bound.
  const ms = sim.clock.now() - floodStart;
  assert.ok(flood.sent() >= ms * SYNS_PER_MS * 0.9, `${flood.sent()} SYNs in ${ms} ms`);
  assert.ok(listener.size <= listener.maxHalfOpen + listener.backlog);
  assert.ok(listener.syncookies.sent >= flood.sent() - listener.maxHalfOpen - 10);
  assert.ok(flood.synAcksSeen() > flood.sent() * 0.9, "the SYN-ACKs went out and vanished");
  assert.ok(server.counters.get("tcp: syncookies sent")! > 0);
  assert.equal(server.counters.get("tcp: syncookies recv"), 11);
  assert.deepEqual([...server.counters.keys()].filter((k) => k.startsWith("bug")), []);
  assert.equal(served.length, 12);
  console.log(
    `flood: ${flood.sent()} spoofed SYNs over ${ms} ms of virtual time, ` +
      `${listener.syncookies.sent} cookies; B connected in ${connectMs} ms`,
  );
});
