/**
 * Linux as the oracle for the IP layer's RFC edge cases (issue #15, "IP"): the same hand-built
 * frames go to the Linux kernel, in a network namespace behind a veth, and to Serin, in-thread
 * under a manual clock (tests/sim.ts), and each must answer alike on the wire (ARP, neighbour
 * discovery and MLD aside) and deliver the same datagrams to a UDP socket on port 7.
 *
 * Cases: martians (RFC 1122 §3.2.1.3, RFC 1812 §5.3.7, RFC 4291 §2.5.3/§2.7; in ARP requests
 * too, as Linux's arp_process), atomic fragments
 * (RFC 6946), oversized reassemblies, routing headers with Segments Left 0 (RFC 8200 §4.4) and
 * first fragments without the whole header chain (RFC 7112). Linux runs with rp_filter 2
 * (systemd's default; with the kernel's 0 it answers a directed-broadcast source) and without
 * ICMP rate limits, so each case stands alone.
 *
 * Linux's side: namespace A holds the sender's addresses and a python3 AF_PACKET script that
 * sends each case's frames and collects what comes back; namespace B is the target.
 *
 * A second test puts a router between two links, the second with an MTU of 600, and sends it
 * three fragments of one datagram (the first with a copied and an uncopied option): Linux (three
 * namespaces) and Serin must put the same pieces on the narrow link, byte for byte in
 * identification, offsets, MF, options and data (RFC 791 §3.2).
 */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import type { LinkPort } from "../../drivers/link/port.ts";
import { runNetctl } from "../../netstack/netctl.ts";
import type { InetSocket } from "../../netstack/sockets/socket.ts";
import { parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../../netstack/wire/checksum.ts";
import { ArpOp, encodeArp } from "../../netstack/wire/arp.ts";
import { encodeEthernet } from "../../netstack/wire/ethernet.ts";
import type { Ipv4Repr } from "../../netstack/wire/ipv4.ts";
import { encodeIpv6 } from "../../netstack/wire/ipv6.ts";
import { encodeTcp, TcpFlag } from "../../netstack/wire/tcp.ts";
import { encodeUdp } from "../../netstack/wire/udp.ts";
import { Sim } from "../sim.ts";
import { concat, frag6, frameRecorder, ipv4Datagram } from "../_packets.ts";
import { cmd, delay, interopTest, mustRun } from "./_lab.ts";

const te = new TextEncoder();
const A4 = "10.79.0.1", B4 = "10.79.0.2";
const A6 = "fd00:79::1", B6 = "fd00:79::2";
const v4 = (s: string) => parseIPv4(s)!;
const v6 = (s: string) => parseIPv6(s)!;

/** Where frames go: the target's MAC and the sender's. */
interface Macs {
  dst: Uint8Array;
  src: Uint8Array;
}

/** One case: frames sent back to back, then what comes back is collected. */
interface Case {
  name: string;
  frames(m: Macs): Uint8Array[];
  /** Texts of the UDP datagrams to port 7 it may deliver (each case has its own). */
  texts?: string[];
}

function eth(m: Macs, ethertype: number, payload: Uint8Array): Uint8Array {
  return encodeEthernet({ dst: m.dst, src: m.src, ethertype, payload });
}

function ip4(
  r: Partial<Omit<Ipv4Repr, "src" | "dst">> & { src: string; dst: string; payload: Uint8Array },
) {
  const { src, dst, ...rest } = r;
  return ipv4Datagram({ ...rest, src: v4(src), dst: v4(dst) });
}

function syn(src: string, dst: string, port: number): Uint8Array {
  return encodeTcp({
    srcPort: 40000 + port,
    dstPort: 80,
    seq: 1000,
    ack: 0,
    flags: TcpFlag.SYN,
    window: 65535,
    urgent: 0,
    options: { mss: 1460 },
    payload: new Uint8Array(0),
  }, { pseudoSum: pseudoHeaderSum4(v4(src), v4(dst), 6, 24) });
}

function udp4(src: string, dst: string, port: number, text: string): Uint8Array {
  const data = te.encode(text);
  return encodeUdp({ srcPort: 40000, dstPort: port, payload: data }, {
    pseudoSum: pseudoHeaderSum4(v4(src), v4(dst), 17, 8 + data.length),
  });
}

function udp6(src: string, dst: string, port: number, text: string | Uint8Array): Uint8Array {
  const data = typeof text === "string" ? te.encode(text) : text;
  return encodeUdp({ srcPort: 40000, dstPort: port, payload: data }, {
    pseudoSum: pseudoHeaderSum6(v6(src), v6(dst), 17, 8 + data.length),
  });
}

function ip6(src: string, dst: string, nextHeader: number, payload: Uint8Array): Uint8Array {
  return encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader,
    hopLimit: 64,
    src: v6(src),
    dst: v6(dst),
    payload,
  });
}

