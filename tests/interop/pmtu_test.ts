/**
 * Linux as the oracle for path MTU discovery under forged errors (issue #15, "Path MTU that never
 * black-holes"; RFC 1191, RFC 8201, RFC 8200 §5). A UDP socket on port 40000 of the target is
 * sent a forged error quoting its flow to 10.82.0.1:9 / fd00:82::1:9, then sends 1,400 bytes
 * there; Linux (a network namespace behind a veth, the error injected from its peer namespace
 * by a raw socket) and Serin (in-thread, tests/sim.ts) must learn the same path MTU — `ip route
 * get` shows Linux's — and put the same fragments on the wire:
 *
 * - "fragmentation needed" with MTU 68, and with 0: the path is locked at 552 ("mtu lock 552",
 *   `__ip_rt_update_pmtu()`), the datagram leaves in 552-byte pieces without DF;
 * - "fragmentation needed" with MTU 1000: the path MTU is 1000, unlocked, and the datagram leaves
 *   in pieces of at most 1,000 bytes;
 * - Packet Too Big with MTU 1279: ignored (RFC 8200 §5), the datagram leaves whole, with no
 *   atomic fragment header (RFC 8021);
 * - Packet Too Big with MTU 1300: the path MTU is 1300 and the datagram leaves in two fragments.
 */
import assert from "node:assert/strict";
import * as abi from "../../kernel/abi.ts";
import type { NetworkTask } from "../../netstack/network_task.ts";
import { runNetctl } from "../../netstack/netctl.ts";
import type { InetSocket } from "../../netstack/sockets/socket.ts";
import { parseIPv4, parseIPv6 } from "../../netstack/wire/addr.ts";
import { pseudoHeaderSum4, pseudoHeaderSum6 } from "../../netstack/wire/checksum.ts";
import { encodeEthernet } from "../../netstack/wire/ethernet.ts";
import { encodeIcmpv4, Icmpv4DstUnreachableCode } from "../../netstack/wire/icmpv4.ts";
import { encodeIcmpv6 } from "../../netstack/wire/icmpv6.ts";
import { encodeIpv6 } from "../../netstack/wire/ipv6.ts";
import { encodeUdp } from "../../netstack/wire/udp.ts";
import { Sim } from "../sim.ts";
import { frameRecorder, ipv4Datagram } from "../_packets.ts";
import { cmd, delay, interopTest, mustRun } from "./_lab.ts";

const PEER4 = "10.82.0.1", TARGET4 = "10.82.0.2";
const PEER6 = "fd00:82::1", TARGET6 = "fd00:82::2";
const SPORT = 40000, DPORT = 9, SIZE = 1400;

/** One forged error: its family and the MTU it reports. */
interface Case {
  family: 4 | 6;
  mtu: number;
}

const CASES: Case[] = [
  { family: 4, mtu: 68 },
  { family: 4, mtu: 0 },
  { family: 4, mtu: 1000 },
  { family: 6, mtu: 1279 },
  { family: 6, mtu: 1300 },
];

/** The ICMP message (no IP header) forging an error about the target's flow. */
function forgedIcmp(c: Case): Uint8Array {
  const udp = (pseudoSum: number) =>
    encodeUdp({ srcPort: SPORT, dstPort: DPORT, payload: new Uint8Array(SIZE) }, { pseudoSum });
  if (c.family === 4) {
    const [src, dst] = [parseIPv4(TARGET4)!, parseIPv4(PEER4)!];
    const quoted = ipv4Datagram({
      src,
      dst,
      dontFragment: true,
      payload: udp(pseudoHeaderSum4(src, dst, 17, 8 + SIZE)),
    }).slice(0, 28);
    return encodeIcmpv4({
      kind: "dst-unreachable",
      code: Icmpv4DstUnreachableCode.FRAGMENTATION_NEEDED,
      nextHopMtu: c.mtu,
      invoking: quoted,
    });
  }
  const [src, dst] = [parseIPv6(TARGET6)!, parseIPv6(PEER6)!];
  const quoted = encodeIpv6({
    trafficClass: 0,
    flowLabel: 0,
    nextHeader: 17,
    hopLimit: 64,
    src,
    dst,
    payload: udp(pseudoHeaderSum6(src, dst, 17, 8 + SIZE)),
  }).slice(0, 48);
  return encodeIcmpv6({ kind: "packet-too-big", mtu: c.mtu, invoking: quoted }, {
    src: dst,
    dst: src,
  });
}

