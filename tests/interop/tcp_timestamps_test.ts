/**
 * Linux as the oracle for a segment without the timestamp option once timestamps were
 * negotiated (RFC 7323 §3.2 says SHOULD drop; Linux 6.x processes it, only without PAWS and
 * TS.Recent). One python3 peer script (AF_PACKET: it answers ARP for its own address and
 * builds every frame itself) plays the same trace against Linux, in a namespace behind a veth,
 * and against Serin, on a TAP: SYN with TSopt, data with TSopt, data without TSopt. Both must
 * acknowledge the bare data, keep echoing the last TSval they took, and keep sending TSopt.
 */
import assert from "node:assert/strict";
import { cmd, interopTest, mustRun, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { bootOnTap } from "./_serin.ts";

const PORT = 9;

/** The peer: argv iface target-mac target-ip my-ip port; prints what the target answered. */
const PEER_PY = `
import json, select, socket, struct, sys, time
IF, DMAC, DST, SRC, PORT = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), sys.argv[3], sys.argv[4], int(sys.argv[5])
SMAC = bytes.fromhex("029900000001")
def csum(b):
    if len(b) % 2: b += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(seq, ack, flags, opts=b"", data=b""):
    while len(opts) % 4: opts += b"\\1"
    h = struct.pack("!HHIIBBHHH", 40001, PORT, seq, ack, (20 + len(opts)) // 4 << 4, flags, 65535, 0, 0) + opts
    ph = socket.inet_aton(SRC) + socket.inet_aton(DST) + struct.pack("!BBH", 0, 6, len(h) + len(data))
    h = h[:16] + struct.pack("!H", csum(ph + h + data)) + h[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(opts) + len(data), 1, 0x4000, 64, 6, 0, socket.inet_aton(SRC), socket.inet_aton(DST))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return DMAC + SMAC + b"\\x08\\x00" + ip + h + data
def ts(v, e): return b"\\1\\1\\x08\\x0a" + struct.pack("!II", v, e)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((IF, 0))
def collect(t):
    end, out = time.time() + t, []
    while time.time() < end:
        if not select.select([s], [], [], max(0, end - time.time()))[0]: break
        f = s.recv(65535)
        if f[12:14] == b"\\x08\\x06" and f[20:22] == b"\\0\\1" and f[38:42] == socket.inet_aton(SRC):
            s.send(f[6:12] + SMAC + b"\\x08\\x06" + f[14:20] + b"\\0\\2" + SMAC + f[38:42] + f[22:28] + f[28:32])
            continue
        if f[12:14] != b"\\x08\\x00" or f[23] != 6 or f[30:34] != socket.inet_aton(SRC): continue
        t4 = f[14 + (f[14] & 15) * 4:]
        sp, dp, seq, ack, off, fl = struct.unpack("!HHIIBB", t4[:14])
        opts, i, tsv = t4[20:(off >> 4) * 4], 0, None
        while i < len(opts) and opts[i] != 0:
            if opts[i] == 1: i += 1; continue
            if opts[i] == 8: tsv = struct.unpack("!II", opts[i + 2:i + 10])
            i += max(2, opts[i + 1])
        if dp == 40001: out.append({"seq": seq, "ack": ack, "flags": fl, "ts": tsv})
    return out
collect(0.2)
ISS = 1000
s.send(frame(ISS, 0, 2, b"\\2\\4\\5\\xb4\\1\\1" + ts(100, 0)))
synack = [x for x in collect(1.5) if x["flags"] & 0x12 == 0x12][0]
theirs = synack["ts"][0]
ack0 = synack["seq"] + 1
s.send(frame(ISS + 1, ack0, 0x10, ts(101, theirs)))
s.send(frame(ISS + 1, ack0, 0x18, ts(102, theirs), b"aaaa"))
a1 = collect(0.5)
s.send(frame(ISS + 5, ack0, 0x18, b"", b"bbbb"))
a2 = collect(0.5)
s.send(frame(ISS + 9, ack0, 0x14))
last = a2[-1] if a2 else {"ack": None, "ts": None}
print(json.dumps({
  "synackTs": synack["ts"] is not None,
  "ackAfterTs": max(x["ack"] for x in a1) - ISS if a1 else None,
  "ackAfterBare": last["ack"] - ISS if last["ack"] is not None else None,
  "tsInAck": last["ts"] is not None,
  "echoAfterBare": last["ts"][1] if last["ts"] else None,
}))
`;

const EXPECTED = {
  synackTs: true,
  ackAfterTs: 5,
  ackAfterBare: 9,
  tsInAck: true,
  echoAfterBare: 102,
};

interopTest(
  "oracle: data without TSopt after timestamps were negotiated is taken by Linux and by Serin alike",
  [
    "python3",
  ],
  async () => {
    // Linux: the peer in namespace A, the target (a listener on port 9) in namespace B.
    const suffix = crypto.randomUUID().slice(0, 8);
    const [nsA, nsB, va, vb] = [`tsa-${suffix}`, `tsb-${suffix}`, `ta${suffix}`, `tb${suffix}`];
    let linux: unknown;
    try {
      await mustRun(["ip", "netns", "add", nsA]);
      await mustRun(["ip", "netns", "add", nsB]);
      await mustRun(["ip", "link", "add", va, "type", "veth", "peer", "name", vb]);
      await mustRun(["ip", "link", "set", va, "netns", nsA]);
      await mustRun(["ip", "link", "set", vb, "netns", nsB]);
      await mustRun(["ip", "-n", nsA, "link", "set", va, "up"]);
      await mustRun(["ip", "-n", nsB, "addr", "add", "10.81.0.2/24", "dev", vb]);
      await mustRun(["ip", "-n", nsB, "link", "set", vb, "up"]);
      await cmd(["ip", "netns", "exec", nsA, "ethtool", "-K", va, "tx", "off"]);
      await cmd(["ip", "netns", "exec", nsB, "ethtool", "-K", vb, "tx", "off"]);
      const mac = (await mustRun(["ip", "-n", nsB, "-br", "link", "show", vb])).split(/\s+/)[2];
      const server = new Watched(new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          nsB,
          "python3",
          "-u",
          "-c",
          `import socket\nl = socket.socket()\nl.bind(("10.81.0.2", ${PORT}))\nl.listen(1)\nprint("listening", flush=True)\nc, _ = l.accept()\nwhile c.recv(100): pass\n`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn());
      try {
        await server.waitFor("listening");
        const out = await mustRun([
          "ip",
          "netns",
          "exec",
          nsA,
          "python3",
          "-c",
          PEER_PY,
          va,
          mac,
          "10.81.0.2",
          "10.81.0.9",
          String(PORT),
        ]);
        linux = JSON.parse(out);
      } finally {
        await server.kill();
      }
    } finally {
      await cmd(["ip", "netns", "del", nsA]);
      await cmd(["ip", "netns", "del", nsB]);
    }
    assert.deepEqual(linux, EXPECTED, "Linux, the oracle");
    // Serin: the same peer on the TAP's Linux side, Serin's discard service as the target.
    await using lab = await TapLab.create();
    await using serin = await bootOnTap(lab);
    const pid = await serin.sys.start("discard", ["-p", String(PORT)], {
      host: SERIN_HOST,
      caps: ["net_bind_service"],
    });
    await serin.waitFor(pid, "listening");
    const fake = lab.linuxAddr.replace(/\.1$/, ".9");
    const out = await lab.python(PEER_PY, [
      lab.tap,
      lab.serinMac,
      lab.serinAddr,
      fake,
      String(PORT),
    ]);
    assert.deepEqual(JSON.parse(out), EXPECTED, "Serin, as Linux");
  },
);