const E4 = 0x0800, E6 = 0x86dd;
const tcp4 = (src: string, dst: string, port: number) => (m: Macs) => [
  eth(m, E4, ip4({ src, dst, protocol: 6, payload: syn(src, dst, port) })),
];
const udpTo4 = (src: string, dst: string, port: number, text: string) => (m: Macs) => [
  eth(m, E4, ip4({ src, dst, payload: udp4(src, dst, port, text) })),
];
const udpTo6 = (src: string, dst: string, port: number, text: string) => (m: Macs) => [
  eth(m, E6, ip6(src, dst, 17, udp6(src, dst, port, text))),
];
const rh0 = (segmentsLeft: number) =>
  concat(Uint8Array.of(17, 2, 0, segmentsLeft, 0, 0, 0, 0), v6(A6));

/** The link address of a made-up neighbour that sends ARP: replies to it are what counts. */
const NEIGHBOUR_MAC = Uint8Array.of(2, 0x99, 0, 0, 0, 1);
const arpRequest = (sender: string, target: string) => (_m: Macs) => [
  encodeEthernet({
    dst: new Uint8Array(6).fill(0xff),
    src: NEIGHBOUR_MAC,
    ethertype: 0x0806,
    payload: encodeArp({
      op: ArpOp.REQUEST,
      senderMac: NEIGHBOUR_MAC,
      senderIp: v4(sender),
      targetMac: new Uint8Array(6),
      targetIp: v4(target),
    }),
  }),
];

