/**
 * Wire formats: the Internet checksum in GB/s over 1500-byte buffers, next to a naive
 * byte-at-a-time checksum measured in the same run, and parse / emit rates for a 1514-byte
 * Ethernet/IPv4/TCP frame with timestamp options (checksums verified on parse, filled on emit).
 */
import { checksum, pseudoHeaderSum4 } from "../../netstack/wire/checksum.ts";
import {
  emitEthernet,
  ETHERNET_HEADER_LEN,
  type EthernetRepr,
  ETHERTYPE_IPV4,
  parseEthernet,
} from "../../netstack/wire/ethernet.ts";
import {
  emitIpv4,
  IpProtocol,
  IPV4_HEADER_LEN,
  type Ipv4Repr,
  parseIpv4,
} from "../../netstack/wire/ipv4.ts";
import {
  emitTcp,
  parseTcp,
  TcpFlag,
  tcpHeaderLength,
  type TcpRepr,
} from "../../netstack/wire/tcp.ts";
import { report } from "./_stats.ts";

/** The checksum rate the issue quotes for this machine (a constant, printed as a note). */
const ISSUE_CHECKSUM_GBPS = 5.8;
/** Size of the frames parsed and emitted. */
const FRAME_LEN = 1514;

/** The RFC 1071 sum one byte at a time: the in-run reference. */
function naiveChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += (i & 1) === 0 ? data[i] << 8 : data[i];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Call `fn` in batches for about `ms` milliseconds (after a warm-up); returns calls per second. */
function rate(fn: () => void, ms: number, batch = 1000): number {
  for (let i = 0; i < batch * 5; i++) fn();
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < batch; i++) fn();
    calls += batch;
    t = performance.now();
  }
  return (calls * 1000) / (t - t0);
}

/** A 1514-byte frame description: Ethernet, IPv4 (no options), TCP with timestamps. */
function frameReprs(buf: Uint8Array) {
  const src = 0x0a000001;
  const dst = 0x0a000002;
  const tcpOff = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN;
  const tcp: TcpRepr = {
    srcPort: 5001,
    dstPort: 40000,
    seq: 1,
    ack: 1,
    flags: TcpFlag.ACK | TcpFlag.PSH,
    window: 502,
    urgent: 0,
    options: { timestamp: { value: 1000, echo: 2000 } },
    payload: new Uint8Array(0),
  };
  const payloadLen = FRAME_LEN - tcpOff - tcpHeaderLength(tcp);
  tcp.payload = buf.subarray(tcpOff + tcpHeaderLength(tcp), FRAME_LEN);
  for (let i = 0; i < payloadLen; i++) tcp.payload[i] = 32 + (i % 95);
  const ip: Ipv4Repr = {
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
    options: new Uint8Array(0), // one empty options array, reused by every emit
    payload: buf.subarray(tcpOff, FRAME_LEN),
  };
  const eth: EthernetRepr = {
    dst: Uint8Array.of(2, 0, 0, 0, 2, 0),
    src: Uint8Array.of(2, 0, 0, 0, 1, 0),
    ethertype: ETHERTYPE_IPV4,
    payload: buf.subarray(ETHERNET_HEADER_LEN, FRAME_LEN),
  };
  const pseudo = pseudoHeaderSum4(src, dst, IpProtocol.TCP, FRAME_LEN - tcpOff);
  return { eth, ip, tcp, pseudo, tcpOff };
}

/** Run the benchmark and print its table and JSON line. */
export async function benchWire(ms = 1500): Promise<void> {
  await Promise.resolve();
  const backing = new Uint8Array(4096);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff;
  const aligned = backing.subarray(0, 1500);
  const offset34 = backing.subarray(34, 1534); // where a TCP header sits in a frame
  let sink = 0;
  const gbps = (callsPerS: number) => (callsPerS * 1500) / 1e9;
  const fast = gbps(rate(() => (sink ^= checksum(aligned)), ms));
  const fastOdd = gbps(rate(() => (sink ^= checksum(offset34)), ms));
  const naive = gbps(rate(() => (sink ^= naiveChecksum(aligned)), ms, 200));
  if (checksum(aligned) !== naiveChecksum(aligned)) throw new Error("checksums disagree");

  const out = new Uint8Array(FRAME_LEN);
  const { eth, ip, tcp, pseudo, tcpOff } = frameReprs(out);
  const emitFrame = () => {
    tcp.seq = (tcp.seq + 1448) >>> 0;
    ip.ident = (ip.ident + 1) & 0xffff;
    emitTcp(tcp, out.subarray(tcpOff), { pseudoSum: pseudo });
    emitIpv4(ip, out.subarray(ETHERNET_HEADER_LEN));
    return emitEthernet(eth, out);
  };
  if (emitFrame() !== FRAME_LEN) throw new Error("frame is not 1514 bytes");
  const frame = out.slice();
  const parseFrame = () => {
    const e = parseEthernet(frame);
    const p = parseIpv4(e.payload);
    const s = parseTcp(p.payload, { pseudoSum: pseudo });
    sink ^= s.payload.length;
  };
  parseFrame(); // throws on a bad checksum
  const parseRate = rate(parseFrame, ms);
  const emitRate = rate(() => (sink ^= emitFrame()), ms);
  const bothRate = rate(() => {
    parseFrame();
    sink ^= emitFrame();
  }, ms);
  if (sink === 0.5) console.log(sink); // keep the work observable
  console.log(
    `note: the issue quotes ~${ISSUE_CHECKSUM_GBPS} GB/s for the checksum on this machine`,
  );
  report("wire formats", [
    { name: "checksum 1500 B, aligned", value: fast, unit: "GB/s" },
    { name: "checksum 1500 B, offset 34", value: fastOdd, unit: "GB/s" },
    {
      name: "naive byte-at-a-time checksum",
      value: naive,
      unit: "GB/s",
      reference: "same run",
    },
    { name: "parse 1514 B eth/ipv4/tcp+opts", value: parseRate, unit: "frames/s" },
    { name: "emit 1514 B eth/ipv4/tcp+opts", value: emitRate, unit: "frames/s" },
    { name: "parse+emit 1514 B", value: bothRate, unit: "frames/s" },
  ]);
}

if (import.meta.main) await benchWire();