/** A datagram the target sent, as compared: offset, MF, DF and length (IPv4 or IPv6). */
function describe(frame: Uint8Array): string | undefined {
  const type = (frame[12] << 8) | frame[13];
  const p = frame.subarray(14);
  if (type === 0x0800 && p[9] === 17) {
    const fo = (p[6] << 8) | p[7];
    return `v4 len ${(p[2] << 8) | p[3]} off ${(fo & 0x1fff) * 8} mf ${(fo >> 13) & 1} df ${
      (fo >> 14) & 1
    }`;
  }
  if (type === 0x86dd && (p[6] === 17 || p[6] === 44)) {
    const len = 40 + ((p[4] << 8) | p[5]);
    if (p[6] === 17) return `v6 len ${len}`;
    const fo = (p[42] << 8) | p[43];
    return `v6 len ${len} frag off ${fo & 0xfff8} m ${fo & 1}`;
  }
  return undefined;
}

// ---- Serin ----

async function serin(c: Case): Promise<{ pmtu: string; sent: string[] }> {
  const sim = new Sim();
  const rec = frameRecorder();
  const peer = sim.host("peer", { eth0: ["lan", `${PEER4}/24`] });
  const target = sim.host("target", { eth0: ["lan", `${TARGET4}/24`] }, { wrap: rec.wrap });
  runNetctl(peer, { op: "ifaddr", iface: "eth0", action: "add", cidr: `${PEER6}/64` });
  runNetctl(target, { op: "ifaddr", iface: "eth0", action: "add", cidr: `${TARGET6}/64` });
  await sim.run(3000, 5);
  const ctx = { signal: sim.signal };
  const v4 = c.family === 4;
  const s: InetSocket = target.createSocket(v4 ? abi.AF_INET : abi.AF_INET6, abi.SOCK_DGRAM, 0);
  s.bind(
    v4 ? { family: 2, addr: TARGET4, port: SPORT } : { family: 10, addr: TARGET6, port: SPORT },
  );
  inject(peer, target, c);
  const pmtu = v4 ? target.ipv4.pathMtu(parseIPv4(PEER4)!) : target.ipv6.pathMtu(parseIPv6(PEER6)!);
  rec.sent[0].length = 0;
  const to = v4 ? { family: 2 as const, addr: PEER4, port: DPORT } : {
    family: 10 as const,
    addr: PEER6,
    port: DPORT,
  };
  await sim.until(s.sendmsg(new Uint8Array(SIZE), 0, to, ctx));
  await sim.run(50);
  return {
    pmtu: pmtu ? `mtu ${pmtu.locked ? "lock " : ""}${pmtu.mtu}` : "none",
    sent: rec.sent[0].map(describe).filter((x): x is string => x !== undefined),
  };
}

function inject(peer: NetworkTask, target: NetworkTask, c: Case) {
  const icmp = forgedIcmp(c);
  const e = (t: NetworkTask) => t.iface("eth0")!;
  const ip = c.family === 4
    ? ipv4Datagram({ src: parseIPv4(PEER4)!, dst: parseIPv4(TARGET4)!, protocol: 1, payload: icmp })
    : encodeIpv6({
      trafficClass: 0,
      flowLabel: 0,
      nextHeader: 58,
      hopLimit: 64,
      src: parseIPv6(PEER6)!,
      dst: parseIPv6(TARGET6)!,
      payload: icmp,
    });
  const ethertype = c.family === 4 ? 0x0800 : 0x86dd;
  target.input(
    e(target),
    encodeEthernet({ dst: e(target).mac, src: e(peer).mac, ethertype, payload: ip }),
  );
}

// ---- Linux ----

const TARGET_PY = `
import socket, sys
fam = socket.AF_INET if sys.argv[1] == "4" else socket.AF_INET6
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[2], ${SPORT}))
print("ready", flush=True)
sys.stdin.readline()
s.sendto(bytes(${SIZE}), (sys.argv[3], ${DPORT}))
print("sent", flush=True)
`;