const CASES: Case[] = [
  { name: "arp control: request from 10.79.0.77", frames: arpRequest("10.79.0.77", B4) },
  { name: "arp probe from 0.0.0.0 (RFC 5227)", frames: arpRequest("0.0.0.0", B4) },
  { name: "arp request from 127.0.0.1", frames: arpRequest("127.0.0.1", B4) },
  { name: "arp request from 224.0.0.5", frames: arpRequest("224.0.0.5", B4) },
  { name: "arp request from the subnet's broadcast", frames: arpRequest("10.79.0.255", B4) },
  { name: "arp request from the target's own address", frames: arpRequest(B4, B4) },
  { name: "arp request for 127.0.0.1", frames: arpRequest("10.79.0.77", "127.0.0.1") },
  { name: "v4 control: SYN to a listener", frames: tcp4(A4, B4, 1) },
  { name: "v4 SYN to 127.0.0.1 on the wire", frames: tcp4(A4, "127.0.0.1", 2) },
  { name: "v4 SYN from 127.0.0.1", frames: tcp4("127.0.0.1", B4, 3) },
  { name: "v4 SYN from the target's own address (LAND)", frames: tcp4(B4, B4, 4) },
  { name: "v4 SYN from the subnet's broadcast", frames: tcp4("10.79.0.255", B4, 5) },
  { name: "v4 control: UDP to a closed port", frames: udpTo4(A4, B4, 9, "closed") },
  { name: "v4 UDP from 0.0.0.7", frames: udpTo4("0.0.0.7", B4, 9, "zeronet") },
  { name: "v4 UDP to 0.0.0.0", frames: udpTo4(A4, "0.0.0.0", 9, "to-zero") },
  { name: "v4 UDP from 224.0.0.9", frames: udpTo4("224.0.0.9", B4, 9, "mcast-src") },
  {
    name: "v4 UDP 0.0.0.0 -> 255.255.255.255",
    frames: udpTo4("0.0.0.0", "255.255.255.255", 7, "dhcp"),
    texts: ["dhcp"],
  },
  {
    name: "v4 whole datagram with a pending datagram's ID",
    texts: ["v4-pending-done", "v4-whole"],
    frames: (m) => {
      const x = udp4(A4, B4, 7, "v4-pending-done");
      return [
        eth(
          m,
          E4,
          ip4({ src: A4, dst: B4, ident: 7, moreFragments: true, payload: x.subarray(0, 16) }),
        ),
        eth(m, E4, ip4({ src: A4, dst: B4, ident: 7, payload: udp4(A4, B4, 7, "v4-whole") })),
        eth(
          m,
          E4,
          ip4({ src: A4, dst: B4, ident: 7, fragmentOffset: 16, payload: x.subarray(16) }),
        ),
      ];
    },
  },
  {
    name: "v4 reassembly over 65,535 bytes",
    frames: (m) => {
      const out: Uint8Array[] = [];
      for (let off = 0, total = 65530; off < total; off += 1480) {
        const len = Math.min(1480, total - off);
        const more = off + len < total;
        const payload = new Uint8Array(len);
        out.push(
          eth(
            m,
            E4,
            ip4({ src: A4, dst: B4, ident: 8, fragmentOffset: off, moreFragments: more, payload }),
          ),
        );
      }
      return out;
    },
  },
  { name: "v6 control: UDP to a closed port", frames: udpTo6(A6, B6, 9, "closed6") },
  { name: "v6 UDP from ::1", frames: udpTo6("::1", B6, 9, "from-lo6") },
  { name: "v6 UDP to ::1", frames: udpTo6(A6, "::1", 9, "to-lo6") },
  { name: "v6 UDP from ff02::1", frames: udpTo6("ff02::1", B6, 9, "mcast-src6") },
  { name: "v6 UDP to ff01::1 (interface-local)", frames: udpTo6(A6, "ff01::1", 9, "ff01") },
  { name: "v6 UDP to ff00::1 (scope 0)", frames: udpTo6(A6, "ff00::1", 9, "ff00") },
  {
    name: "v6 routing header type 0, Segments Left 0",
    texts: ["rh0-sl0"],
    frames: (m) => [eth(m, E6, ip6(A6, B6, 43, concat(rh0(0), udp6(A6, B6, 7, "rh0-sl0"))))],
  },
  {
    name: "v6 routing header type 253, Segments Left 0",
    texts: ["rh253"],
    frames: (m) => [
      eth(
        m,
        E6,
        ip6(A6, B6, 43, concat(Uint8Array.of(17, 0, 253, 0, 0, 0, 0, 0), udp6(A6, B6, 7, "rh253"))),
      ),
    ],
  },
  {
    name: "v6 routing header type 2, Segments Left 0",
    texts: ["rh2"],
    frames: (m) => [
      eth(
        m,
        E6,
        ip6(
          A6,
          B6,
          43,
          concat(Uint8Array.of(17, 2, 2, 0, 0, 0, 0, 0), v6(A6), udp6(A6, B6, 7, "rh2")),
        ),
      ),
    ],
  },
  {
    name: "v4 UDP with a loose source route option",
    texts: ["lsrr"],
    frames: (m) => [
      eth(
        m,
        E4,
        ip4({
          src: A4,
          dst: B4,
          options: Uint8Array.of(0x83, 7, 4, 10, 79, 0, 1, 0),
          payload: udp4(A4, B4, 7, "lsrr"),
        }),
      ),
    ],
  },
  {
    name: "v4 UDP with an option of length 1",
    texts: ["opt-len-1"],
    frames: (m) => [
      eth(
        m,
        E4,
        ip4({
          src: A4,
          dst: B4,
          options: Uint8Array.of(1, 0x44, 1, 0),
          payload: udp4(A4, B4, 7, "opt-len-1"),
        }),
      ),
    ],
  },
  {
    name: "v4 UDP with an option running past the header",
    texts: ["opt-overrun"],
    frames: (m) => [
      eth(
        m,
        E4,
        ip4({
          src: A4,
          dst: B4,
          options: Uint8Array.of(0x94, 8, 0, 0),
          payload: udp4(A4, B4, 7, "opt-overrun"),
        }),
      ),
    ],
  },
  {
    name: "v6 non-last fragment whose length is not a multiple of 8",
    frames: (m) => [eth(m, E6, ip6(A6, B6, 44, frag6(17, 0, true, 81, new Uint8Array(12))))],
  },
  {
    name: "v6 fragment reaching past 65,535 bytes",
    frames: (m) => [eth(m, E6, ip6(A6, B6, 44, frag6(17, 65528, false, 82, new Uint8Array(16))))],
  },
  {
    name: "v6 hop-by-hop header after a destination options header",
    frames: (m) => [
      eth(
        m,
        E6,
        ip6(
          A6,
          B6,
          60,
          concat(
            Uint8Array.of(0, 0, 1, 4, 0, 0, 0, 0),
            Uint8Array.of(17, 0, 1, 4, 0, 0, 0, 0),
            udp6(A6, B6, 7, "hbh-late"),
          ),
        ),
      ),
    ],
    texts: ["hbh-late"],
  },
  {
    name: "v6 PadN with non-zero bytes",
    texts: ["padn-dirty"],
    frames: (m) => [
      eth(
        m,
        E6,
        ip6(
          A6,
          B6,
          60,
          concat(Uint8Array.of(17, 0, 1, 4, 0, 1, 0, 0), udp6(A6, B6, 7, "padn-dirty")),
        ),
      ),
    ],
  },
  {
    name: "v6 more than 7 bytes of padding",
    texts: ["padn-long"],
    frames: (m) => [
      eth(
        m,
        E6,
        ip6(
          A6,
          B6,
          60,
          concat(
            Uint8Array.of(17, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
            udp6(A6, B6, 7, "padn-long"),
          ),
        ),
      ),
    ],
  },
  {
    name: "v4 TTL 0 to the host",
    texts: ["ttl0"],
    frames: (
      m,
    ) => [eth(m, E4, ip4({ src: A4, dst: B4, ttl: 0, payload: udp4(A4, B4, 7, "ttl0") }))],
  },
  {
    name: "v6 routing header type 0, Segments Left 1",
    texts: ["rh0-sl1"],
    frames: (m) => [eth(m, E6, ip6(A6, B6, 43, concat(rh0(1), udp6(A6, B6, 7, "rh0-sl1"))))],
  },
  {
    name: "v6 first fragment with 8 of TCP's 20 header bytes",
    frames: (m) => [eth(m, E6, ip6(A6, B6, 44, frag6(6, 0, true, 77, new Uint8Array(8))))],
  },
  {
    name: "v6 first fragment with a cut-short destination options header",
    frames: (m) => [
      eth(m, E6, ip6(A6, B6, 44, frag6(60, 0, true, 78, Uint8Array.of(17, 1, 1, 4, 0, 0, 0, 0)))),
    ],
  },
  {
    name: "v6 first fragment with a whole UDP header",
    frames: (m) => [eth(m, E6, ip6(A6, B6, 44, frag6(17, 0, true, 79, new Uint8Array(8))))],
  },
  {
    name: "v6 atomic fragment with a pending datagram's ID",
    texts: ["v6-pending-done", "v6-atomic"],
    frames: (m) => {
      const x = udp6(A6, B6, 7, "v6-pending-done");
      return [
        eth(m, E6, ip6(A6, B6, 44, frag6(17, 0, true, 42, x.subarray(0, 16)))),
        eth(m, E6, ip6(A6, B6, 44, frag6(17, 0, false, 42, udp6(A6, B6, 7, "v6-atomic")))),
        eth(m, E6, ip6(A6, B6, 44, frag6(17, 16, false, 42, x.subarray(16)))),
      ];
    },
  },
  {
    name: "v6 reassembly over 65,535 bytes of payload",
    frames: (m) => {
      const out: Uint8Array[] = [];
      const dest = Uint8Array.of(44, 0, 1, 4, 0, 0, 0, 0);
      for (let off = 0, total = 65528; off < total; off += 1440) {
        const len = Math.min(1440, total - off);
        const f = frag6(17, off, off + len < total, 43, new Uint8Array(len));
        out.push(eth(m, E6, ip6(A6, B6, 60, concat(dest, f))));
      }
      return out;
    },
  },
];

/** What a reply frame says, or undefined for ARP, neighbour discovery and MLD. */
function classify(f: Uint8Array): string | undefined {
  const et = (f[12] << 8) | f[13];
  const p = f.subarray(14);
  if (et === 0x0806) {
    // Only replies to the made-up neighbour: other ARP is the two sides resolving each other.
    if (!NEIGHBOUR_MAC.every((x, i) => f[i] === x) || p[7] !== 2) return undefined;
    return `arp reply ${[...p.subarray(14, 18)].join(".")} to ${[...p.subarray(24, 28)].join(".")}`;
  }
  if (et === 0x0800) {
    const hl = (p[0] & 15) * 4;
    const proto = p[9];
    const src = [...p.subarray(12, 16)].join(".");
    const dst = [...p.subarray(16, 20)].join(".");
    if (proto === 6) {
      const flags = p[hl + 13];
      const names = [[0x02, "S"], [0x10, "A"], [0x04, "R"], [0x01, "F"]] as const;
      return `tcp ${src}>${dst} ${names.filter(([b]) => flags & b).map(([, n]) => n).join("")}`;
    }
    if (proto === 1) {
      return `icmp ${src}>${dst} ${p[hl]}/${p[hl + 1]}` + (p[hl] === 12 ? ` ptr ${p[hl + 4]}` : "");
    }
    return `ipv4 ${src}>${dst} proto ${proto}`;
  }
  if (et === 0x86dd) {
    if (p[6] === 0) return undefined; // hop-by-hop: MLD reports
    if (p[6] === 58) {
      const type = p[40];
      if ((type >= 130 && type <= 137) || type === 143) return undefined;
      const ptr = new DataView(p.buffer, p.byteOffset + 44, 4).getUint32(0);
      return `icmp6 ${type}/${p[41]}` + (type === 4 ? ` ptr ${ptr}` : "");
    }
    return `ipv6 next header ${p[6]}`;
  }
  return undefined;
}

/** A case's outcome: distinct replies, then datagrams delivered to port 7. */
type Outcome = string[];

// ---- Serin ----

async function runSerin(): Promise<Outcome[]> {
  const sim = new Sim();
  const sent: Uint8Array[] = [];
  const rec = (p: LinkPort): LinkPort => ({
    send(frame) {
      sent.push(frame.slice());
      p.send(frame);
    },
    onFrame: (h) => p.onFrame(h),
    onBurstEnd: p.onBurstEnd && ((cb) => p.onBurstEnd!(cb)),
    linkDrops: p.linkDrops && (() => p.linkDrops!()),
    close: () => p.close(),
  });
  const a = sim.host("a", { eth0: ["lan", `${A4}/24`] });
  const b = sim.host("b", { eth0: ["lan", `${B4}/24`] }, { wrap: rec });
  runNetctl(a, { op: "ifaddr", iface: "eth0", action: "add", cidr: `${A6}/64` });
  runNetctl(b, { op: "ifaddr", iface: "eth0", action: "add", cidr: `${B6}/64` });
  const l = b.createSocket(abi.AF_INET, abi.SOCK_STREAM, 0);
  l.bind({ family: 2, addr: "0.0.0.0", port: 80 });
  l.listen(8);
  const u4 = b.createSocket(abi.AF_INET, abi.SOCK_DGRAM, 0);
  u4.bind({ family: 2, addr: "0.0.0.0", port: 7 });
  const u6 = b.createSocket(abi.AF_INET6, abi.SOCK_DGRAM, 0);
  u6.setsockopt(abi.IPPROTO_IPV6, abi.IPV6_V6ONLY, 1);
  u6.bind({ family: 10, addr: "::", port: 7 });
  await sim.run(2000, 5);
  const ba = b.iface("eth0")!, aa = a.iface("eth0")!;
  const out: Outcome[] = [];
  for (const c of CASES) {
    sent.length = 0;
    for (const f of c.frames({ dst: ba.mac, src: aa.mac })) b.input(ba, f);
    await sim.run(500, 5);
    const replies = new Set(sent.map(classify).filter((x): x is string => x !== undefined));
    out.push([...[...replies].sort(), ...await drain(sim, [u4, u6])]);
  }
  return out;
}

/** Datagrams waiting on the UDP sockets, as "delivered TEXT" (MSG_DONTWAIT: EAGAIN ends). */
async function drain(sim: Sim, socks: InetSocket[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of socks) {
    for (;;) {
      const r = await s.recvmsg(70000, abi.MSG_DONTWAIT, { signal: sim.signal }).catch(() =>
        undefined
      );
      if (!r) break;
      out.push(`delivered ${new TextDecoder().decode(r.data)}`);
    }
  }
  return out.sort();
}

// ---- Linux ----

const SENDER_PY = `
import json, socket, struct, sys, time
job = json.load(sys.stdin)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((job["iface"], 0))
peer = bytes.fromhex(job["peer"])
s.settimeout(0.02)
out = []
for frames in job["cases"]:
    while True:
        try: s.recv(70000)
        except socket.timeout: break
    for f in frames: s.send(bytes.fromhex(f))
    got, end = [], time.time() + job["wait"]
    while time.time() < end:
        try: f = s.recv(70000)
        except socket.timeout: continue
        if f[6:12] == peer: got.append(f.hex())
    out.append(got)
print(json.dumps(out))
`;

const RECEIVER_PY = `
import select, socket, sys
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(("0.0.0.0", 7))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); s6.bind(("::", 7))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("0.0.0.0", 80)); t.listen(8)
print("ready", flush=True)
while True:
    r, _, _ = select.select([s4, s6, sys.stdin], [], [])
    if sys.stdin in r:
        line = sys.stdin.readline()
        if not line: break
        print("mark", flush=True)
        continue
    for x in r:
        d, _ = x.recvfrom(70000)
        print("delivered " + d.decode(errors="replace"), flush=True)
`;

function suffix(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(3)),
    (x) => x.toString(16).padStart(2, "0"),
  )
    .join("");
}

