/**
 * Frames built freshly with Serin's emitters, written with the pcap writer and dissected by
 * tshark with checksum validation on: tshark must find no malformed packet, no bad checksum and
 * no other warning, and must decode the fields we meant to write.
 */
import assert from "node:assert/strict";
import { parseIPv4, parseIPv6, parseMac } from "../netstack/wire/addr.ts";
import { ArpOp, encodeArp } from "../netstack/wire/arp.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../netstack/wire/checksum.ts";
import {
  encodeEthernet,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  ipv6MulticastMac,
} from "../netstack/wire/ethernet.ts";
import { encodeIcmpv4 } from "../netstack/wire/icmpv4.ts";
import { encodeIcmpv6, type Icmpv6Repr } from "../netstack/wire/icmpv6.ts";
import { encodeIpv4, IpProtocol } from "../netstack/wire/ipv4.ts";
import { encodeIpv6, Ipv6OptionType } from "../netstack/wire/ipv6.ts";
import { emitIpv6OptionsHeader, ipv6OptionsHeaderLength } from "../netstack/wire/ipv6_ext.ts";
import { PcapWriter } from "../netstack/wire/pcap.ts";
import { encodeTcp, TcpFlag, type TcpOptions } from "../netstack/wire/tcp.ts";
import { encodeUdp } from "../netstack/wire/udp.ts";
import { tsharkFields, tsharkProblems, tsharkTest } from "./tshark.ts";

const MAC_A = parseMac("02:00:00:00:00:0a")!;
const MAC_B = parseMac("02:00:00:00:00:0b")!;
const IP4_A = parseIPv4("192.0.2.1")!;
const IP4_B = parseIPv4("192.0.2.2")!;
const IP6_A = parseIPv6("2001:db8::a")!;
const IP6_B = parseIPv6("2001:db8::b")!;
const LL6_A = parseIPv6("fe80::a")!;
const EMPTY = new Uint8Array(0);

/** tshark preferences: no TCP sequence analysis, whose warnings are about flows, not bytes. */
const PREFS = ["tcp.analyze_sequence_numbers:FALSE"];

function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

function eth(ethertype: number, payload: Uint8Array, dst = MAC_B): Uint8Array {
  return encodeEthernet({ dst, src: MAC_A, ethertype, payload });
}

function ipv4(
  protocol: number,
  payload: Uint8Array,
  more: Partial<{ ident: number; moreFragments: boolean; fragmentOffset: number }> = {},
): Uint8Array {
  return eth(
    ETHERTYPE_IPV4,
    encodeIpv4({
      dscp: 0,
      ecn: 0,
      ident: more.ident ?? 0x1234,
      dontFragment: more.moreFragments === undefined,
      moreFragments: more.moreFragments ?? false,
      fragmentOffset: more.fragmentOffset ?? 0,
      ttl: 64,
      protocol,
      src: IP4_A,
      dst: IP4_B,
      options: EMPTY,
      payload,
    }),
  );
}

function ipv6(nextHeader: number, payload: Uint8Array, src = IP6_A, dst = IP6_B, hopLimit = 64) {
  const mac = dst[0] === 0xff ? ipv6MulticastMac(dst) : MAC_B;
  return eth(
    ETHERTYPE_IPV6,
    encodeIpv6({ trafficClass: 0, flowLabel: 0x12345, nextHeader, hopLimit, src, dst, payload }),
    mac,
  );
}

function tcp4(flags: number, options: TcpOptions, payload: Uint8Array, seq = 1000, ack = 0) {
  const repr = {
    srcPort: 49152,
    dstPort: 50080,
    seq,
    ack,
    flags,
    window: 65535,
    urgent: 0,
    options,
    payload,
  };
  const len = encodeTcp(repr).length;
  const seg = encodeTcp(repr, { pseudoSum: pseudoHeaderSum4(IP4_A, IP4_B, IpProtocol.TCP, len) });
  return ipv4(IpProtocol.TCP, seg);
}

function icmpv6(repr: Icmpv6Repr, src = IP6_A, dst = IP6_B, hopLimit = 64): Uint8Array {
  return ipv6(IpProtocol.ICMPV6, encodeIcmpv6(repr, { src, dst }), src, dst, hopLimit);
}

