/**
 * Real Linux frames (tests/fixtures/linux.pcap, made by tests/fixtures/capture.sh) parsed with
 * Serin's wire parsers and compared field by field with what tshark decoded from the same
 * frames (tests/fixtures/linux.json); every parsed record is re-emitted and must reproduce the
 * original bytes exactly, checksums included. Fragments are parsed one by one, not reassembled.
 */
import assert from "node:assert/strict";
import { formatIPv4, formatIPv6, formatMac } from "../netstack/wire/addr.ts";
import { encodeArp, parseArp } from "../netstack/wire/arp.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../netstack/wire/checksum.ts";
import {
  encodeEthernet,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  parseEthernet,
} from "../netstack/wire/ethernet.ts";
import { encodeIcmpv4, type Icmpv4Repr, parseIcmpv4 } from "../netstack/wire/icmpv4.ts";
import { encodeIcmpv6, type Icmpv6Repr, parseIcmpv6 } from "../netstack/wire/icmpv6.ts";
import {
  encodeIpv4,
  IpProtocol,
  ipv4HeaderLength,
  ipv4Length,
  type Ipv4Repr,
  parseIpv4,
} from "../netstack/wire/ipv4.ts";
import { encodeIpv6, ipv6Length, type Ipv6Repr, parseIpv6 } from "../netstack/wire/ipv6.ts";
import {
  emitIpv6Fragment,
  emitIpv6OptionsHeader,
  ipv6OptionsHeaderLength,
  walkIpv6Extensions,
} from "../netstack/wire/ipv6_ext.ts";
import type { NdpOption } from "../netstack/wire/ndp.ts";
import { readPcap } from "../netstack/wire/pcap.ts";
import { encodeTcp, parseTcp, tcpHeaderLength } from "../netstack/wire/tcp.ts";
import { encodeUdp, parseUdp } from "../netstack/wire/udp.ts";
import { tsharkProblems, tsharkTest } from "./tshark.ts";

/** tshark's values for one frame: a string, or a list when the field occurs several times. */
type TsharkValues = Record<string, string | string[]>;

