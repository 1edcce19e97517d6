/**
 * Linux as the oracle for a segment without the timestamp option once timestamps were
 * negotiated (RFC 7323 §3.2 says SHOULD drop; Linux 6.x processes it, only without PAWS and
 * TS.Recent). One python3 peer script (_raw_peer.ts: AF_PACKET, it answers ARP for its own
 * address and builds every frame itself) plays the same trace against Linux, in a namespace behind a veth,
 * and against Serin, on a TAP: SYN with TSopt, data with TSopt, data without TSopt. Both must
 * acknowledge the bare data, keep echoing the last TSval they took, and keep sending TSopt.
 */
import assert from "node:assert/strict";
import { cmd, interopTest, mustRun, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { RAW_PEER_PY } from "./_raw_peer.ts";
import { bootOnTap } from "./_serin.ts";

const PORT = 9;

/** The trace (after {@link RAW_PEER_PY}; argv[5]: the target's port). */
const PEER_PY = RAW_PEER_PY + `
PORT, ME = int(sys.argv[5]), 40001
collect(0.2, ME)
ISS = 1000
send(frame(ME, PORT, ISS, 0, 2, b"\\2\\4\\5\\xb4\\1\\1" + ts(100, 0)))
synack = [x for x in collect(1.5, ME) if x["flags"] & 0x12 == 0x12][0]
theirs = synack["ts"][0]
ack0 = synack["seq"] + 1
send(frame(ME, PORT, ISS + 1, ack0, 0x10, ts(101, theirs)))
send(frame(ME, PORT, ISS + 1, ack0, 0x18, ts(102, theirs), b"aaaa"))
a1 = collect(0.5, ME)
send(frame(ME, PORT, ISS + 5, ack0, 0x18, b"", b"bbbb"))
a2 = collect(0.5, ME)
send(frame(ME, PORT, ISS + 9, ack0, 0x14))
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