const INJECT_PY = `
import socket, sys
fam, proto = (socket.AF_INET, 1) if sys.argv[1] == "4" else (socket.AF_INET6, 58)
s = socket.socket(fam, socket.SOCK_RAW, proto)
s.sendto(bytes.fromhex(sys.argv[3]), (sys.argv[2], 0))
`;

const CAPTURE_PY = `
import json, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
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

async function linux(c: Case): Promise<{ pmtu: string; sent: string[] }> {
  const id = Array.from(
    crypto.getRandomValues(new Uint8Array(3)),
    (x) => x.toString(16).padStart(2, "0"),
  ).join("");
  const [nsP, nsT, ifP, ifT] = [`serin-pp${id}`, `serin-pt${id}`, `spp${id}`, `spt${id}`];
  const inNs = (ns: string, ...argv: string[]) => mustRun(["ip", "netns", "exec", ns, ...argv]);
  const spawn = (ns: string, ...argv: string[]) =>
    new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...argv],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  for (const ns of [nsP, nsT]) await mustRun(["ip", "netns", "add", ns]);
  const children: Deno.ChildProcess[] = [];
  try {
    await mustRun([
      "ip",
      "link",
      "add",
      ifP,
      "netns",
      nsP,
      "type",
      "veth",
      "peer",
      "name",
      ifT,
      "netns",
      nsT,
    ]);
    for (const [ns, dev, a4, a6] of [[nsP, ifP, PEER4, PEER6], [nsT, ifT, TARGET4, TARGET6]]) {
      await inNs(ns, "ip", "addr", "add", `${a4}/24`, "dev", dev);
      await inNs(ns, "ip", "addr", "add", `${a6}/64`, "dev", dev, "nodad");
      await inNs(ns, "ip", "link", "set", dev, "up");
      await inNs(ns, "ip", "link", "set", "lo", "up");
    }
    const capture = spawn(nsP, "python3", "-c", CAPTURE_PY, ifP, "3");
    const target = spawn(
      nsT,
      "python3",
      "-c",
      TARGET_PY,
      String(c.family),
      c.family === 4 ? TARGET4 : TARGET6,
      c.family === 4 ? PEER4 : PEER6,
    );
    children.push(capture, target);
    const capLines = readLines(capture.stdout);
    const tLines = readLines(target.stdout);
    assert.equal((await capLines.next()).value, "ready");
    assert.equal((await tLines.next()).value, "ready");
    await delay(300);
    const hex = Array.from(forgedIcmp(c), (x) => x.toString(16).padStart(2, "0")).join("");
    await inNs(
      nsP,
      "python3",
      "-c",
      INJECT_PY,
      String(c.family),
      c.family === 4 ? TARGET4 : TARGET6,
      hex,
    );
    await delay(200);
    const route = await inNs(
      nsT,
      "ip",
      `-${c.family}`,
      "route",
      "get",
      c.family === 4 ? PEER4 : PEER6,
    );
    const w = target.stdin.getWriter();
    await w.write(new TextEncoder().encode("go\n"));
    await w.close();
    assert.equal((await tLines.next()).value, "sent");
    const frames: string[] = JSON.parse((await capLines.next()).value ?? "[]");
    const m = route.match(/mtu (lock )?(\d+)/);
    return {
      pmtu: m ? `mtu ${m[1] ?? ""}${m[2]}` : "none",
      sent: frames.map((h) =>
        describe(Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16)))
      )
        .filter((x): x is string => x !== undefined),
    };
  } finally {
    for (const ch of children) {
      try {
        ch.kill("SIGKILL");
        await ch.status;
      } catch {
        // already gone
      }
    }
    for (const ns of [nsP, nsT]) await cmd(["ip", "netns", "del", ns]);
  }
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

for (const c of CASES) {
  const what = c.family === 4
    ? `"fragmentation needed", MTU ${c.mtu}`
    : `Packet Too Big, MTU ${c.mtu}`;
  interopTest(
    `interop: a forged ${what}: Serin learns the path MTU Linux learns and fragments alike`,
    [
      "python3",
    ],
    async () => {
      const l = await linux(c);
      const s = await serin(c);
      console.table({ linux: l, serin: s });
      assert.ok(l.sent.length > 0, "Linux sent nothing the capture saw");
      assert.deepEqual(s, l);
    },
  );
}
