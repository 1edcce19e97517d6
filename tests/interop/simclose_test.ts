/**
 * Linux as the oracle for close() in SYN-RECEIVED after a simultaneous open (RFC 9293 §3.5
 * figure 8, §3.10.4): a raw peer (_raw_peer.ts) answers the target's SYN with a SYN of its own
 * and never acknowledges anything; the target's application closes 300 ms later. Linux sends
 * SYN-ACK, then FIN at once (tcp_close_state: SYN_RECV → FIN_WAIT1), then resends SYN-ACK on
 * each timeout; Serin must send the same segments.
 */
import assert from "node:assert/strict";
import { cmd, interopTest, mustRun, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { RAW_PEER_PY } from "./_raw_peer.ts";
import { bootOnTap } from "./_serin.ts";

const PORT = 7777;
const PROGRAMS = "tests/interop/programs";

/** The trace (after {@link RAW_PEER_PY}; argv[5]: the port the target connects to). */
const PEER_PY = RAW_PEER_PY + `
PORT, P = int(sys.argv[5]), 7000
print("ready", flush=True)
start, syn = time.time(), None
while time.time() - start < 15 and syn is None:
    syn = next((x for x in collect(0.2, PORT) if x["flags"] & 0x12 == 0x02), None)
tport, tiss = syn["sport"], syn["seq"]
send(frame(PORT, tport, P, 0, 0x02, b"\\2\\4\\5\\xb4"))
segs = collect(4.5, PORT)
rel = lambda v, base: (v - base) & 0xffffffff
print(json.dumps([{"flags": x["flags"], "seq": rel(x["seq"], tiss), "ack": rel(x["ack"], P) if x["flags"] & 0x10 else 0, "len": x["len"]} for x in segs]))
`;

/** SYN-ACK, FIN at once, then SYN-ACK at 1 s and 3 s (RTO 1 s, doubled). */
const EXPECTED = [
  { flags: 0x12, seq: 0, ack: 1, len: 0 },
  { flags: 0x11, seq: 1, ack: 1, len: 0 },
  { flags: 0x12, seq: 0, ack: 1, len: 0 },
  { flags: 0x12, seq: 0, ack: 1, len: 0 },
];

function trace(text: string): unknown {
  return JSON.parse(text.split("\n").find((l) => l.startsWith("["))!);
}

interopTest(
  "oracle: close() in SYN-RECEIVED after a simultaneous open sends FIN, then SYN-ACKs, on Linux and Serin alike",
  [
    "python3",
  ],
  async () => {
    const suffix = crypto.randomUUID().slice(0, 8);
    const [nsA, nsB, va, vb] = [`soa-${suffix}`, `sob-${suffix}`, `sa${suffix}`, `sb${suffix}`];
    let linux: unknown;
    try {
      await mustRun(["ip", "netns", "add", nsA]);
      await mustRun(["ip", "netns", "add", nsB]);
      await mustRun(["ip", "link", "add", va, "type", "veth", "peer", "name", vb]);
      await mustRun(["ip", "link", "set", va, "netns", nsA]);
      await mustRun(["ip", "link", "set", vb, "netns", nsB]);
      await mustRun(["ip", "-n", nsA, "link", "set", va, "up"]);
      await mustRun(["ip", "-n", nsB, "addr", "add", "10.82.0.2/24", "dev", vb]);
      await mustRun(["ip", "-n", nsB, "link", "set", vb, "up"]);
      await cmd(["ip", "netns", "exec", nsA, "ethtool", "-K", va, "tx", "off"]);
      await cmd(["ip", "netns", "exec", nsB, "ethtool", "-K", vb, "tx", "off"]);
      const mac = (await mustRun(["ip", "-n", nsB, "-br", "link", "show", vb])).split(/\s+/)[2];
      const peer = new Watched(
        new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            nsA,
            "python3",
            "-u",
            "-c",
            PEER_PY,
            va,
            mac,
            "10.82.0.2",
            "10.82.0.9",
            String(PORT),
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
      );
      try {
        await peer.waitFor("ready");
        await mustRun([
          "ip",
          "netns",
          "exec",
          nsB,
          "python3",
          "-c",
          `import socket, time\ns = socket.socket()\ns.setblocking(False)\ns.connect_ex(("10.82.0.9", ${PORT}))\ntime.sleep(0.3)\ns.close()\n`,
        ]);
        assert.equal(await peer.finished(), 0, peer.stderr);
        linux = trace(peer.text);
      } finally {
        await peer.kill();
      }
    } finally {
      await cmd(["ip", "netns", "del", nsA]);
      await cmd(["ip", "netns", "del", nsB]);
    }
    assert.deepEqual(linux, EXPECTED, "Linux, the oracle");

    await using lab = await TapLab.create();
    await using serin = await bootOnTap(lab);
    const fake = lab.linuxAddr.replace(/\.1$/, ".9");
    const peer = new Watched(
      lab.spawn([
        "python3",
        "-u",
        "-c",
        PEER_PY,
        lab.tap,
        lab.serinMac,
        lab.serinAddr,
        fake,
        String(PORT),
      ]),
    );
    try {
      await peer.waitFor("ready");
      const r = await serin.run(`${PROGRAMS}/connect_close.ts`, [fake, String(PORT), "300"], {
        host: SERIN_HOST,
      });
      assert.equal(r.status, 0, `connect_close: ${r.stdout}${r.stderr}`);
      assert.equal(await peer.finished(), 0, peer.stderr);
      assert.deepEqual(trace(peer.text), EXPECTED, "Serin, as Linux");
    } finally {
      await peer.kill();
    }
  },
);
