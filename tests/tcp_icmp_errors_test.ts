/**
 * ICMP errors reaching TCP are believed only when they quote a sequence number in
 * [SND.UNA, SND.NXT] (RFC 5927 §4.1, Linux's tcp_v4_err/tcp_v6_err); in the synchronized states
 * they are soft (RFC 1122 §4.2.3.9); while opening, hard ones abort. IPv4 and IPv6, frames
 * forged by hand and injected into a simulated host.
 */
import assert from "node:assert/strict";
import * as abi from "../kernel/abi.ts";
import type { ErrnoError } from "../kernel/errno.ts";
import type { LinkPort } from "../drivers/link/port.ts";
import type { NetworkTask } from "../netstack/network_task.ts";
import { runNetctl } from "../netstack/netctl.ts";
import type { TcpSocket } from "../netstack/sockets/tcp_socket.ts";
import { parseIPv4, parseIPv6 } from "../netstack/wire/addr.ts";
import { encodeEthernet } from "../netstack/wire/ethernet.ts";
import { encodeIcmpv4, Icmpv4DstUnreachableCode } from "../netstack/wire/icmpv4.ts";
import { encodeIcmpv6, Icmpv6DstUnreachableCode } from "../netstack/wire/icmpv6.ts";
import { encodeIpv4 } from "../netstack/wire/ipv4.ts";
import { encodeIpv6 } from "../netstack/wire/ipv6.ts";
import { Sim } from "./sim.ts";

type Fam = 4 | 6;
const A4 = parseIPv4("10.0.0.1")!;
const B4 = parseIPv4("10.0.0.2")!;
const A6 = parseIPv6("2001:db8::1")!;
const B6 = parseIPv6("2001:db8::2")!;
const OOW = "tcp: icmp out-of-window";

/** A wrapper recording a's TCP datagrams (IP header on), and dropping them while `drop` is set. */
function tcpTap() {
  const sent: Uint8Array[] = [];
  const st = { drop: false };
  const wrap = (p: LinkPort): LinkPort => ({
    send(frame) {
      const v4 = frame[12] === 0x08 && frame[13] === 0x00 && frame[14 + 9] === 6;
      const v6 = frame[12] === 0x86 && frame[13] === 0xdd && frame[14 + 6] === 6;
      if (v4 || v6) {
        sent.push(frame.slice(14));
        if (st.drop) return;
      }
      p.send(frame);
    },
    onFrame: (h) => p.onFrame(h),
    onBurstEnd: p.onBurstEnd && ((cb) => p.onBurstEnd!(cb)),
    linkDrops: p.linkDrops && (() => p.linkDrops!()),
    close: () => p.close(),
  });
  return { sent, st, wrap };
}