const pcap = readPcap(Deno.readFileSync(new URL("./fixtures/linux.pcap", import.meta.url)));
const tshark: { frames: TsharkValues[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/linux.json", import.meta.url)),
);

/** The `occurrence`-th value tshark printed for `name`, or undefined when absent. */
function str(t: TsharkValues, name: string, occurrence = 0): string | undefined {
  const v = t[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[occurrence] : occurrence === 0 ? v : undefined;
}

/** All values tshark printed for `name`. */
function all(t: TsharkValues, name: string): string[] {
  const v = t[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A numeric field ("64", "0x0800") as a number; fails when tshark did not print it. */
function num(t: TsharkValues, name: string, occurrence = 0): number {
  const v = str(t, name, occurrence);
  assert.notEqual(v, undefined, `tshark has no ${name}[${occurrence}]`);
  return Number(v);
}

function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

// ---------------------------------------------------------------------------------------------
// Per-protocol comparisons. Each parses, compares with tshark and re-emits.

function checkIpv4(bytes: Uint8Array, t: TsharkValues, occ: number): Ipv4Repr {
  const ip = parseIpv4(bytes);
  assert.equal(formatIPv4(ip.src), str(t, "ip.src", occ), "ip.src");
  assert.equal(formatIPv4(ip.dst), str(t, "ip.dst", occ), "ip.dst");
  assert.equal(ip.ttl, num(t, "ip.ttl", occ), "ip.ttl");
  assert.equal(ip.ident, num(t, "ip.id", occ), "ip.id");
  assert.equal(ip.protocol, num(t, "ip.proto", occ), "ip.proto");
  assert.equal(ip.dontFragment, num(t, "ip.flags.df", occ) === 1, "ip.flags.df");
  assert.equal(ip.moreFragments, num(t, "ip.flags.mf", occ) === 1, "ip.flags.mf");
  assert.equal(ip.fragmentOffset, num(t, "ip.frag_offset", occ) * 8, "ip.frag_offset");
  assert.equal((ip.dscp << 2) | ip.ecn, num(t, "ip.dsfield", occ), "ip.dsfield");
  assert.equal(ipv4HeaderLength(ip), num(t, "ip.hdr_len", occ), "ip.hdr_len");
  assert.equal(ipv4Length(ip), num(t, "ip.len", occ), "ip.len");
  const again = encodeIpv4(ip);
  assert.deepEqual(again, bytes.subarray(0, ipv4Length(ip)), "IPv4 re-emit");
  assert.equal(u16(again, 10), num(t, "ip.checksum", occ), "ip.checksum");
  return ip;
}

function checkIpv6(bytes: Uint8Array, t: TsharkValues, occ: number): Ipv6Repr {
  const ip = parseIpv6(bytes);
  assert.equal(formatIPv6(ip.src), str(t, "ipv6.src", occ), "ipv6.src");
  assert.equal(formatIPv6(ip.dst), str(t, "ipv6.dst", occ), "ipv6.dst");
  assert.equal(ip.nextHeader, num(t, "ipv6.nxt", occ), "ipv6.nxt");
  assert.equal(ip.hopLimit, num(t, "ipv6.hlim", occ), "ipv6.hlim");
  assert.equal(ip.payload.length, num(t, "ipv6.plen", occ), "ipv6.plen");
  assert.equal(ip.flowLabel, num(t, "ipv6.flow", occ), "ipv6.flow");
  assert.equal(ip.trafficClass, num(t, "ipv6.tclass", occ), "ipv6.tclass");
  assert.deepEqual(encodeIpv6(ip), bytes.subarray(0, ipv6Length(ip)), "IPv6 re-emit");
  return ip;
}

function checkUdp(bytes: Uint8Array, pseudoSum: number, v: 4 | 6, t: TsharkValues): void {
  const udp = parseUdp(bytes, { pseudoSum, ipVersion: v });
  assert.equal(udp.srcPort, num(t, "udp.srcport"), "udp.srcport");
  assert.equal(udp.dstPort, num(t, "udp.dstport"), "udp.dstport");
  assert.equal(8 + udp.payload.length, num(t, "udp.length"), "udp.length");
  const again = encodeUdp(udp, { pseudoSum });
  assert.deepEqual(again, bytes, "UDP re-emit");
  assert.equal(u16(again, 6), num(t, "udp.checksum"), "udp.checksum");
}

function checkTcp(bytes: Uint8Array, pseudoSum: number, t: TsharkValues): void {
  const tcp = parseTcp(bytes, { pseudoSum });
  assert.equal(tcp.srcPort, num(t, "tcp.srcport"), "tcp.srcport");
  assert.equal(tcp.dstPort, num(t, "tcp.dstport"), "tcp.dstport");
  assert.equal(tcp.seq, num(t, "tcp.seq_raw"), "tcp.seq_raw");
  assert.equal(tcp.ack, num(t, "tcp.ack_raw"), "tcp.ack_raw");
  assert.equal(tcp.flags, num(t, "tcp.flags"), "tcp.flags");
  assert.equal(tcp.window, num(t, "tcp.window_size_value"), "tcp.window_size_value");
  assert.equal(tcp.urgent, num(t, "tcp.urgent_pointer"), "tcp.urgent_pointer");
  assert.equal(tcpHeaderLength(tcp), num(t, "tcp.hdr_len"), "tcp.hdr_len");
  assert.equal(tcp.payload.length, num(t, "tcp.len"), "tcp.len");
  const o = tcp.options;
  const opt = (name: string) => (str(t, name) === undefined ? undefined : num(t, name));
  assert.equal(o.mss, opt("tcp.options.mss_val"), "tcp.options.mss_val");
  assert.equal(o.windowScale, opt("tcp.options.wscale.shift"), "tcp.options.wscale.shift");
  assert.equal(
    o.sackPermitted === true,
    str(t, "tcp.options.sack_perm") !== undefined,
    "SACK_PERM",
  );
  assert.equal(o.timestamp?.value, opt("tcp.options.timestamp.tsval"), "tsval");
  assert.equal(o.timestamp?.echo, opt("tcp.options.timestamp.tsecr"), "tsecr");
  assert.equal(o.sack, undefined, "no SACK blocks in the fixture");
  assert.equal(o.unknown, undefined, "no unknown options in the fixture");
  const again = encodeTcp(tcp, { pseudoSum });
  assert.deepEqual(again, bytes, "TCP re-emit");
  assert.equal(u16(again, 16), num(t, "tcp.checksum"), "tcp.checksum");
}

const ICMPV4_TYPE: Record<Icmpv4Repr["kind"], number | undefined> = {
  "echo-reply": 0,
  "dst-unreachable": 3,
  "source-quench": 4,
  "redirect": 5,
  "echo-request": 8,
  "time-exceeded": 11,
  "param-problem": 12,
  "other": undefined,
};

function checkIcmpv4(bytes: Uint8Array, t: TsharkValues): void {
  const m = parseIcmpv4(bytes);
  assert.equal(ICMPV4_TYPE[m.kind], num(t, "icmp.type"), "icmp.type");
  assert.equal(bytes[1], num(t, "icmp.code"), "icmp.code");
  if (m.kind === "echo-request" || m.kind === "echo-reply") {
    assert.equal(m.identifier, num(t, "icmp.ident"), "icmp.ident");
    assert.equal(m.sequence, num(t, "icmp.seq"), "icmp.seq");
  }
  if (m.kind === "dst-unreachable") {
    assert.equal(m.code, num(t, "icmp.code"), "icmp.code");
    // The quoted datagram is tshark's second IPv4 occurrence; here it quotes all of it.
    const inner = checkIpv4(m.invoking, t, 1);
    assert.equal(inner.protocol, IpProtocol.UDP);
    const pseudo = pseudoHeaderSum4(inner.src, inner.dst, IpProtocol.UDP, inner.payload.length);
    checkUdp(inner.payload, pseudo, 4, t);
  }
  const again = encodeIcmpv4(m);
  assert.deepEqual(again, bytes, "ICMPv4 re-emit");
  assert.equal(u16(again, 2), num(t, "icmp.checksum"), "icmp.checksum");
}

function icmpv6Type(m: Icmpv6Repr): number {
  switch (m.kind) {
    case "dst-unreachable":
      return 1;
    case "packet-too-big":
      return 2;
    case "time-exceeded":
      return 3;
    case "param-problem":
      return 4;
    case "echo-request":
      return 128;
    case "echo-reply":
      return 129;
    case "ndp":
      return {
        "router-solicit": 133,
        "router-advert": 134,
        "neighbor-solicit": 135,
        "neighbor-advert": 136,
        "redirect": 137,
      }[m.message.kind];
    case "mld":
      return { "query": 130, "report-v1": 131, "done": 132, "report-v2": 143 }[m.message.kind];
    case "other":
      return m.type;
    default: {
      const never: never = m;
      throw new TypeError(`Unknown ICMPv6 repr ${JSON.stringify(never)}`);
    }
  }
}

function optionType(o: NdpOption): number {
  switch (o.kind) {
    case "source-lladdr":
      return 1;
    case "target-lladdr":
      return 2;
    case "prefix-info":
      return 3;
    case "redirected-header":
      return 4;
    case "mtu":
      return 5;
    case "rdnss":
      return 25;
    case "dnssl":
      return 31;
    case "unknown":
      return o.type;
    default: {
      const never: never = o;
      throw new TypeError(`Unknown NDP option ${JSON.stringify(never)}`);
    }
  }
}

function checkIcmpv6(bytes: Uint8Array, ip: Ipv6Repr, t: TsharkValues): void {
  const m = parseIcmpv6(bytes, ip);
  assert.equal(icmpv6Type(m), num(t, "icmpv6.type"), "icmpv6.type");
  assert.equal(bytes[1], num(t, "icmpv6.code"), "icmpv6.code");
  switch (m.kind) {
    case "echo-request":
    case "echo-reply":
      assert.equal(m.identifier, num(t, "icmpv6.echo.identifier"), "echo identifier");
      assert.equal(m.sequence, num(t, "icmpv6.echo.sequence_number"), "echo sequence");
      break;
    case "dst-unreachable": {
      const inner = checkIpv6(m.invoking, t, 1);
      assert.equal(inner.nextHeader, IpProtocol.UDP);
      const pseudo = pseudoHeaderSum6(inner.src, inner.dst, 17, inner.payload.length);
      checkUdp(inner.payload, pseudo, 6, t);
      break;
    }
    case "ndp": {
      const n = m.message;
      if (n.kind === "neighbor-solicit") {
        assert.equal(formatIPv6(n.target), str(t, "icmpv6.nd.ns.target_address"), "NS target");
      }
      if (n.kind === "neighbor-advert") {
        assert.equal(formatIPv6(n.target), str(t, "icmpv6.nd.na.target_address"), "NA target");
        assert.equal(n.router, num(t, "icmpv6.nd.na.flag.r") === 1, "NA R");
        assert.equal(n.solicited, num(t, "icmpv6.nd.na.flag.s") === 1, "NA S");
        assert.equal(n.override, num(t, "icmpv6.nd.na.flag.o") === 1, "NA O");
      }
      assert.deepEqual(n.options.map(optionType), all(t, "icmpv6.opt.type").map(Number));
      const lladdrs = n.options.flatMap((o) =>
        o.kind === "source-lladdr" || o.kind === "target-lladdr" ? [formatMac(o.addr)] : []
      );
      assert.deepEqual(lladdrs, all(t, "icmpv6.opt.linkaddr"), "icmpv6.opt.linkaddr");
      break;
    }
    case "mld": {
      const r = m.message;
      assert.equal(r.kind, "report-v2", "the fixture holds MLDv2 reports only");
      if (r.kind === "report-v2") {
        assert.equal(r.records.length, num(t, "icmpv6.mldr.nb_mcast_records"));
        assert.deepEqual(
          r.records.map((x) => x.recordType),
          all(t, "icmpv6.mldr.mar.record_type").map(Number),
        );
        assert.deepEqual(
          r.records.map((x) => formatIPv6(x.multicastAddress)),
          all(t, "icmpv6.mldr.mar.multicast_address"),
        );
      }
      break;
    }
    case "packet-too-big":
    case "time-exceeded":
    case "param-problem":
    case "other":
      assert.fail(`the fixture holds no ICMPv6 ${m.kind}`);
      break;
    default: {
      const never: never = m;
      throw new TypeError(`Unknown ICMPv6 repr ${JSON.stringify(never)}`);
    }
  }
  const again = encodeIcmpv6(m, ip);
  assert.deepEqual(again, bytes, "ICMPv6 re-emit");
  assert.equal(u16(again, 2), num(t, "icmpv6.checksum"), "icmpv6.checksum");
}

function checkIpv4Packet(bytes: Uint8Array, t: TsharkValues): void {
  const ip = checkIpv4(bytes, t, 0);
  const p = ip.payload;
  if (ip.moreFragments || ip.fragmentOffset > 0) {
    // A fragment: only the first one starts with the UDP header, which tshark decodes.
    if (ip.fragmentOffset === 0) {
      assert.equal(u16(p, 0), num(t, "udp.srcport"), "udp.srcport (first fragment)");
      assert.equal(u16(p, 2), num(t, "udp.dstport"), "udp.dstport (first fragment)");
    }
    assert.equal(p.length, num(t, "data.len") + (ip.fragmentOffset === 0 ? 8 : 0));
    return;
  }
  const pseudo = pseudoHeaderSum4(ip.src, ip.dst, ip.protocol, p.length);
  switch (ip.protocol) {
    case IpProtocol.TCP:
      return checkTcp(p, pseudo, t);
    case IpProtocol.UDP:
      return checkUdp(p, pseudo, 4, t);
    case IpProtocol.ICMP:
      return checkIcmpv4(p, t);
    default:
      assert.fail(`unexpected IPv4 protocol ${ip.protocol} in the fixture`);
  }
}

function checkIpv6Packet(bytes: Uint8Array, t: TsharkValues): void {
  const ip = checkIpv6(bytes, t, 0);
  const chain = walkIpv6Extensions(ip.payload, ip.nextHeader);
  let fragmented = false;
  for (const h of chain.headers) {
    const original = ip.payload.subarray(h.offset, h.offset + h.length);
    switch (h.kind) {
      case "hop-by-hop": {
        assert.equal(h.nextHeader, num(t, "ipv6.hopopts.nxt"), "ipv6.hopopts.nxt");
        const opts = h.options.map((o) => ({ type: o.type, data: o.data }));
        const buf = new Uint8Array(ipv6OptionsHeaderLength(opts)).fill(0xa5);
        emitIpv6OptionsHeader(h.nextHeader, opts, buf);
        assert.deepEqual(buf, original, "hop-by-hop re-emit");
        break;
      }
      case "fragment": {
        assert.equal(h.nextHeader, num(t, "ipv6.fraghdr.nxt"), "ipv6.fraghdr.nxt");
        assert.equal(h.fragmentOffset, num(t, "ipv6.fraghdr.offset") * 8, "fraghdr.offset");
        assert.equal(h.more, num(t, "ipv6.fraghdr.more") === 1, "ipv6.fraghdr.more");
        assert.equal(h.identification, num(t, "ipv6.fraghdr.ident"), "ipv6.fraghdr.ident");
        const buf = new Uint8Array(8).fill(0xa5);
        emitIpv6Fragment(h, buf);
        assert.deepEqual(buf, original, "fragment header re-emit");
        fragmented = h.more || h.fragmentOffset > 0;
        break;
      }
      case "destination":
      case "routing":
      case "ah":
        assert.fail(`the fixture holds no ${h.kind} header`);
        break;
      default: {
        const never: never = h;
        throw new TypeError(`Unknown extension ${JSON.stringify(never)}`);
      }
    }
  }
  const p = chain.upper;
  if (fragmented) {
    const first = chain.headers.some((h) => h.kind === "fragment" && h.fragmentOffset === 0);
    if (first) {
      assert.equal(u16(p, 0), num(t, "udp.srcport"), "udp.srcport (first fragment)");
      assert.equal(u16(p, 2), num(t, "udp.dstport"), "udp.dstport (first fragment)");
    }
    assert.equal(p.length, num(t, "data.len") + (first ? 8 : 0));
    return;
  }
  const pseudo = pseudoHeaderSum6(ip.src, ip.dst, chain.upperLayer, p.length);
  switch (chain.upperLayer) {
    case IpProtocol.TCP:
      return checkTcp(p, pseudo, t);
    case IpProtocol.UDP:
      return checkUdp(p, pseudo, 6, t);
    case IpProtocol.ICMPV6:
      return checkIcmpv6(p, ip, t);
    default:
      assert.fail(`unexpected IPv6 upper layer ${chain.upperLayer} in the fixture`);
  }
}

function checkFrame(frame: Uint8Array, t: TsharkValues): void {
  const eth = parseEthernet(frame);
  assert.equal(formatMac(eth.src), str(t, "eth.src"), "eth.src");
  assert.equal(formatMac(eth.dst), str(t, "eth.dst"), "eth.dst");
  assert.equal(eth.ethertype, num(t, "eth.type"), "eth.type");
  assert.deepEqual(encodeEthernet(eth), frame, "Ethernet re-emit");
  switch (eth.ethertype) {
    case ETHERTYPE_ARP: {
      const arp = parseArp(eth.payload);
      assert.equal(arp.op, num(t, "arp.opcode"), "arp.opcode");
      assert.equal(formatMac(arp.senderMac), str(t, "arp.src.hw_mac"), "arp.src.hw_mac");
      assert.equal(formatIPv4(arp.senderIp), str(t, "arp.src.proto_ipv4"), "arp.src.proto_ipv4");
      assert.equal(formatMac(arp.targetMac), str(t, "arp.dst.hw_mac"), "arp.dst.hw_mac");
      assert.equal(formatIPv4(arp.targetIp), str(t, "arp.dst.proto_ipv4"), "arp.dst.proto_ipv4");
      assert.deepEqual(encodeArp(arp), eth.payload.subarray(0, 28), "ARP re-emit");
      return;
    }
    case ETHERTYPE_IPV4:
      return checkIpv4Packet(eth.payload, t);
    case ETHERTYPE_IPV6:
      return checkIpv6Packet(eth.payload, t);
    default:
      assert.fail(`unexpected EtherType 0x${eth.ethertype.toString(16)} in the fixture`);
  }
}

// ---------------------------------------------------------------------------------------------

Deno.test("fixtures: linux.pcap and linux.json describe the same frames", () => {
  assert.equal(pcap.header.linktype, 1);
  assert.equal(pcap.records.length, tshark.frames.length);
  pcap.records.forEach((r, i) => {
    const t = tshark.frames[i];
    assert.equal(num(t, "frame.number"), i + 1);
    assert.equal(r.data.length, num(t, "frame.cap_len"));
    assert.equal(r.originalLength, num(t, "frame.len"));
  });
});

Deno.test("fixtures: linux.pcap holds every kind of frame the wire tests rely on", () => {
  const has = (pred: (t: TsharkValues) => boolean) => tshark.frames.some(pred);
  const is = (name: string, value: string) => (t: TsharkValues) => all(t, name).includes(value);
  const kinds: Record<string, (t: TsharkValues) => boolean> = {
    "ARP request": is("arp.opcode", "1"),
    "ARP reply": is("arp.opcode", "2"),
    "ICMP echo request": is("icmp.type", "8"),
    "ICMP echo reply": is("icmp.type", "0"),
    "ICMP port unreachable": (t) => str(t, "icmp.type") === "3" && str(t, "icmp.code") === "3",
    "ICMPv6 echo request": is("icmpv6.type", "128"),
    "ICMPv6 echo reply": is("icmpv6.type", "129"),
    "ICMPv6 port unreachable": (t) =>
      str(t, "icmpv6.type") === "1" && str(t, "icmpv6.code") === "4",
    "NDP router solicitation": is("icmpv6.type", "133"),
    "NDP neighbor solicitation": is("icmpv6.type", "135"),
    "NDP neighbor advertisement": is("icmpv6.type", "136"),
    "MLDv2 report": is("icmpv6.type", "143"),
    "TCP SYN with MSS, SACK_PERM, TS, WS": (t) =>
      str(t, "tcp.flags") === "0x0002" && str(t, "tcp.options.mss_val") !== undefined &&
      str(t, "tcp.options.sack_perm") !== undefined &&
      str(t, "tcp.options.timestamp.tsval") !== undefined &&
      str(t, "tcp.options.wscale.shift") !== undefined,
    "TCP SYN-ACK": is("tcp.flags", "0x0012"),
    "TCP FIN": is("tcp.flags", "0x0011"),
    "TCP over IPv6": (t) => str(t, "tcp.srcport") !== undefined && str(t, "ipv6.src") !== undefined,
    "IPv4 first fragment": (t) => str(t, "ip.flags.mf") === "1" && str(t, "ip.frag_offset") === "0",
    "IPv4 last fragment": (t) => str(t, "ip.flags.mf") === "0" && num(t, "ip.frag_offset") > 0,
    "IPv6 fragment": (t) => str(t, "ipv6.fraghdr.ident") !== undefined,
  };
  const missing = Object.keys(kinds).filter((k) => !has(kinds[k]));
  assert.deepEqual(missing, []);
});

pcap.records.forEach((record, i) => {
  const t = tshark.frames[i];
  Deno.test(`fixtures: frame ${i + 1} (${str(t, "frame.protocols")}) matches tshark`, () => {
    checkFrame(record.data, t);
  });
});

tsharkTest("fixtures: tshark finds no malformed frame or bad checksum in linux.pcap", async () => {
  const path = new URL("./fixtures/linux.pcap", import.meta.url).pathname;
  assert.deepEqual(await tsharkProblems(path), []);
});