/** The frames under test, each with a protocol tshark must find in it. */
function buildFrames(): Array<{ name: string; frame: Uint8Array; top: string }> {
  const frames: Array<{ name: string; frame: Uint8Array; top: string }> = [];
  const add = (name: string, top: string, frame: Uint8Array) => frames.push({ name, frame, top });

  add(
    "TCP SYN with all options",
    "tcp",
    tcp4(TcpFlag.SYN, {
      mss: 1460,
      sackPermitted: true,
      timestamp: { value: 123456, echo: 0 },
      windowScale: 7,
    }, EMPTY),
  );
  add(
    "TCP data with SACK blocks",
    "tcp",
    tcp4(
      TcpFlag.ACK | TcpFlag.PSH,
      { timestamp: { value: 123457, echo: 99 }, sack: [[5000, 6000], [7000, 8000]] },
      text("hello, tshark\n"),
      1001,
      4000,
    ),
  );
  add("TCP FIN, odd-length payload", "tcp", tcp4(TcpFlag.FIN | TcpFlag.ACK, {}, text("x"), 1, 2));
  const udpPayload = text("serin udp payload");
  add(
    "UDP over IPv4",
    "udp",
    ipv4(
      IpProtocol.UDP,
      encodeUdp({ srcPort: 50353, dstPort: 50999, payload: udpPayload }, {
        pseudoSum: pseudoHeaderSum4(IP4_A, IP4_B, IpProtocol.UDP, 8 + udpPayload.length),
      }),
    ),
  );
  // A 2000-byte UDP datagram in two IPv4 fragments; tshark reassembles it and checks UDP.
  const big = Uint8Array.from({ length: 2000 }, (_, i) => i & 0xff);
  const bigUdp = encodeUdp({ srcPort: 4000, dstPort: 4001, payload: big }, {
    pseudoSum: pseudoHeaderSum4(IP4_A, IP4_B, IpProtocol.UDP, 2008),
  });
  add(
    "IPv4 first fragment",
    "ip",
    ipv4(IpProtocol.UDP, bigUdp.subarray(0, 1480), { ident: 7, moreFragments: true }),
  );
  add(
    "IPv4 last fragment (tshark reassembles the UDP datagram)",
    "udp",
    ipv4(IpProtocol.UDP, bigUdp.subarray(1480), { ident: 7, fragmentOffset: 1480 }),
  );
  add(
    "ICMP echo request",
    "icmp",
    ipv4(
      IpProtocol.ICMP,
      encodeIcmpv4({ kind: "echo-request", identifier: 77, sequence: 1, data: text("ping!") }),
    ),
  );
  add(
    "ARP request",
    "arp",
    eth(
      ETHERTYPE_ARP,
      encodeArp({
        op: ArpOp.REQUEST,
        senderMac: MAC_A,
        senderIp: IP4_A,
        targetMac: new Uint8Array(6),
        targetIp: IP4_B,
      }),
      parseMac("ff:ff:ff:ff:ff:ff")!,
    ),
  );
  add(
    "ARP reply",
    "arp",
    eth(
      ETHERTYPE_ARP,
      encodeArp({
        op: ArpOp.REPLY,
        senderMac: MAC_A,
        senderIp: IP4_A,
        targetMac: MAC_B,
        targetIp: IP4_B,
      }),
    ),
  );
  const solicited = parseIPv6("ff02::1:ff00:b")!;
  add(
    "ICMPv6 neighbor solicitation",
    "icmpv6",
    icmpv6(
      {
        kind: "ndp",
        message: {
          kind: "neighbor-solicit",
          target: IP6_B,
          options: [{ kind: "source-lladdr", addr: MAC_A }],
        },
      },
      IP6_A,
      solicited,
      255,
    ),
  );
  add(
    "ICMPv6 neighbor advertisement",
    "icmpv6",
    icmpv6(
      {
        kind: "ndp",
        message: {
          kind: "neighbor-advert",
          router: false,
          solicited: true,
          override: true,
          target: IP6_A,
          options: [{ kind: "target-lladdr", addr: MAC_A }],
        },
      },
      IP6_A,
      IP6_B,
      255,
    ),
  );
  add(
    "ICMPv6 echo request",
    "icmpv6",
    icmpv6({ kind: "echo-request", identifier: 9, sequence: 3, data: text("ping6") }),
  );
  const seg6 = { ...tcpRepr(), payload: text("v6 data") };
  const len6 = encodeTcp(seg6).length;
  add(
    "TCP over IPv6",
    "tcp",
    ipv6(
      IpProtocol.TCP,
      encodeTcp(seg6, { pseudoSum: pseudoHeaderSum6(IP6_A, IP6_B, IpProtocol.TCP, len6) }),
    ),
  );
  add(
    "UDP over IPv6",
    "udp",
    ipv6(
      IpProtocol.UDP,
      encodeUdp({ srcPort: 50547, dstPort: 50546, payload: udpPayload }, {
        pseudoSum: pseudoHeaderSum6(IP6_A, IP6_B, IpProtocol.UDP, 8 + udpPayload.length),
      }),
    ),
  );
  // MLDv2 report behind a hop-by-hop header with Router Alert, as Linux sends it.
  const mldDst = parseIPv6("ff02::16")!;
  const mld = encodeIcmpv6({
    kind: "mld",
    message: {
      kind: "report-v2",
      records: [{
        recordType: 4,
        multicastAddress: solicited,
        sources: [],
        auxData: EMPTY,
      }],
    },
  }, { src: LL6_A, dst: mldDst });
  const hbhOpts = [{ type: Ipv6OptionType.ROUTER_ALERT, data: new Uint8Array(2) }];
  const hbh = new Uint8Array(ipv6OptionsHeaderLength(hbhOpts) + mld.length);
  const hl = emitIpv6OptionsHeader(IpProtocol.ICMPV6, hbhOpts, hbh);
  hbh.set(mld, hl);
  add("MLDv2 report", "icmpv6", ipv6(0, hbh, LL6_A, mldDst, 1));
  return frames;
}

