import assert from "node:assert/strict";
import { parseIPv4 } from "./addr.ts";
import { pseudoHeaderSum4 } from "./checksum.ts";
import { encodeEthernet, ETHERTYPE_IPV4 } from "./ethernet.ts";
import { formatFrame, formatIpPacket } from "./format.ts";
import { encodeIpv4, IpProtocol } from "./ipv4.ts";
import { readPcap } from "./pcap.ts";
import { encodeTcp, TcpFlag } from "./tcp.ts";

// Frames captured from Linux by tests/fixtures/capture.sh (1-based numbers as tshark shows them).
const frames = readPcap(
  Deno.readFileSync(new URL("../../tests/fixtures/linux.pcap", import.meta.url)),
).records.map((r) => r.data);
const frame = (n: number) => frames[n - 1];

const EXPECTED: Array<[number, string]> = [
  [
    1,
    "IPv6 :: > ff02::1:ffe7:1 ICMPv6 neighbor solicitation who-has fe80::aff:fee7:1, opt-14 len=8",
  ],
  [
    10,
    "IPv6 fe80::aff:fee7:1 > ff02::16 HBH ICMPv6 MLDv2 report 2 records: " +
    "to_ex ff02::1:ff00:1, to_ex ff02::1:ffe7:1",
  ],
  [7, "IPv6 fe80::aff:fee7:1 > ff02::2 ICMPv6 router solicitation, src lladdr 02:00:0a:e7:00:01"],
  [18, "ARP who-has 10.231.0.2 tell 10.231.0.1"],
  [19, "ARP 10.231.0.2 is-at 02:00:0a:e7:00:02"],
  [20, "IPv4 10.231.0.1 > 10.231.0.2 ICMP echo request id=14170 seq=1 len=56"],
  [21, "IPv4 10.231.0.2 > 10.231.0.1 ICMP echo reply id=14170 seq=1 len=56"],
  [
    24,
    "IPv6 fd00:231::1 > ff02::1:ff00:2 ICMPv6 neighbor solicitation who-has fd00:231::2, " +
    "src lladdr 02:00:0a:e7:00:01",
  ],
  [
    25,
    "IPv6 fd00:231::2 > fd00:231::1 ICMPv6 neighbor advertisement fd00:231::2 [SO], " +
    "tgt lladdr 02:00:0a:e7:00:02",
  ],
  [26, "IPv6 fd00:231::1 > fd00:231::2 ICMPv6 echo request id=14173 seq=1 len=56"],
  [
    30,
    "IPv4 10.231.0.1 > 10.231.0.2 TCP 59688 > 5001 [S] seq=4155959070 win=64240 len=0 " +
    "mss=1460,sackOK,TS val 903652881 ecr 0,wscale=10",
  ],
  [
    31,
    "IPv4 10.231.0.2 > 10.231.0.1 TCP 5001 > 59688 [S.] seq=171174745 ack=4155959071 " +
    "win=65160 len=0 mss=1460,sackOK,TS val 2420361735 ecr 903652881,wscale=10",
  ],
  [
    33,
    "IPv4 10.231.0.1 > 10.231.0.2 TCP 59688 > 5001 [P.] seq=4155959071 ack=171174746 win=63 " +
    "len=26 TS val 903652881 ecr 2420361735",
  ],
  [
    37,
    "IPv4 10.231.0.1 > 10.231.0.2 TCP 59688 > 5001 [F.] seq=4155959112 ack=171174746 win=63 " +
    "len=0 TS val 903653082 ecr 2420361936",
  ],
  [
    42,
    "IPv6 fd00:231::1 > fd00:231::2 TCP 47898 > 5001 [S] seq=3227442078 win=64800 len=0 " +
    "mss=1440,sackOK,TS val 3074751801 ecr 0,wscale=10",
  ],
  [54, "IPv4 10.231.0.1 > 10.231.0.2 frag id=62643 off=0 + UDP len=1480"],
  [55, "IPv4 10.231.0.1 > 10.231.0.2 frag id=62643 off=1480 + UDP len=1480"],
  [56, "IPv4 10.231.0.1 > 10.231.0.2 frag id=62643 off=2960 UDP len=1048"],
  [57, "IPv6 fd00:231::1 > fd00:231::2 frag id=0xc3d64a1c off=0 + UDP len=1448"],
  [59, "IPv6 fd00:231::1 > fd00:231::2 frag id=0xc3d64a1c off=2896 UDP len=1112"],
  [60, "IPv4 10.231.0.1 > 10.231.0.2 UDP 52500 > 5999 len=32"],
  [
    61,
    "IPv4 10.231.0.2 > 10.231.0.1 ICMP unreachable port for 10.231.0.1 > 10.231.0.2 UDP " +
    "52500 > 5999",
  ],
  [62, "IPv6 fd00:231::1 > fd00:231::2 UDP 50818 > 5999 len=32"],
  [
    63,
    "IPv6 fd00:231::2 > fd00:231::1 ICMPv6 unreachable port for fd00:231::1 > fd00:231::2 UDP " +
    "50818 > 5999",
  ],
];