function lab() {
  const sim = new Sim();
  const tap = tcpTap();
  const a = sim.host("a", { eth0: ["lan", "10.0.0.1/24"] }, { wrap: tap.wrap });
  const b = sim.host("b", { eth0: ["lan", "10.0.0.2/24"] });
  runNetctl(a, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::1/64" });
  runNetctl(b, { op: "ifaddr", iface: "eth0", action: "add", cidr: "2001:db8::2/64" });
  return { sim, a, b, tap, ctx: { signal: sim.signal } };
}

const addr = (fam: Fam, host: "a" | "b", port: number) =>
  fam === 4
    ? { family: 2 as const, addr: host === "a" ? "10.0.0.1" : "10.0.0.2", port }
    : { family: 10 as const, addr: host === "a" ? "2001:db8::1" : "2001:db8::2", port };

/**
 * The quote of a's last TCP datagram (IP header and 8 bytes of TCP), its seq moved past its
 * payload (once acknowledged, that is SND.UNA) and then by `delta`.
 */
function quote(fam: Fam, sent: Uint8Array[], delta = 0): Uint8Array {
  const d = sent.filter((x) => fam === 4 ? x[0] >> 4 === 4 : x[0] >> 4 === 6).at(-1)!;
  const hl = fam === 4 ? (d[0] & 15) * 4 : 40;
  const total = fam === 4 ? (d[2] << 8) | d[3] : 40 + ((d[4] << 8) | d[5]);
  const payload = total - hl - (d[hl + 12] >> 4) * 4;
  const q = d.slice(0, hl + 8);
  const v = new DataView(q.buffer);
  v.setUint32(hl + 4, (v.getUint32(hl + 4) + payload + delta) >>> 0);
  return q;
}

/** Inject an ICMP error from b to a: unreachable (`code`) or, with `mtu`, Frag-Needed / PTB. */
function icmp(
  a: NetworkTask,
  b: NetworkTask,
  fam: Fam,
  invoking: Uint8Array,
  code: number,
  mtu = 0,
) {
  const e = (t: NetworkTask) => t.iface("eth0")!;
  let ip: Uint8Array;
  if (fam === 4) {
    const payload = encodeIcmpv4({
      kind: "dst-unreachable",
      code: mtu ? Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED : code,
      nextHopMtu: mtu,
      invoking,
    });
    ip = encodeIpv4({
      dscp: 0,
      ecn: 0,
      ident: 9,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 1,
      options: new Uint8Array(0),
      src: B4,
      dst: A4,
      payload,
    });
  } else {
    const addrs = { src: B6, dst: A6 };
    const payload = mtu
      ? encodeIcmpv6({ kind: "packet-too-big", mtu, invoking }, addrs)
      : encodeIcmpv6({ kind: "dst-unreachable", code, invoking }, addrs);
    ip = encodeIpv6({
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: 58,
      hopLimit: 64,
      ...addrs,
      payload,
    });
  }
  const ethertype = fam === 4 ? 0x0800 : 0x86dd;
  a.input(e(a), encodeEthernet({ dst: e(a).mac, src: e(b).mac, ethertype, payload: ip }));
}

const HOST_UNREACH = {
  4: Icmpv4DstUnreachableCode.HOST,
  6: Icmpv6DstUnreachableCode.ADDRESS_UNREACHABLE,
};
const PORT_UNREACH = {
  4: Icmpv4DstUnreachableCode.PORT,
  6: Icmpv6DstUnreachableCode.PORT_UNREACHABLE,
};

/** An established a→b connection with some data exchanged. */
async function established(fam: Fam) {
  const L = lab();
  const { sim, a, b, ctx } = L;
  await sim.run(3000); // IPv6 duplicate address detection
  const af = fam === 4 ? abi.AF_INET : abi.AF_INET6;
  const l = b.createSocket(af, abi.SOCK_STREAM, 0) as TcpSocket;
  l.bind(addr(fam, "b", 9000));
  l.listen(1);
  const accepted = l.accept(ctx);
  const s = a.createSocket(af, abi.SOCK_STREAM, 0) as TcpSocket;
  await sim.until(s.connect(addr(fam, "b", 9000), ctx));
  const peer = (await sim.until(accepted)).socket as TcpSocket;
  return { ...L, s, peer };
}

async function echoOnce(L: Awaited<ReturnType<typeof established>>, n: number) {
  const { sim, s, peer, ctx } = L;
  const data = new Uint8Array(n).fill(7);
  await sim.until(s.sendmsg(data, 0, undefined, ctx));
  let got = 0;
  while (got < n) got += (await sim.until(peer.recvmsg(65536, 0, ctx))).data.length;
  await sim.run(50); // the ACK comes back: a's last segment is at SND.UNA = SND.NXT
  assert.equal(got, n);
}

for (const fam of [4, 6] as const) {
  Deno.test(`TCP/IPv${fam}: ESTABLISHED ignores an unreachable quoting a seq out of window; in window it is a soft error and data keeps flowing`, async () => {
    const L = await established(fam);
    const { sim, a, b, s, tap } = L;
    await echoOnce(L, 3000);
    const oow0 = a.counters.get(OOW) ?? 0;
    icmp(a, b, fam, quote(fam, tap.sent, 100_000), PORT_UNREACH[fam]);
    icmp(a, b, fam, quote(fam, tap.sent, -100_000), HOST_UNREACH[fam]);
    await sim.run(10);
    assert.equal((a.counters.get(OOW) ?? 0) - oow0, 2);
    assert.equal(a.counters.get("tcp: icmp soft-error") ?? 0, 0);
    // In window: host unreachable (and even port unreachable) only record a soft error.
    icmp(a, b, fam, quote(fam, tap.sent), HOST_UNREACH[fam]);
    icmp(a, b, fam, quote(fam, tap.sent), PORT_UNREACH[fam]);
    await sim.run(10);
    assert.equal(a.counters.get("tcp: icmp soft-error"), 2);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), 0, "soft errors are not SO_ERROR");
    await echoOnce(L, 20_000);
    assert.equal(s.getsockopt(abi.SOL_SOCKET, abi.SO_ERROR), 0);
  });

  Deno.test(`TCP/IPv${fam}: SYN-SENT: a forged port unreachable changes nothing, one quoting the SYN gives ECONNREFUSED`, async () => {
    const { sim, a, b, tap, ctx } = lab();
    await sim.run(3000); // IPv6 duplicate address detection
    const af = fam === 4 ? abi.AF_INET : abi.AF_INET6;
    const s = a.createSocket(af, abi.SOCK_STREAM, 0) as TcpSocket;
    tap.st.drop = true; // the SYN never reaches b: a stays in SYN-SENT
    let outcome: string | undefined;
    const connecting = s.connect(addr(fam, "b", 9000), ctx).then(
      () => (outcome = "connected"),
      (e: ErrnoError) => (outcome = e.code),
    );
    await sim.run(200);
    assert.equal(outcome, undefined);
    icmp(a, b, fam, quote(fam, tap.sent, 5000), PORT_UNREACH[fam]);
    icmp(a, b, fam, quote(fam, tap.sent, -1), PORT_UNREACH[fam]);
    await sim.run(20);
    assert.equal(outcome, undefined, "still connecting");
    assert.equal(a.counters.get(OOW), 2);
    icmp(a, b, fam, quote(fam, tap.sent), PORT_UNREACH[fam]);
    await sim.until(connecting, 1000);
    assert.equal(outcome, "ECONNREFUSED");
  });

  Deno.test(`TCP/IPv${fam}: a forged ${fam === 4 ? "Frag-Needed" : "Packet Too Big"} quoting a wrong seq leaves the MSS unchanged`, async () => {
    const L = await established(fam);
    const { sim, a, b, s, tap } = L;
    await echoOnce(L, 3000);
    const mss0 = s.getsockopt(abi.IPPROTO_TCP, abi.TCP_MAXSEG) as number;
    icmp(a, b, fam, quote(fam, tap.sent, 1_000_000), 0, fam === 4 ? 576 : 1280);
    await sim.run(10);
    assert.equal(s.getsockopt(abi.IPPROTO_TCP, abi.TCP_MAXSEG), mss0);
    assert.equal(a.counters.get(OOW), 1);
    assert.equal(a.counters.get("icmpv6: path-mtu-lowered"), undefined, "no path MTU learnt");
    // Full-sized segments still get through: the forged error black-holes nothing.
    await echoOnce(L, 200_000);
    if (fam === 4) {
      // The same error quoting a seq in window is believed.
      icmp(a, b, fam, quote(fam, tap.sent), 0, 576);
      await sim.run(10);
      assert.ok((s.getsockopt(abi.IPPROTO_TCP, abi.TCP_MAXSEG) as number) < mss0);
    }
  });
}

Deno.test("TCP/IPv4: a soft error is what a later timeout reports (Linux's sk_err_soft ?: ETIMEDOUT)", async () => {
  const L = await established(4);
  const { sim, a, b, s, tap, ctx } = L;
  await echoOnce(L, 1000);
  icmp(a, b, 4, quote(4, tap.sent), HOST_UNREACH[4]);
  tap.st.drop = true; // the peer is gone from now on
  await sim.until(s.sendmsg(new Uint8Array(100), 0, undefined, ctx));
  const failed = s.recvmsg(100, 0, ctx).then(() => "", (e: ErrnoError) => e.code);
  assert.equal(await sim.until(failed, 3_600_000, 500), "EHOSTUNREACH");
});
