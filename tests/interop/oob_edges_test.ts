/**
 * Linux as the oracle for received urgent data from a peer that bends the rules (RFC 9293
 * §3.8.5, RFC 6093; Linux's tcp_check_urg, tcp_urg, tcp_recvmsg and tcp_recv_urg): a raw peer
 * (_raw_peer.ts) sends hand-made segments with URG, and an application, Linux's python3 or
 * Serin's oob_probe, reports what recv(MSG_OOB) and plain reads return. Cases: pointer 0, a
 * pointer beyond the data (and far beyond, 0xffff), several URG segments each moving the mark,
 * the urgent byte's segment arriving before the one carrying the pointer, URG on a
 * retransmission of data already read.
 */
import assert from "node:assert/strict";
import { cmd, interopTest, mustRun, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { RAW_PEER_PY } from "./_raw_peer.ts";
import { bootOnTap } from "./_serin.ts";

const PORT = 7878;
const PROGRAMS = "tests/interop/programs";

/** Each case: segments as [offset from the first data byte, text, urgent pointer or -1]. */
const CASES: Array<Array<[number, string, number]>> = [
  [[0, "abcdefghij", 0]],
  [[0, "abcde", 10]],
  [[0, "abcde", 0xffff]],
  [[0, "0123456789", 10], [10, "abcdefghij", 10], [20, "ABCDEFGHIJ", 10]],
  [[5, "fghij", 5], [0, "abcde", -1]],
  [[0, "abcdef", 3], [0, "abcdefgh", 3]],
  [[0, "abcdef", 3], [6, "ghij", 2], [3, "def", 1]],
];

const PEER_PY = RAW_PEER_PY + `
PORT, CASES = int(sys.argv[5]), json.loads(sys.argv[6])
print("ready", flush=True)
for n, case in enumerate(CASES):
    me, iss = 41000 + n, 1000 * (n + 1)
    collect(0.1, me)
    send(frame(me, PORT, iss, 0, 2, b"\\2\\4\\5\\xb4"))
    sa = next(x for x in collect(2, me) if x["flags"] & 0x12 == 0x12)
    ack = sa["seq"] + 1
    send(frame(me, PORT, iss + 1, ack, 0x10))
    time.sleep(0.05)
    for off, text, urg in case:
        f = frame(me, PORT, iss + 1 + off, ack, 0x18 | (0x20 if urg >= 0 else 0), b"", text.encode())
        if urg >= 0:  # the urgent pointer field, then the checksum again
            f = f[:52] + struct.pack("!H", urg) + f[54:]
            seg = f[34:]
            ph = socket.inet_aton(SRC) + socket.inet_aton(DST) + struct.pack("!BBH", 0, 6, len(seg))
            seg = seg[:16] + b"\\0\\0" + seg[18:]
            f = f[:34] + seg[:16] + struct.pack("!H", csum(ph + seg)) + seg[18:]
        send(f)
        collect(0.05, me)
    collect(1.5, me)
    send(frame(me, PORT, iss + 1 + 1000, ack, 0x04))
print("done", flush=True)
`;

/** Linux's twin of oob_probe.ts. */
const PROBE_PY = `
import json, socket, sys, time
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(8)
print("listening", flush=True)
def attempt(c, flags, tag):
    try:
        return tag + ":" + c.recv(100, flags | socket.MSG_DONTWAIT).decode()
    except OSError as e:
        import errno
        return errno.errorcode[e.errno]
for i in range(int(sys.argv[3])):
    c, _ = l.accept()
    time.sleep(1)
    out = [attempt(c, socket.MSG_OOB, "oob")]
    for j in range(8):
        r = attempt(c, 0, "data")
        out.append(r)
        if not r.startswith("data:") or r == "data:":
            break
    out.append(attempt(c, socket.MSG_OOB, "oob"))
    print(json.dumps(out), flush=True)
    c.close()
`;

function transcripts(text: string): unknown[] {
  return text.split("\n").filter((l) => l.startsWith("[")).map((l) => JSON.parse(l));
}

interopTest(
  "oracle: urgent data from a peer that bends the rules reads the same on Linux and Serin",
  [
    "python3",
  ],
  async () => {
    const cases = JSON.stringify(CASES);
    const suffix = crypto.randomUUID().slice(0, 8);
    const [nsA, nsB, va, vb] = [`uoa-${suffix}`, `uob-${suffix}`, `ua${suffix}`, `ub${suffix}`];
    let linux: unknown[] = [];
    try {
      for (const ns of [nsA, nsB]) await mustRun(["ip", "netns", "add", ns]);
      await mustRun(["ip", "link", "add", va, "type", "veth", "peer", "name", vb]);
      await mustRun(["ip", "link", "set", va, "netns", nsA]);
      await mustRun(["ip", "link", "set", vb, "netns", nsB]);
      await mustRun(["ip", "-n", nsA, "link", "set", va, "up"]);
      await mustRun(["ip", "-n", nsB, "addr", "add", "10.83.0.2/24", "dev", vb]);
      await mustRun(["ip", "-n", nsB, "link", "set", vb, "up"]);
      await cmd(["ip", "netns", "exec", nsA, "ethtool", "-K", va, "tx", "off"]);
      await cmd(["ip", "netns", "exec", nsB, "ethtool", "-K", vb, "tx", "off"]);
      const mac = (await mustRun(["ip", "-n", nsB, "-br", "link", "show", vb])).split(/\s+/)[2];
      const probe = new Watched(
        new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            nsB,
            "python3",
            "-u",
            "-c",
            PROBE_PY,
            "10.83.0.2",
            String(PORT),
            String(CASES.length),
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
      );
      try {
        await probe.waitFor("listening");
        await mustRun([
          "ip",
          "netns",
          "exec",
          nsA,
          "python3",
          "-c",
          PEER_PY,
          va,
          mac,
          "10.83.0.2",
          "10.83.0.9",
          String(PORT),
          cases,
        ]);
        assert.equal(await probe.finished(), 0, probe.stderr);
        linux = transcripts(probe.text);
      } finally {
        await probe.kill();
      }
    } finally {
      for (const ns of [nsA, nsB]) await cmd(["ip", "netns", "del", ns]);
    }
    assert.equal(linux.length, CASES.length, "Linux answered every case");

    await using lab = await TapLab.create();
    await using serin = await bootOnTap(lab);
    const pid = await serin.sys.start(`${PROGRAMS}/oob_probe.ts`, [
      String(PORT),
      String(CASES.length),
    ], {
      host: SERIN_HOST,
    });
    await serin.waitFor(pid, "listening");
    const fake = lab.linuxAddr.replace(/\.1$/, ".9");
    await lab.python(
      PEER_PY,
      [lab.tap, lab.serinMac, lab.serinAddr, fake, String(PORT), cases],
      120_000,
    );
    assert.equal(await serin.wait(pid), 0, serin.output(pid));
    const got = transcripts(serin.output(pid));
    for (let i = 0; i < CASES.length; i++) {
      assert.deepEqual(got[i], linux[i], `case ${i} ${JSON.stringify(CASES[i])}: Serin, as Linux`);
    }
  },
);
