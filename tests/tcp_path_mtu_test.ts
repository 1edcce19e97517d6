/**
 * Path MTU discovery, TCP side (RFC 1191, RFC 8201), in virtual time. Host a sends to b through a
 * "router" (a wrapper on a's link) whose next hop is narrower: it drops each of a's datagrams
 * that is too big (DF, or any IPv6 one) and answers with a Fragmentation Needed / Packet Too Big
 * quoting it, as a real router does, 5 ms away. Linux is the oracle: tcp_v4_mtu_reduced / tcp_v6_mtu_reduced
 * lower the MSS (tcp_sync_mss, floor tcp_min_snd_mss) and resend at once (tcp_simple_retransmit).
 * Adversaries: a forged report quoting a sequence number outside the window, an interface MTU
 * lowered under a live connection (EMSGSIZE from the IP layer).
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import type { LinkPort } from "../drivers/link/port.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { runNetctl } from "../netstack/netctl.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { parseIPv4, parseIPv6 } from "../netstack/wire/addr.ts";
import { encodeEthernet } from "../netstack/wire/ethernet.ts";
import { encodeIcmpv4, Icmpv4DstUnreachableCode } from "../netstack/wire/icmpv4.ts";
import { encodeIcmpv6 } from "../netstack/wire/icmpv6.ts";
import { encodeIpv6 } from "../netstack/wire/ipv6.ts";
import { ipv4Datagram } from "./_packets.ts";
import { Sim } from "./sim.ts";

type Fam = 4 | 6;
const A4 = parseIPv4("10.0.0.1")!;
const B4 = parseIPv4("10.0.0.2")!;
const A6 = parseIPv6("2001:db8::1")!;
const B6 = parseIPv6("2001:db8::2")!;
/** Timestamps are on: every segment carries 12 bytes of options. */
const TS = 12;

/** One TCP datagram a sent: when, its sequence number and payload length. */
interface Sent {
  at: number;
  seq: number;
  len: number;
}

/** Where a's TCP datagram `d` (IP header on) keeps its TCP header, and its payload length. */
function tcpOf(d: Uint8Array): { seq: number; len: number } | undefined {
  const v4 = d[0] >> 4 === 4;
  if (v4 ? d[9] !== 6 : d[6] !== 6) return undefined;
  const hl = v4 ? (d[0] & 15) * 4 : 40;
  const total = v4 ? (d[2] << 8) | d[3] : 40 + ((d[4] << 8) | d[5]);
  const seq = new DataView(d.buffer, d.byteOffset).getUint32(hl + 4);
  return { seq, len: total - hl - (d[hl + 12] >> 4) * 4 };
}

/** The narrow next hop in front of a: records a's TCP datagrams, bounces what does not fit. */
function router(sim: Sim, b: () => NetworkTask, a: () => NetworkTask) {
  const st = {
    mtu4: Infinity,
    mtu6: Infinity,
    /** What the router says the next-hop MTU is (its real one unless set to lie lower). */
    report4: 0,
    sent: [] as Sent[],
    bounced: [] as number[],
    fragments6: 0,
  };
  const wrap = (p: LinkPort): LinkPort => ({
    send(frame) {
      const et = (frame[12] << 8) | frame[13];
      const ip = frame.subarray(14);
      if (et === 0x86dd && ip[6] === 44) st.fragments6++;
      const t = et === 0x0800 || et === 0x86dd ? tcpOf(ip) : undefined;
      if (t) st.sent.push({ at: sim.clock.now(), ...t });
      const df = et === 0x0800 && (ip[6] & 0x40) !== 0;
      const len = et === 0x0800 ? (ip[2] << 8) | ip[3] : 40 + ((ip[4] << 8) | ip[5]);
      const tooBig = et === 0x0800 ? df && len > st.mtu4 : et === 0x86dd && len > st.mtu6;
      if (t && tooBig) {
        st.bounced.push(sim.clock.now());
        const quote = ip.slice(0, (et === 0x0800 ? (ip[0] & 15) * 4 : 40) + 8);
        const fam = et === 0x0800 ? 4 : 6;
        const mtu = fam === 4 ? st.report4 || st.mtu4 : st.mtu6;
        sim.clock.schedule(1, () => icmpTooBig(a(), b(), fam, quote, mtu));
        return;
      }
      // 5 ms to the far side: the transfer takes round trips, so a change can come mid-way.
      const copy = frame.slice();
      sim.clock.schedule(5, () => p.send(copy));
    },
    onFrame: (h) => p.onFrame(h),
    onBurstEnd: p.onBurstEnd && ((cb) => p.onBurstEnd!(cb)),
    linkDrops: p.linkDrops && (() => p.linkDrops!()),
    close: () => p.close(),
  });
  return { st, wrap };
}