Deno.test("format: Linux fixture frames print like tcpdump", () => {
  for (const [n, line] of EXPECTED) assert.equal(formatFrame(frame(n)), line, `frame ${n}`);
});

Deno.test("format: link option prefixes the MACs", () => {
  assert.equal(
    formatFrame(frame(18), { link: true }),
    "02:00:0a:e7:00:01 > ff:ff:ff:ff:ff:ff, ARP who-has 10.231.0.2 tell 10.231.0.1",
  );
});

Deno.test("format: a bare IP packet prints without the link layer", () => {
  assert.equal(
    formatIpPacket(frame(20).subarray(14)),
    "IPv4 10.231.0.1 > 10.231.0.2 ICMP echo request id=14170 seq=1 len=56",
  );
  assert.equal(
    formatIpPacket(frame(26).subarray(14)),
    "IPv6 fd00:231::1 > fd00:231::2 ICMPv6 echo request id=14173 seq=1 len=56",
  );
  assert.equal(formatIpPacket(new Uint8Array(0)), "malformed (ip: truncated)");
  assert.equal(formatIpPacket(new Uint8Array([0x50])), "malformed (ip: bad-version: version 5)");
});

Deno.test("format: malformed layers print the reason after what parsed", () => {
  assert.match(formatFrame(new Uint8Array(5)), /^malformed \(ethernet: truncated/);
  // A bad TCP checksum: the IPv4 header still prints.
  const badTcp = frame(30).slice();
  badTcp[14 + 20 + 16] ^= 0xff;
  assert.equal(
    formatFrame(badTcp),
    "IPv4 10.231.0.1 > 10.231.0.2 TCP malformed (tcp: bad-checksum)",
  );
  // A bad IPv4 header checksum.
  const badIp = frame(20).slice();
  badIp[14 + 10] ^= 0xff;
  assert.equal(formatFrame(badIp), "IPv4 malformed (ipv4: bad-checksum)");
  // Cut inside the ARP body.
  assert.match(formatFrame(frame(18).subarray(0, 30)), /^ARP malformed \(arp: truncated/);
  // An unknown EtherType is named by number.
  const lldp = frame(18).slice();
  lldp[12] = 0x88;
  lldp[13] = 0xcc;
  assert.equal(formatFrame(lldp), "ethertype 0x88cc len=28");
});

Deno.test("format: TCP flags, urgent pointer and SACK blocks", () => {
  const src = parseIPv4("10.0.0.1")!;
  const dst = parseIPv4("10.0.0.2")!;
  const tcp = encodeTcp({
    srcPort: 80,
    dstPort: 49152,
    seq: 1,
    ack: 2,
    flags: TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK | TcpFlag.URG | TcpFlag.ECE | TcpFlag.CWR,
    window: 100,
    urgent: 3,
    options: { sack: [[10, 20], [30, 40]] },
    payload: new Uint8Array(4),
  }, { pseudoSum: pseudoHeaderSum4(src, dst, IpProtocol.TCP, 20 + 20 + 4) });
  const ip = encodeIpv4({
    dscp: 0,
    ecn: 0,
    ident: 1,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: IpProtocol.TCP,
    src,
    dst,
    options: new Uint8Array(0),
    payload: tcp,
  });
  const eth = encodeEthernet({
    dst: new Uint8Array(6),
    src: new Uint8Array(6),
    ethertype: ETHERTYPE_IPV4,
    vlan: { pcp: 3, dei: false, vid: 42 },
    payload: ip,
  });
  assert.equal(
    formatFrame(eth),
    "vlan 42 p3, IPv4 10.0.0.1 > 10.0.0.2 TCP 80 > 49152 [FP.UEW] seq=1 ack=2 win=100 urg=3 " +
      "len=4 sack {10:20}{30:40}",
  );
});

Deno.test("format: never throws on truncated or corrupted fixture frames", () => {
  // Deterministic xorshift so failures reproduce.
  let state = 0x2545f491;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  for (const f of frames) {
    for (let cut = 0; cut <= f.length; cut += Math.max(1, f.length >> 4)) {
      assert.equal(typeof formatFrame(f.subarray(0, cut)), "string");
    }
    for (let i = 0; i < 20; i++) {
      const g = f.slice();
      g[Math.floor(rand() * g.length)] = Math.floor(rand() * 256);
      const line = formatFrame(g);
      assert.ok(line.length > 0 && !line.includes("\n"));
    }
  }
});
