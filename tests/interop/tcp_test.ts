/**
 * TCP between Linux and Serin over a TAP, both directions: N random bytes one way, their
 * SHA-256 back. A tcpdump capture inside the namespace is then checked with tshark: both SYNs
 * offer MSS, window scaling, SACK-permitted and timestamps, no packet is malformed, no checksum
 * is bad. N is 10 MB, or 100 MB with SERIN_INTEROP_BIG=1.
 */
import assert from "node:assert/strict";
import { Capture, interopTest, SERIN_HOST, TapLab, Watched } from "./_lab.ts";
import { SHA_CLIENT_PY, SHA_SERVER_PY } from "./_python.ts";
import { bootOnTap } from "./_serin.ts";
import { captureProblems, handshake, serinChecksums, type SynOptions } from "./_tcp_capture.ts";

const BIG = Deno.env.get("SERIN_INTEROP_BIG") === "1";
const BYTES = BIG ? 100_000_000 : 10_000_000;
/** Packets captured: the handshake and a good stretch of the transfer, cheap for tshark. */
const CAPTURE_PACKETS = 3000;
/**
 * Port 7 (echo), because tshark dissects its payload as opaque echo data: on other ports its
 * heuristic dissectors (e.g. Thrift) sometimes take random payload for a protocol and report
 * warnings about it that have nothing to do with Serin.
 */
const PORT = 7;
const PROGRAMS = "tests/interop/programs";

function assertFullOptions(o: SynOptions | undefined, what: string): void {
  assert.ok(o, `no ${what} in the capture`);
  const { from: _, ...rest } = o;
  assert.ok(o.mss !== undefined && o.mss > 0 && o.mss <= 1460, `${what}: ${JSON.stringify(rest)}`);
  assert.ok(o.wscale !== undefined, `${what} has no window scale: ${JSON.stringify(rest)}`);
  assert.ok(o.sackPermitted, `${what} has no SACK-permitted: ${JSON.stringify(rest)}`);
  assert.ok(o.timestamps, `${what} has no timestamps: ${JSON.stringify(rest)}`);
}

async function checkCapture(pcap: string, lab: TapLab, client: string, server: string) {
  const { syn, synAck } = await handshake(pcap);
  assert.equal(syn?.from, client);
  assert.equal(synAck?.from, server);
  assertFullOptions(syn, "SYN");
  assertFullOptions(synAck, "SYN-ACK");
  assert.deepEqual(await captureProblems(pcap, lab), []);
  const sums = await serinChecksums(pcap, lab);
  const notGood = Object.keys(sums).filter((k) => !k.endsWith("=1"));
  assert.deepEqual(notGood, [], JSON.stringify(sums));
}

interopTest("interop: Linux connects to Serin over TCP, SHA-256 matches", [
  "python3",
  "tcpdump",
  "tshark",
], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab);
  const pcap = await Deno.makeTempFile({ prefix: "serin-interop-", suffix: ".pcap" });
  try {
    const pid = await serin.sys.start(`${PROGRAMS}/sha_server.ts`, [String(PORT)], {
      host: SERIN_HOST,
      caps: ["net_bind_service"],
    });
    await serin.waitFor(pid, "listening");
    {
      await using _cap = await Capture.start(lab, pcap, CAPTURE_PACKETS);
      const out = await lab.python(
        SHA_CLIENT_PY,
        [lab.serinAddr, String(PORT), String(BYTES)],
        60_000,
      );
      const { mine, peer } = JSON.parse(out);
      assert.equal(peer, mine);
      assert.equal(await serin.wait(pid), 0, serin.output(pid));
    }
    await checkCapture(pcap, lab, lab.linuxAddr, lab.serinAddr);
  } finally {
    await Deno.remove(pcap);
  }
});

interopTest("interop: Serin connects to Linux over TCP, SHA-256 matches", [
  "python3",
  "tcpdump",
  "tshark",
], async () => {
  await using lab = await TapLab.create();
  await using serin = await bootOnTap(lab);
  const pcap = await Deno.makeTempFile({ prefix: "serin-interop-", suffix: ".pcap" });
  const server = new Watched(
    lab.spawn(["python3", "-u", "-c", SHA_SERVER_PY, lab.linuxAddr, String(PORT)]),
  );
  try {
    await server.waitFor("listening");
    {
      await using _cap = await Capture.start(lab, pcap, CAPTURE_PACKETS);
      const r = await serin.run(`${PROGRAMS}/sha_client.ts`, [
        lab.linuxAddr,
        String(PORT),
        String(BYTES),
      ], { host: SERIN_HOST });
      assert.equal(r.status, 0, `sha_client: ${r.stdout}${r.stderr}`);
      assert.equal(await server.finished(), 0, server.stderr);
      const got = JSON.parse(server.text.split("\n")[1]);
      assert.equal(got.peer, lab.serinAddr);
      assert.equal(`sent: ${got.got}`, r.stdout.split("\n")[0]);
    }
    await checkCapture(pcap, lab, lab.serinAddr, lab.linuxAddr);
  } finally {
    await server.kill();
    await Deno.remove(pcap);
  }
});