/** Inject a Fragmentation Needed (IPv4) or Packet Too Big (IPv6) into a, from b's side. */
function icmpTooBig(a: NetworkTask, b: NetworkTask, fam: Fam, invoking: Uint8Array, mtu: number) {
  const ia = a.iface("eth0")!;
  const ip = fam === 4
    ? ipv4Datagram({
      src: B4,
      dst: A4,
      protocol: 1,
      payload: encodeIcmpv4({
        kind: "dst-unreachable",
        code: Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED,
        nextHopMtu: mtu,
        invoking,
      }),
    })
    : encodeIpv6({
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: 58,
      hopLimit: 64,
      src: B6,
      dst: A6,
      payload: encodeIcmpv6({ kind: "packet-too-big", mtu, invoking }, { src: B6, dst: A6 }),
    });
  const ethertype = fam === 4 ? 0x0800 : 0x86dd;
  a.input(ia, encodeEthernet({ dst: ia.mac, src: b.iface("eth0")!.mac, ethertype, payload: ip }));
}

/** An a→b connection (a sends), with the router in front of a; `gso` turns TSO on at a. */
async function connected(fam: Fam, gso = 0) {
  const sim = new Sim();
  const hosts: { a?: NetworkTask; b?: NetworkTask } = {};
  const r = router(sim, () => hosts.b!, () => hosts.a!);
  const a = hosts.a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap: r.wrap });
  const b = hosts.b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  runNetctl(a, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::1/64" });
  runNetctl(b, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::2/64" });
  // The link cuts super-segments itself (a TAP with offloads).
  if (gso) Object.assign(a.iface("eth0")!, { gsoMax: gso });
  const ctx = { signal: sim.signal };
  await sim.run(3000); // IPv6 duplicate address detection
  const af = fam === 4 ? abi.AF_INET : abi.AF_INET6;
  const at = (addr: string) =>
    fam === 4
      ? { family: 2 as const, addr, port: 9000 }
      : { family: 10 as const, addr, port: 9000 };
  const l = b.createSocket(af, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(at(fam === 4 ? "10.0.0.2" : "2001:db8::2"));
  l.listen(1);
  const accepted = l.accept(ctx);
  const s = a.createSocket(af, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(s.connect(at(fam === 4 ? "10.0.0.2" : "2001:db8::2"), ctx));
  const peer = (await sim.until(accepted)).socket as TcpSocket;
  return { sim, a, b, s, peer, ctx, r: r.st };
}

type Lab = Awaited<ReturnType<typeof connected>>;

/** Start sending `n` patterned bytes from a; returns a promise of what b read, all of it. */
async function transfer(L: Lab, n: number): Promise<() => Promise<Uint8Array>> {
  const data = new Uint8Array(n).map((_, i) => (i * 7 + (i >> 9)) & 255);
  await L.sim.until(L.s.sendmsg(data, 0, undefined, L.ctx));
  const reading = (async () => {
    const got = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const d = (await L.peer.recvmsg(65536, 0, L.ctx)).data;
      if (d.length === 0) break;
      got.set(d, at);
      at += d.length;
    }
    assert.equal(at, n);
    assert.deepEqual(got, data, "b read what a sent, byte for byte");
    return got;
  })();
  return () => L.sim.until(reading, 30_000);
}

const mss = (s: TcpSocket) => s.getsockopt(abi.IPPROTO_TCP, abi.TCP_MAXSEG) as number;
const retransmits = (s: TcpSocket) =>
  (s.getsockopt(abi.IPPROTO_TCP, abi.TCP_INFO) as { retransmits: number }).retransmits;

Deno.test("PMTU/IPv4: Frag-Needed 576 mid-transfer: segments shrink to ≤ 536, the lost one is resent at once, the transfer completes", async () => {
  const L = await connected(4);
  assert.equal(mss(L.s), 1460 - TS);
  const done = await transfer(L, 400_000);
  await L.sim.run(5); // full-sized segments flowing
  assert.ok(L.r.sent.some((x) => x.len === 1460 - TS));
  L.r.mtu4 = 576;
  await done();
  const t0 = L.r.bounced[0];
  assert.ok(t0 !== undefined, "the router bounced a segment");
  // 576 − 20 − 20 = 536, less the timestamp option every segment carries.
  assert.equal(mss(L.s), 536 - TS);
  const after = L.r.sent.filter((x) => x.at > t0 + 1 && x.len > 0);
  assert.ok(after.length > 100);
  assert.ok(after.every((x) => x.len <= 536 - TS), `${after.find((x) => x.len > 536 - TS)?.len}`);
  // Resent when the report arrived (1 ms later), not at an RTO (≥ 200 ms).
  const lostSeq = L.r.sent.find((x) => x.at === t0 && x.len > 536)!.seq;
  const resend = L.r.sent.find((x) => x.at > t0 && x.seq === lostSeq)!;
  assert.ok(resend.at - t0 <= 2, `resent ${resend.at - t0} ms after the drop`);
  assert.ok((L.a.counters.get("tcp: mss-lowered") ?? 0) >= 1);
});

Deno.test("PMTU/IPv4: Frag-Needed 68: the MSS stops at 512 (the IP layer's 552 floor, then without DF) and the transfer completes", async () => {
  const L = await connected(4);
  const done = await transfer(L, 200_000);
  await L.sim.run(5);
  L.r.mtu4 = 576; // the real next hop carries 576-byte datagrams…
  L.r.report4 = 68; // …but its reports claim 68
  await done();
  const t0 = L.r.bounced[0];
  assert.ok(t0 !== undefined);
  assert.equal(mss(L.s), 512 - TS);
  const after = L.r.sent.filter((x) => x.at > t0 + 1 && x.len > 0);
  assert.ok(after.length > 100 && after.every((x) => x.len <= 512 - TS));
});

Deno.test("PMTU/IPv4: a new connection takes its MSS from the path MTU the route carries", async () => {
  const L = await connected(4);
  const done = await transfer(L, 100_000);
  await L.sim.run(5);
  L.r.mtu4 = 576;
  await done();
  const l2 = L.b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  l2.bind({ family: 2, addr: "10.0.0.2", port: 9001 });
  l2.listen(1);
  const s2 = L.a.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0) as TcpSocket;
  await L.sim.until(s2.connect({ family: 2, addr: "10.0.0.2", port: 9001 }, L.ctx));
  assert.equal(mss(s2), 536 - TS);
});

Deno.test("PMTU/IPv6: Packet Too Big 1280 with TSO on: MSS 1220 less options, TSO off, nothing fragmented, the transfer completes", async () => {
  const L = await connected(6, 65_000);
  assert.equal(mss(L.s), 1440 - TS);
  const done = await transfer(L, 400_000);
  await L.sim.run(5);
  assert.ok(L.r.sent.some((x) => x.len > 1440), "super-segments while the path is the link's");
  L.r.mtu6 = 1280;
  await done();
  const t0 = L.r.bounced[0];
  assert.ok(t0 !== undefined);
  assert.equal(mss(L.s), 1280 - 40 - 20 - TS);
  const after = L.r.sent.filter((x) => x.at > t0 + 1 && x.len > 0);
  assert.ok(after.length > 100);
  assert.ok(after.every((x) => x.len <= 1220 - TS), `${after.find((x) => x.len > 1220 - TS)?.len}`);
  assert.equal(L.r.fragments6, 0, "segments fit: the source fragments none");
  const lostSeq = L.r.sent.find((x) => x.at === t0 && x.len > 1220)!.seq;
  const resend = L.r.sent.find((x) => x.at > t0 && x.seq === lostSeq)!;
  assert.ok(resend.at - t0 <= 2, `resent ${resend.at - t0} ms after the drop`);
});

for (const fam of [4, 6] as const) {
  Deno.test(`PMTU/IPv${fam}: a forged ${fam === 4 ? "Frag-Needed" : "Packet Too Big"} quoting a seq outside the window mid-transfer changes nothing`, async () => {
    const L = await connected(fam);
    const mss0 = mss(L.s);
    const done = await transfer(L, 300_000);
    await L.sim.run(5);
    const last = L.r.sent.at(-1)!;
    const rtx0 = retransmits(L.s);
    // A quote of a real segment, its sequence number moved a million bytes ahead.
    const d = fam === 4
      ? ipv4Datagram({ src: A4, dst: B4, protocol: 6, payload: new Uint8Array(20) })
      : encodeIpv6({
        trafficClass: 0,
        flowLabel: 0,
        nextHeader: 6,
        hopLimit: 64,
        src: A6,
        dst: B6,
        payload: new Uint8Array(20),
      });
    const hl = fam === 4 ? 20 : 40;
    const q = d.slice(0, hl + 8);
    const v = new DataView(q.buffer);
    v.setUint16(hl, L.s.localPort);
    v.setUint16(hl + 2, 9000);
    v.setUint32(hl + 4, (last.seq + 1_000_000) >>> 0);
    icmpTooBig(L.a, L.b, fam, q, fam === 4 ? 576 : 1280);
    await done();
    assert.equal(mss(L.s), mss0);
    assert.equal(retransmits(L.s), rtx0, "nothing was resent");
    assert.equal(L.a.counters.get("tcp: mss-lowered"), undefined);
    assert.equal(L.a.counters.get("tcp: icmp out-of-window"), 1);
    assert.ok(L.r.sent.filter((x) => x.at > last.at).some((x) => x.len === mss0));
  });
}

for (const fam of [4, 6] as const) {
  Deno.test(`PMTU/IPv${fam}: EMSGSIZE from the IP layer (interface MTU lowered mid-transfer) lowers the MSS and resends instead of black-holing`, async () => {
    const L = await connected(fam);
    const done = await transfer(L, 400_000);
    await L.sim.run(5);
    const mtu = fam === 4 ? 1000 : 1280;
    runNetctl(L.a, { op: "iflink", iface: "eth0", mtu });
    const t0 = L.sim.clock.now();
    await done();
    assert.ok((L.a.counters.get("tcp: output EMSGSIZE") ?? 0) >= 1);
    const most = mtu - (fam === 4 ? 20 : 40) - 20 - TS;
    assert.equal(mss(L.s), most);
    const after = L.r.sent.filter((x) => x.at > t0 && x.len > 0);
    assert.ok(after.every((x) => x.len <= most));
    assert.equal(L.r.fragments6, 0, "IPv6 segments are never fragmented at the source");
    // Well under one RTO per lost window: nothing waited for the retransmission timer.
    assert.ok(L.sim.clock.now() - t0 < 2000, `${L.sim.clock.now() - t0} ms`);
  });
}