function macOf(show: string): string {
  const m = show.match(/link\/ether ([0-9a-f:]{17})/);
  if (!m) throw new Error(`No MAC in ${show}`);
  return m[1].replaceAll(":", "");
}

async function runLinux(): Promise<{ outcomes: Outcome[]; unattributed: string[] }> {
  const id = suffix();
  const [nsA, nsB, ifA, ifB] = [`serin-ea${id}`, `serin-eb${id}`, `sea${id}`, `seb${id}`];
  const inA = (...argv: string[]) => mustRun(["ip", "netns", "exec", nsA, ...argv]);
  const inB = (...argv: string[]) => mustRun(["ip", "netns", "exec", nsB, ...argv]);
  await mustRun(["ip", "netns", "add", nsA]);
  await mustRun(["ip", "netns", "add", nsB]);
  let receiver: Deno.ChildProcess | undefined;
  try {
    await mustRun([
      "ip",
      "link",
      "add",
      ifA,
      "netns",
      nsA,
      "type",
      "veth",
      "peer",
      "name",
      ifB,
      "netns",
      nsB,
    ]);
    for (const [ns, dev, a4, a6] of [[nsA, ifA, A4, A6], [nsB, ifB, B4, B6]]) {
      const run = ns === nsA ? inA : inB;
      await run("ip", "addr", "add", `${a4}/24`, "dev", dev);
      await run("ip", "addr", "add", `${a6}/64`, "dev", dev, "nodad");
      await run("ip", "link", "set", "lo", "up");
      await run("ip", "link", "set", dev, "up");
    }
    await inB(
      "sysctl",
      "-qw",
      "net.ipv4.conf.all.rp_filter=2",
      `net.ipv4.conf.${ifB}.rp_filter=2`,
      "net.ipv4.icmp_ratelimit=0",
      "net.ipv6.icmp.ratelimit=0",
    );
    receiver = new Deno.Command("ip", {
      args: ["netns", "exec", nsB, "python3", "-c", RECEIVER_PY],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines = readLines(receiver.stdout);
    assert.equal((await lines.next()).value, "ready");
    await delay(1500); // links up, Linux's own router solicitations and MLD reports out of the way
    const peer = macOf(await inB("ip", "link", "show", ifB));
    const src = macOf(await inA("ip", "link", "show", ifA));
    const macs = { dst: hexBytes(peer), src: hexBytes(src) };
    const hex = (f: Uint8Array) => Array.from(f, (x) => x.toString(16).padStart(2, "0")).join("");
    const job = {
      iface: ifA,
      peer,
      wait: 0.5,
      cases: CASES.map((c) => c.frames(macs).map(hex)),
    };
    const r = await cmd(["ip", "netns", "exec", nsA, "python3", "-c", SENDER_PY], {
      stdin: JSON.stringify(job),
      timeoutMs: 120_000,
    });
    if (r.code !== 0) throw new Error(`sender: ${r.stderr}`);
    const replies: string[][] = JSON.parse(r.stdout);
    // The receiver's datagrams, attributed to cases by their text (each case sends its own).
    const w = receiver.stdin.getWriter();
    await w.write(te.encode("end\n"));
    const delivered: string[] = [];
    for (;;) {
      const { value, done } = await lines.next();
      if (done || value === "mark") break;
      delivered.push(value);
    }
    await w.close();
    const named = new Set(CASES.flatMap((c) => c.texts ?? []));
    const outcomes = CASES.map((c, i) => {
      const set = new Set(
        replies[i].map((h) => classify(hexBytes(h))).filter((x): x is string => x !== undefined),
      );
      const texts = new Set(c.texts ?? []);
      return [...[...set].sort(), ...delivered.filter((d) => texts.has(d.slice(10))).sort()];
    });
    return { outcomes, unattributed: delivered.filter((d) => !named.has(d.slice(10))) };
  } finally {
    try {
      receiver?.kill("SIGKILL");
      await receiver?.status;
    } catch {
      // already gone
    }
    await cmd(["ip", "netns", "del", nsA]);
    await cmd(["ip", "netns", "del", nsB]);
  }
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buf = "";
  const dec = new TextDecoder();
  for await (const chunk of stream) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
}

interopTest("interop: the IP layer's RFC edge cases draw the same answers from Serin and Linux", [
  "python3",
], async () => {
  const { outcomes: linux, unattributed } = await runLinux();
  const serin = await runSerin();
  const rows = CASES.map((c, i) => ({
    case: c.name,
    linux: linux[i].join("; "),
    serin: serin[i].join("; "),
  }));
  console.table(rows);
  // Every datagram Linux delivered belongs to some case (so none went unattributed).
  assert.deepEqual(unattributed, [], "Linux delivered datagrams no case names");
  // The controls show both sides were listening.
  const control = CASES.findIndex((c) => c.name.startsWith("v4 control: SYN"));
  assert.ok(
    linux[control].some((x) => x.endsWith(" SA")),
    `Linux answered no SYN: ${linux[control]}`,
  );
  assert.ok(linux[0].some((x) => x.startsWith("arp reply")), `Linux answered no ARP: ${linux[0]}`);
  for (let i = 0; i < CASES.length; i++) {
    assert.deepEqual(serin[i], linux[i], `${CASES[i].name}: Serin differs from Linux`);
  }
});

// ---- forwarding: a fragment cut again ----

/** Fragments a router must cut again for a 600-byte link (RFC 791 §3.2). */
function refragCases(m: Macs): Uint8Array[] {
  const [src, dst] = ["10.80.1.1", "10.80.2.1"];
  const data = (off: number, len: number) =>
    Uint8Array.from({ length: len }, (_, i) => (off + i) * 7 & 255);
  // Router alert (copied) and an unknown option 30 (not copied: NOOPs after the first piece).
  const options = Uint8Array.of(0x94, 4, 0, 0, 0x1e, 4, 0, 0);
  const f = (off: number, more: boolean, len: number, opts = new Uint8Array(0)) =>
    eth(
      m,
      E4,
      ip4({
        src,
        dst,
        ident: 0x4242,
        fragmentOffset: off,
        moreFragments: more,
        options: opts,
        payload: data(off, len),
      }),
    );
  return [f(0, true, 1472, options), f(1472, true, 1480), f(2952, false, 1000)];
}

/** A forwarded piece, as compared: identification, offset, MF, length, TTL, options, data sum. */
function describePiece(frame: Uint8Array): string | undefined {
  if (((frame[12] << 8) | frame[13]) !== 0x0800) return undefined;
  const p = frame.subarray(14);
  const hl = (p[0] & 15) * 4;
  const total = (p[2] << 8) | p[3];
  const fo = (p[6] << 8) | p[7];
  const opts = Array.from(p.subarray(20, hl), (x) => x.toString(16).padStart(2, "0")).join("");
  const sum = p.subarray(hl, total).reduce((a, x) => (a * 31 + x) >>> 0, 0);
  return `id ${(p[4] << 8) | p[5]} off ${(fo & 0x1fff) * 8} mf ${(fo >> 13) & 1} len ${
    total - hl
  } ttl ${p[8]} opts ${opts || "-"} sum ${sum}`;
}

async function refragSerin(): Promise<string[]> {
  const sim = new Sim();
  const { sent, wrap: rec } = frameRecorder();
  const a = sim.host("a", { eth0: ["lan1", "10.80.1.1/24"] });
  const r = sim.host("r", { eth0: ["lan1", "10.80.1.254/24"], eth1: ["lan2", "10.80.2.254/24"] }, {
    forwarding: true,
    wrap: rec,
  });
  sim.host("b", { eth0: ["lan2", "10.80.2.1/24"] });
  r.iface("eth1")!.mtu = 600;
  await sim.run(100, 5);
  sent[1].length = 0;
  const r0 = r.iface("eth0")!;
  for (const f of refragCases({ dst: r0.mac, src: a.iface("eth0")!.mac })) r.input(r0, f);
  await sim.run(100, 5);
  return sent[1].map(describePiece).filter((x): x is string => x !== undefined);
}

const CAPTURE_PY = `
import json, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
s.settimeout(0.05)
print("ready", flush=True)
out, end = [], time.time() + float(sys.argv[2])
while time.time() < end:
    try: f, addr = s.recvfrom(70000)
    except socket.timeout: continue
    if addr[2] != socket.PACKET_OUTGOING: out.append(f.hex())
print(json.dumps(out), flush=True)
`;

const SEND_PY = `
import json, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
for f in json.load(sys.stdin): s.send(bytes.fromhex(f))
`;

async function refragLinux(): Promise<string[]> {
  const id = suffix();
  const [nsA, nsR, nsB] = [`serin-fa${id}`, `serin-fr${id}`, `serin-fb${id}`];
  const [ifA, ifR1, ifR2, ifB] = [`sfa${id}`, `sfr${id}`, `sfs${id}`, `sfb${id}`];
  const inNs = (ns: string, ...argv: string[]) => mustRun(["ip", "netns", "exec", ns, ...argv]);
  for (const ns of [nsA, nsR, nsB]) await mustRun(["ip", "netns", "add", ns]);
  let capture: Deno.ChildProcess | undefined;
  try {
    const link = (a: string, nsa: string, b: string, nsb: string) =>
      mustRun([
        "ip",
        "link",
        "add",
        a,
        "netns",
        nsa,
        "type",
        "veth",
        "peer",
        "name",
        b,
        "netns",
        nsb,
      ]);
    await link(ifA, nsA, ifR1, nsR);
    await link(ifR2, nsR, ifB, nsB);
    await inNs(nsR, "ip", "link", "set", ifR2, "mtu", "600");
    await inNs(nsB, "ip", "link", "set", ifB, "mtu", "600");
    for (
      const [ns, dev, cidr] of [[nsA, ifA, "10.80.1.1/24"], [nsR, ifR1, "10.80.1.254/24"], [
        nsR,
        ifR2,
        "10.80.2.254/24",
      ], [nsB, ifB, "10.80.2.1/24"]]
    ) {
      await inNs(ns, "ip", "addr", "add", cidr, "dev", dev);
      await inNs(ns, "ip", "link", "set", dev, "up");
    }
    await inNs(nsR, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    capture = new Deno.Command("ip", {
      args: ["netns", "exec", nsB, "python3", "-c", CAPTURE_PY, ifB, "3"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines = readLines(capture.stdout);
    assert.equal((await lines.next()).value, "ready");
    await delay(500);
    const macs = {
      dst: hexBytes(macOf(await inNs(nsR, "ip", "link", "show", ifR1))),
      src: hexBytes(macOf(await inNs(nsA, "ip", "link", "show", ifA))),
    };
    const hex = (f: Uint8Array) => Array.from(f, (x) => x.toString(16).padStart(2, "0")).join("");
    await mustRun(["ip", "netns", "exec", nsA, "python3", "-c", SEND_PY, ifA], {
      stdin: JSON.stringify(refragCases(macs).map(hex)),
    });
    const got: string[] = JSON.parse((await lines.next()).value ?? "[]");
    return got.map((h) => describePiece(hexBytes(h))).filter((x): x is string => x !== undefined);
  } finally {
    try {
      capture?.kill("SIGKILL");
      await capture?.status;
    } catch {
      // already gone
    }
    for (const ns of [nsA, nsR, nsB]) await cmd(["ip", "netns", "del", ns]);
  }
}

interopTest(
  "interop: a router cuts forwarded fragments again as Linux does (ID, offsets, MF, options)",
  [
    "python3",
  ],
  async () => {
    const linux = await refragLinux();
    const serin = await refragSerin();
    console.table(linux.map((l, i) => ({ linux: l, serin: serin[i] })));
    assert.equal(linux.length, 8, `Linux sent ${linux.length} pieces`);
    assert.deepEqual(serin, linux);
  },
);
