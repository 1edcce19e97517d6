/**
 * IPv6 between Linux and Serin over a TAP: ping both ways (link-local and global), SLAAC from a
 * router advertisement Linux's side sends (python3, raw ICMPv6 socket), TCP both ways with a
 * tshark-checked capture, a Packet Too Big from Linux in the middle of a transfer, and a
 * fragmented 10,000-byte UDP datagram echoed back.
 *
 * Serin boots with 10.77.N.2/24 and fd00:77:N::2/64 (MAC 02:77:00:00:00:02, so link-local
 * fe80::77:ff:fe00:2); Linux's side of the TAP gets fd00:77:N::1/64 next to the lab's addresses.
 */
import assert from "node:assert/strict";
import { Capture, delay, interopTest, mustRun, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { SHA_CLIENT_PY, SHA_SERVER_PY } from "./_python.ts";
import { bootOnTap, type SerinOnTap } from "./_serin.ts";
import { captureProblems, PREFS, serinChecksums } from "./_tcp_capture.ts";
import { tsharkFields } from "../tshark.ts";

/** Every test needs the whole toolbox; a missing one skips loudly. */
/** What Linux's side runs in the ping test: iputils ping. */
const PING = ["ping"];
/** In the SLAAC test: python3 (the RA) and ping. */
const SLAAC = ["python3", "ping"];
/** In the transfer tests: python3 peers, a tcpdump capture, tshark reading it. */
const PCAP = ["python3", "tcpdump", "tshark"];
const PROGRAMS = "tests/interop/programs";
/** Port 7 (echo), for the same tshark reason as tcp_test.ts. */
const TCP_PORT = 7;
const UDP_PORT = 7007;
const TCP_BYTES = 2_000_000;
/** IPv6 minimum MTU: what the Packet Too Big lowers the path to. */
const MIN_MTU6 = 1280;
/**
 * tcpdump (libpcap's TPACKET_V3 ring) hands packets over in blocks, at the latest after its 1 s
 * timeout: wait that long before stopping a capture whose last packets matter.
 */
const CAPTURE_FLUSH_MS = 1200;

/** fd00:77:N::/64 for lab subnet N ("fd00:77:N:1::/64" with `sub` 1). */
function prefix6(lab: TapLab, sub = 0): string {
  return sub === 0 ? `fd00:77:${lab.subnet}::` : `fd00:77:${lab.subnet}:${sub}::`;
}

/** The interface identifier of `mac` by modified EUI-64 (RFC 4291 §2.5.1), as text. */
function eui64Suffix(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  const id = [b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
  const groups = [0, 2, 4, 6].map((i) => ((id[i] << 8) | id[i + 1]).toString(16));
  return groups.join(":");
}

/** `addr` with the longest run of zero groups shortened (RFC 5952), for comparing text. */
function canon6(addr: string): string {
  const [head, tail] = addr.split("::");
  const h = head ? head.split(":") : [];
  const t = tail === undefined ? [] : tail ? tail.split(":") : [];
  const fill = addr.includes("::") ? Array(8 - h.length - t.length).fill("0") : [];
  const g = [...h, ...fill, ...t].map((x) => parseInt(x, 16).toString(16));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}

/** Serin's addresses and Linux's, for one lab. */
interface Addrs6 {
  linux: string;
  serin: string;
  serinLinkLocal: string;
}

function addrs6(lab: TapLab): Addrs6 {
  return {
    linux: `${prefix6(lab)}1`,
    serin: `${prefix6(lab)}2`,
    serinLinkLocal: canon6(`fe80::${eui64Suffix(lab.serinMac)}`),
  };
}

/** The `inet6` lines of Serin's `ifconfig` for its TAP interface. */
async function serinInet6(serin: SerinOnTap): Promise<string[]> {
  const r = await serin.run("ifconfig", [], { host: SERIN_HOST });
  return r.stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("inet6 "));
}

/** Poll Serin's ifconfig until `addr` is listed and no longer tentative (DAD done). */
async function waitSerinAddr(serin: SerinOnTap, addr: string, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lines: string[] = [];
  while (Date.now() < deadline) {
    lines = await serinInet6(serin);
    const line = lines.find((l) => l.startsWith(`inet6 ${addr} `));
    if (line && !/tentative|duplicated/.test(line)) return line;
    await delay(100);
  }
  throw new Error(`Serin never had ${addr} ready; its inet6 lines: ${JSON.stringify(lines)}`);
}

/** Poll until Linux's addresses on the TAP are past DAD (its link-local is needed for RAs). */
async function waitLinuxDad(lab: TapLab, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let out = "";
  while (Date.now() < deadline) {
    out = await mustRun(["ip", "-n", lab.ns, "-6", "addr", "show", "dev", lab.tap]);
    if (out.includes("inet6 fe80::") && !out.includes("tentative")) return;
    await delay(100);
  }
  throw new Error(`Linux's IPv6 addresses on ${lab.tap} never left DAD: ${out}`);
}

/**
 * Boot Serin on the lab's TAP with fd00:77:N::2/64 next to its IPv4 address, give Linux
 * fd00:77:N::1/64, and wait for DAD on both sides. Dispose the result before the lab.
 */
async function bootOnTap6(lab: TapLab): Promise<SerinOnTap> {
  const a = addrs6(lab);
  // bootOnTap takes the network from lab.serinNet: hand it one with the IPv6 address too.
  const v4Net = lab.serinNet.bind(lab);
  lab.serinNet = (driver, extra) => {
    const net = v4Net(driver, extra);
    const iface = net.hosts[0].ifaces?.[0];
    if (iface) iface.addrs = [...(iface.addrs ?? []), `${a.serin}/64`];
    return net;
  };
  const serin = await bootOnTap(lab);
  try {
    await mustRun(["ip", "-n", lab.ns, "-6", "addr", "add", `${a.linux}/64`, "dev", lab.tap]);
    await waitSerinAddr(serin, a.serin);
    await waitSerinAddr(serin, a.serinLinkLocal);
    await waitLinuxDad(lab);
    return serin;
  } catch (err) {
    await serin[Symbol.asyncDispose]();
    throw err;
  }
}

interopTest(
  "interop IPv6: Linux pings Serin (link-local, global), Serin pings Linux",
  PING,
  async () => {
    await using lab = await TapLab.create();
    await using serin = await bootOnTap6(lab);
    const a = addrs6(lab);
    const lines = await serinInet6(serin);
    assert.ok(
      lines.includes(`inet6 ${a.serinLinkLocal}  prefixlen 64  scopeid 0x20<link>`),
      JSON.stringify(lines),
    );
    assert.ok(lines.includes(`inet6 ${a.serin}  prefixlen 64  scopeid 0x0<global>`), String(lines));

    const pingArgs = ["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2"];
    const ll = await lab.exec([...pingArgs, `${a.serinLinkLocal}%${lab.tap}`]);
    assert.equal(ll.code, 0, `Linux ping -6 link-local failed:\n${ll.stdout}${ll.stderr}`);
    assert.match(ll.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    assert.match(
      ll.stdout,
      new RegExp(`64 bytes from ${a.serinLinkLocal}%${lab.tap}: icmp_seq=3 ttl=64 `),
    );

    const g = await lab.exec([...pingArgs, a.serin]);
    assert.equal(g.code, 0, `Linux ping -6 global failed:\n${g.stdout}${g.stderr}`);
    assert.match(g.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    assert.match(g.stdout, new RegExp(`64 bytes from ${a.serin}: icmp_seq=3 ttl=64 `));

    const r = await serin.run("ping", ["-6", "-c", "3", "-i", "0.2", a.linux], {
      host: SERIN_HOST,
      caps: ["net_raw"],
    });
    assert.equal(r.status, 0, `Serin ping -6 failed:\n${r.stdout}${r.stderr}`);
    const out = r.stdout.split("\n");
    assert.equal(out[0], `PING ${a.linux} (${a.linux}) 56 data bytes`);
    assert.deepEqual(
      out.filter((l) => l.includes(`bytes from ${a.linux}`))
        .map((l) => l.replace(/ ttl=64 /, " ").replace(/time=[\d.]+ ms$/, "time=T ms")),
      // iputils prints the hop limit as ttl=; Serin's ping cannot see it on an ICMPv6 socket
      // (no IPV6_RECVHOPLIMIT), so it leaves it out. Either form, the rest must match.
      [1, 2, 3].map((s) => `64 bytes from ${a.linux}: icmp_seq=${s} time=T ms`),
    );
    assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
  },
);

/**
 * Linux's side as a router, args IFNAME PREFIX COUNT: COUNT router advertisements to ff02::1
 * (hop limit 255, router lifetime 1800 s) with a prefix-information option PREFIX/64, flags
 * L and A, and a source link-layer address option. The kernel fills in the ICMPv6 checksum.
 */
const RA_PY = `
import socket, struct, sys, time
ifname, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = socket.if_nametoindex(ifname)
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
pio = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0)
pio += socket.inet_pton(socket.AF_INET6, prefix)
mac = open(f"/sys/class/net/{ifname}/address").read().strip()
sll = struct.pack("!BB", 1, 1) + bytes.fromhex(mac.replace(":", ""))
for i in range(count):
    s.sendto(ra + pio + sll, ("ff02::1", 0, 0, idx))
    time.sleep(0.2)
print("sent", count)
`;

interopTest(
  "interop IPv6: Serin forms a SLAAC address from Linux's RA and answers on it",
  SLAAC,
  async () => {
    await using lab = await TapLab.create();
    await using serin = await bootOnTap6(lab);
    const slaacPrefix = prefix6(lab, 1);
    const slaac = canon6(`${slaacPrefix}${eui64Suffix(lab.serinMac)}`);
    await lab.python(RA_PY, [lab.tap, slaacPrefix, "3"]);
    const line = await waitSerinAddr(serin, slaac);
    assert.equal(line, `inet6 ${slaac}  prefixlen 64  scopeid 0x0<global>`);
    await mustRun(["ip", "-n", lab.ns, "-6", "addr", "add", `${slaacPrefix}1/64`, "dev", lab.tap]);
    const r = await lab.exec(["ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", slaac]);
    assert.equal(r.code, 0, `Linux ping -6 of the SLAAC address failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
    assert.match(r.stdout, new RegExp(`64 bytes from ${slaac}: icmp_seq=3 ttl=64 `));
  },
);

/** SHA_SERVER_PY on an AF_INET6 socket. */
const SHA_SERVER6_PY = SHA_SERVER_PY.replace(
  "s = socket.socket()",
  "s = socket.socket(socket.AF_INET6)",
);

/** The options of one IPv6 SYN or SYN-ACK as tshark dissected them. */
interface Syn6 {
  from: string;
  mss?: number;
  wscale?: number;
  sackPermitted: boolean;
  timestamps: boolean;
}

async function handshake6(pcap: string): Promise<{ syn?: Syn6; synAck?: Syn6 }> {
  const frames = await tsharkFields(pcap, [
    "ipv6.src",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
  ], PREFS);
  const isSet = (f: Record<string, string[]>, k: string) =>
    f[k]?.[0] === "1" || f[k]?.[0] === "True";
  const opts = (f: Record<string, string[]>): Syn6 => ({
    from: f["ipv6.src"]?.[0] ?? "?",
    mss: f["tcp.options.mss_val"] ? Number(f["tcp.options.mss_val"][0]) : undefined,
    wscale: f["tcp.options.wscale.shift"] ? Number(f["tcp.options.wscale.shift"][0]) : undefined,
    sackPermitted: f["tcp.options.sack_perm"] !== undefined,
    timestamps: f["tcp.options.timestamp.tsval"] !== undefined,
  });
  const syn = frames.find((f) => isSet(f, "tcp.flags.syn") && !isSet(f, "tcp.flags.ack"));
  const synAck = frames.find((f) => isSet(f, "tcp.flags.syn") && isSet(f, "tcp.flags.ack"));
  return { syn: syn && opts(syn), synAck: synAck && opts(synAck) };
}

function assertFullOptions(o: Syn6 | undefined, what: string): void {
  assert.ok(o, `no ${what} in the capture`);
  const text = JSON.stringify(o);
  // 1500 - 40 (IPv6) - 20 (TCP).
  assert.ok(o.mss !== undefined && o.mss > 0 && o.mss <= 1440, `${what}: ${text}`);
  assert.ok(o.wscale !== undefined, `${what} has no window scale: ${text}`);
  assert.ok(o.sackPermitted, `${what} has no SACK-permitted: ${text}`);
  assert.ok(o.timestamps, `${what} has no timestamps: ${text}`);
}

async function checkCapture6(pcap: string, lab: TapLab, client: string, server: string) {
  const { syn, synAck } = await handshake6(pcap);
  assert.equal(syn?.from, client);
  assert.equal(synAck?.from, server);
  assertFullOptions(syn, "SYN");
  assertFullOptions(synAck, "SYN-ACK");
  assert.deepEqual(await captureProblems(pcap, lab), []);
  const sums = await serinChecksums(pcap, lab);
  const notGood = Object.keys(sums).filter((k) => !k.endsWith("=1"));
  assert.deepEqual(notGood, [], JSON.stringify(sums));
  assert.ok((sums["tcp.checksum.status=1"] ?? 0) > 0, `no checked TCP checksum from Serin`);
}

interopTest(
  "interop IPv6: Linux connects to Serin's [::] listener, SHA-256 matches",
  PCAP,
  async () => {
    await using lab = await TapLab.create();
    await using serin = await bootOnTap6(lab);
    const a = addrs6(lab);
    const pcap = await Deno.makeTempFile({ prefix: "serin-interop6-", suffix: ".pcap" });
    try {
      const pid = await serin.sys.start(`${PROGRAMS}/sha_server.ts`, [String(TCP_PORT), "6"], {
        host: SERIN_HOST,
        caps: ["net_bind_service"],
      });
      await serin.waitFor(pid, "listening");
      {
        await using _cap = await Capture.start(lab, pcap, 3000);
        const out = await lab.python(SHA_CLIENT_PY, [a.serin, String(TCP_PORT), String(TCP_BYTES)]);
        const { mine, peer } = JSON.parse(out);
        assert.equal(peer, mine);
        assert.equal(await serin.wait(pid), 0, serin.output(pid));
      }
      await checkCapture6(pcap, lab, a.linux, a.serin);
    } finally {
      await Deno.remove(pcap);
    }
  },
);

interopTest("interop IPv6: Serin connects to Linux, SHA-256 matches", PCAP, async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap6(lab);
  const a = addrs6(lab);
  const pcap = await Deno.makeTempFile({ prefix: "serin-interop6-", suffix: ".pcap" });
  const server = new Watched(
    lab.spawn(["python3", "-u", "-c", SHA_SERVER6_PY, a.linux, String(TCP_PORT)]),
  );
  try {
    await server.waitFor("listening");
    {
      await using _cap = await Capture.start(lab, pcap, 3000);
      const r = await serin.run(`${PROGRAMS}/sha_client.ts`, [
        a.linux,
        String(TCP_PORT),
        String(TCP_BYTES),
      ], { host: SERIN_HOST });
      assert.equal(r.status, 0, `sha_client: ${r.stdout}${r.stderr}`);
      assert.equal(await server.finished(), 0, server.stderr);
      const got = JSON.parse(server.text.split("\n")[1]);
      assert.equal(got.peer, a.serin);
      assert.equal(`sent: ${got.got}`, r.stdout.split("\n")[0]);
    }
    await checkCapture6(pcap, lab, a.serin, a.linux);
  } finally {
    await server.kill();
    await Deno.remove(pcap);
  }
});

/**
 * Linux's side playing a router with a small next-hop MTU, args IFNAME SERIN MTU: watch the TAP
 * (AF_PACKET) for the first TCP segment from SERIN whose IPv6 packet is over MTU bytes and
 * answer it with an ICMPv6 Packet Too Big (MTU) quoting as much of it as fits, then print
 * {"quoted": <that packet's length>}. Prints "listening" once the packet socket is bound.
 */
const PTB_PY = `
import json, socket, struct, sys
ifname, serin, mtu = sys.argv[1], sys.argv[2], int(sys.argv[3])
serin_b = socket.inet_pton(socket.AF_INET6, serin)
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
p.bind((ifname, 0))
p.settimeout(20)
print("listening", flush=True)
i = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
# A router on a 1280-byte link drops each packet too big and quotes it in a Packet Too Big; its
# sequence number is then unacknowledged, and TCP believes the error (RFC 5927: Serin, like
# Linux's tcp_v6_err, ignores one quoting acknowledged data). This sniffer cannot drop what it
# sees, and Linux acknowledges it at once, so the quote carries the end of the newest data Serin
# sent: never acknowledged yet, never unsent. One per packet too big, as a router would (20 at most).
def data_end(ip):
    if ip[6] != 6 or ip[8:24] != serin_b:
        return None
    plen = struct.unpack("!H", ip[4:6])[0]
    tcp = ip[40:]
    seq = struct.unpack("!I", tcp[4:8])[0]
    return (seq + plen - (tcp[12] >> 4) * 4) & 0xffffffff
def later(a, b):
    return b is None or ((a - b) & 0xffffffff) < 0x80000000
newest, sent = None, 0
while sent < 20:
    try:
        frame, meta = p.recvfrom(65535)
    except socket.timeout:
        break
    if meta[2] == socket.PACKET_OUTGOING:
        continue
    ip = frame[14:]
    end = data_end(ip)
    if end is None:
        continue
    if later(end, newest):
        newest = end
    if len(ip) > mtu:
        p.setblocking(False)
        try:
            while True:
                f2, m2 = p.recvfrom(65535)
                e2 = data_end(f2[14:]) if m2[2] != socket.PACKET_OUTGOING else None
                if e2 is not None and later(e2, newest):
                    newest = e2
        except BlockingIOError:
            pass
        p.settimeout(2)
        quote = bytearray(ip[:mtu - 48])
        quote[44:48] = struct.pack("!I", newest)
        i.sendto(struct.pack("!BBHI", 2, 0, 0, mtu) + bytes(quote), (serin, 0))
        sent += 1
print(json.dumps({"sent": sent}), flush=True)
`;

interopTest("interop IPv6: Serin honours Linux's Packet Too Big mid-transfer", PCAP, async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap6(lab);
  const a = addrs6(lab);
  const pcap = await Deno.makeTempFile({ prefix: "serin-interop6-", suffix: ".pcap" });
  const server = new Watched(
    lab.spawn(["python3", "-u", "-c", SHA_SERVER6_PY, a.linux, String(TCP_PORT)]),
  );
  const ptb = new Watched(lab.spawn(["python3", "-u", "-c", PTB_PY, lab.tap, a.serin, "1280"]));
  try {
    await server.waitFor("listening");
    await ptb.waitFor("listening");
    {
      await using _cap = await Capture.start(lab, pcap);
      const r = await serin.run(`${PROGRAMS}/sha_client.ts`, [
        a.linux,
        String(TCP_PORT),
        String(TCP_BYTES),
      ], { host: SERIN_HOST });
      assert.equal(r.status, 0, `sha_client: ${r.stdout}${r.stderr}`);
      assert.equal(await server.finished(), 0, server.stderr);
      const got = JSON.parse(server.text.split("\n")[1]);
      assert.equal(`sent: ${got.got}`, r.stdout.split("\n")[0]);
      assert.equal(await ptb.finished(), 0, `PTB sender: ${ptb.text}${ptb.stderr}`);
      await delay(CAPTURE_FLUSH_MS);
    }
    const frames = await tsharkFields(
      pcap,
      ["eth.src", "icmpv6.type", "ipv6.plen", "tcp.len"],
      PREFS,
    );
    const ptbAt = frames.findIndex((f) => f["icmpv6.type"]?.[0] === "2");
    assert.ok(ptbAt >= 0, "no Packet Too Big in the capture");
    assert.notEqual(frames[ptbAt]["eth.src"]?.[0], lab.serinMac, "the PTB came from Serin");
    /** IPv6 packet sizes and TCP payload lengths of Serin's data segments in frames [from, to). */
    const serinData = (from: number, to: number) =>
      frames.slice(from, to).filter((f) =>
        f["eth.src"]?.[0] === lab.serinMac && Number(f["tcp.len"]?.[0] ?? 0) > 0
      ).map((f) => ({ ip: Number(f["ipv6.plen"][0]) + 40, tcp: Number(f["tcp.len"][0]) }));
    const before = serinData(0, ptbAt);
    const after = serinData(ptbAt + 1, frames.length);
    const maxIp = (xs: { ip: number }[]) => Math.max(0, ...xs.map((x) => x.ip));
    assert.ok(maxIp(before) > MIN_MTU6, `before the PTB: largest packet ${maxIp(before)}`);
    // Segments Serin had already handed to its driver when the PTB arrived may still be big;
    // once one fits in 1280 bytes, every later one must.
    const firstSmall = after.findIndex((x) => x.ip <= MIN_MTU6);
    const lastBig = after.findLastIndex((x) => x.ip > MIN_MTU6);
    assert.ok(firstSmall >= 0 && after.length - firstSmall >= 200, `after: ${after.length}`);
    const later = after.slice(firstSmall);
    const maxTcp = Math.max(...later.map((x) => x.tcp));
    assert.ok(
      lastBig < firstSmall && maxIp(later) <= MIN_MTU6,
      `after the PTB: first small segment #${firstSmall}, last big #${lastBig} of ${after.length}`,
    );
    // 1280 - 40 (IPv6) - 20 (TCP) - 12 (timestamps).
    assert.equal(maxTcp, 1208, `largest TCP payload after the PTB: ${maxTcp}`);
    const problems = (await captureProblems(pcap, lab)).filter((p) => p.includes(lab.serinMac));
    assert.deepEqual(problems, []);
  } finally {
    await ptb.kill();
    await server.kill();
    await Deno.remove(pcap);
  }
});

/**
 * Args HOST PORT SIZE: send one SIZE-byte datagram (retrying up to 3 times on a 2 s timeout)
 * and print {"ok", "tries"} once it comes back byte-identical from (HOST, PORT).
 */
const UDP6_PY = `
import json, os, socket, sys
host, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(2.0)
data = os.urandom(size)
tries, ok = 0, False
while tries < 3 and not ok:
    tries += 1
    s.sendto(data, (host, port))
    try:
        while True:
            got, frm = s.recvfrom(65535)
            if got == data and frm[:2] == (host, port):
                ok = True
                break
    except socket.timeout:
        pass
print(json.dumps({"ok": ok, "tries": tries}))
`;

interopTest(
  "interop IPv6: a fragmented 10,000-byte UDP datagram comes back intact",
  PCAP,
  async () => {
    await using lab = await TapLab.create();
    await using serin = await bootOnTap6(lab);
    const a = addrs6(lab);
    const pcap = await Deno.makeTempFile({ prefix: "serin-interop6-", suffix: ".pcap" });
    try {
      const pid = await serin.sys.start("echo", ["-u", "-6", "-p", String(UDP_PORT)], {
        host: SERIN_HOST,
      });
      await serin.waitFor(pid, "listening");
      {
        await using _cap = await Capture.start(lab, pcap);
        const out = await lab.python(UDP6_PY, [a.serin, String(UDP_PORT), "10000"]);
        assert.deepEqual(JSON.parse(out), { ok: true, tries: 1 });
        await delay(CAPTURE_FLUSH_MS);
      }
      // Both directions really were fragmented: IPv6 fragment headers from each MAC.
      const frames = await tsharkFields(pcap, ["eth.src", "ipv6.fraghdr.offset"], PREFS);
      const frags = (fromSerin: boolean) =>
        frames.filter((f) =>
          (f["eth.src"]?.[0] === lab.serinMac) === fromSerin && f["ipv6.fraghdr.offset"]
        ).length;
      // 10,008 bytes of UDP in fragments of at most 1448 bytes: 7 each way.
      assert.equal(frags(false), 7, "fragments from Linux");
      assert.equal(frags(true), 7, "fragments from Serin");
      const problems = (await captureProblems(pcap, lab)).filter((p) => p.includes(lab.serinMac));
      assert.deepEqual(problems, []);
    } finally {
      await Deno.remove(pcap);
    }
  },
);