function tcpRepr() {
  return {
    srcPort: 40000,
    dstPort: 50022,
    seq: 0xfffffff0,
    ack: 0x10,
    flags: TcpFlag.ACK | TcpFlag.PSH,
    window: 512,
    urgent: 0,
    options: { timestamp: { value: 1, echo: 2 } },
    payload: EMPTY,
  };
}

async function withPcap<T>(frames: Uint8Array[], fn: (path: string) => Promise<T>): Promise<T> {
  const w = new PcapWriter();
  frames.forEach((f, i) => w.write(f, { seconds: 1_700_000_000 + i, nanoseconds: 0 }));
  const path = await Deno.makeTempFile({ prefix: "serin_", suffix: ".pcap" });
  try {
    await Deno.writeFile(path, w.bytes());
    return await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

tsharkTest("pcap + tshark: emitted frames have no malformed packets or bad checksums", async () => {
  const frames = buildFrames();
  await withPcap(frames.map((f) => f.frame), async (path) => {
    const problems = await tsharkProblems(path, PREFS);
    const named = problems.map((p) =>
      `${frames[p.frame - 1].name}: ${p.severity}/${p.group}: ${p.message}`
    );
    assert.deepEqual(named, []);
    const dissected = await tsharkFields(path, [
      "frame.protocols",
      "ip.checksum.status",
      "tcp.checksum.status",
      "udp.checksum.status",
      "icmp.checksum.status",
      "icmpv6.checksum.status",
    ], PREFS);
    assert.equal(dissected.length, frames.length);
    dissected.forEach((d, i) => {
      const protocols = d["frame.protocols"][0].split(":");
      assert.ok(protocols.includes(frames[i].top), `${frames[i].name}: ${protocols.join(":")}`);
      // Every checksum tshark looked at is "1" (good), not "0" (bad) or "2" (unverified).
      for (const [field, values] of Object.entries(d)) {
        if (!field.endsWith("checksum.status")) continue;
        assert.ok(values.every((v) => v === "1"), `${frames[i].name}: ${field} ${values}`);
      }
    });
  });
});

tsharkTest("pcap + tshark: TCP options and addresses decode as written", async () => {
  const frames = buildFrames();
  await withPcap([frames[0].frame, frames[1].frame], async (path) => {
    const [syn, data] = await tsharkFields(path, [
      "ip.src",
      "ip.dst",
      "tcp.flags",
      "tcp.seq_raw",
      "tcp.options.mss_val",
      "tcp.options.sack_perm",
      "tcp.options.timestamp.tsval",
      "tcp.options.wscale.shift",
      "tcp.options.sack_le",
      "tcp.options.sack_re",
      "tcp.len",
    ], ["tcp.relative_sequence_numbers:FALSE", ...PREFS]);
    assert.deepEqual(syn["ip.src"], ["192.0.2.1"]);
    assert.deepEqual(syn["ip.dst"], ["192.0.2.2"]);
    assert.deepEqual(syn["tcp.flags"], ["0x0002"]);
    assert.deepEqual(syn["tcp.seq_raw"], ["1000"]);
    assert.deepEqual(syn["tcp.options.mss_val"], ["1460"]);
    assert.ok(syn["tcp.options.sack_perm"]);
    assert.deepEqual(syn["tcp.options.timestamp.tsval"], ["123456"]);
    assert.deepEqual(syn["tcp.options.wscale.shift"], ["7"]);
    assert.deepEqual(data["tcp.options.sack_le"], ["5000", "7000"]);
    assert.deepEqual(data["tcp.options.sack_re"], ["6000", "8000"]);
    assert.deepEqual(data["tcp.len"], ["14"]);
  });
});

tsharkTest(
  "pcap + tshark: a corrupted checksum is reported (the check is not vacuous)",
  async () => {
    const syn = buildFrames()[0].frame.slice();
    syn[14 + 20 + 16] ^= 0x01;
    await withPcap([syn], async (path) => {
      const problems = await tsharkProblems(path, PREFS);
      assert.ok(problems.some((p) => p.group === "checksum" && p.frame === 1), "bad TCP checksum");
    });
  },
);
